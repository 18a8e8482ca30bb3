import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the server saw it. */
export interface MoesifRequestRecord {
  path: string;
  applicationId?: string;
  ifNoneMatch?: string;
  status: number;
}

interface Document {
  body: string;
  tag: string;
}

const TAG_HEADERS: Record<string, string> = { '/v1/config': 'X-Moesif-Config-ETag', '/v1/rules': 'X-Moesif-Rules-Tag' };

/**
 * Moesif's `GET /v1/config` and `GET /v1/rules` as the agents read them: the application id in
 * `X-Moesif-Application-Id` (anything else gets 401), a version tag in Moesif's header and in `ETag`, and 304 when
 * `If-None-Match` carries the current tag. It can answer an error status or stall. `LocalMoesif` serves it on its
 * own port; `MoesifCollector` serves it beside the batch endpoint, as api.moesif.net does.
 */
export class MoesifDocuments {
  private readonly docs = new Map<string, Document>();
  /** Every document request received, in order. */
  public readonly requests: MoesifRequestRecord[] = [];
  /** When set, every request gets this status. */
  public failWith?: number;
  /** When set, responses wait this long (to exercise the client's timeout). */
  public delayMs?: number;

  constructor(public readonly applicationId = 'test-moesif-app-id') {
    this.reset();
  }

  /** Empty documents, no failure, no delay, no recorded requests. */
  reset(): void {
    this.failWith = undefined;
    this.delayMs = undefined;
    this.requests.length = 0;
    this.setConfig({});
    this.setRules([]);
  }

  /** Replaces /v1/config; the tag changes with the content. */
  setConfig(json: unknown): void {
    this.put('/v1/config', JSON.stringify(json));
  }

  /** Replaces /v1/rules; the tag changes with the content. */
  setRules(json: unknown): void {
    this.put('/v1/rules', JSON.stringify(json));
  }

  /** Serves this exact text (e.g. broken JSON) as the document. */
  setRaw(path: '/v1/config' | '/v1/rules', body: string): void {
    this.put(path, body);
  }

  tagOf(path: '/v1/config' | '/v1/rules'): string {
    return this.docs.get(path)!.tag;
  }

  /** Requests received for one path. */
  requestsFor(path: '/v1/config' | '/v1/rules'): MoesifRequestRecord[] {
    return this.requests.filter((r) => r.path === path);
  }

  private put(path: string, body: string): void {
    const tag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
    this.docs.set(path, { body, tag });
  }

  /** Answers one request for a document. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const applicationId = header(req, 'x-moesif-application-id');
    const ifNoneMatch = header(req, 'if-none-match');
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      this.requests.push({ path, applicationId, ifNoneMatch, status });
      res.writeHead(status, body === undefined ? headers : { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
    };
    // unref: a stalled answer must not keep jest alive after the test that asked for it.
    if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs).unref());
    if (res.destroyed) return;
    if (this.failWith) return send(this.failWith, { message: 'injected failure' });
    const doc = req.method === 'GET' ? this.docs.get(path) : undefined;
    if (!doc) return send(404, { message: 'not found' });
    if (applicationId !== this.applicationId) return send(401, { message: 'Unauthorized. Missing or invalid Application Id' });
    const tags = { ETag: doc.tag, [TAG_HEADERS[path]]: doc.tag };
    if (ifNoneMatch === doc.tag) return send(304, undefined, tags);
    return send(200, doc.body, tags);
  }
}

/** `MoesifDocuments` on its own port on 127.0.0.1, which can be taken down (connections refused) and brought back. */
export class LocalMoesif extends MoesifDocuments {
  private server?: Server;
  private port = 0;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Closes the listener and every open connection: later requests are refused. `start()` brings it back on the same port. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
