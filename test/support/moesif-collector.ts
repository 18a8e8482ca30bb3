import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpServer } from './local-server';
import { MoesifDocuments } from './moesif-config-server';

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or the raw text when it does not parse. */
  body: unknown;
  /** What the collector answered. */
  status: number;
}

/**
 * A Moesif Collector API stand-in on 127.0.0.1: records every batch POST and answers from a script
 * (`reply(...)`, used up in order), then with `fallback` (201, as Moesif answers a created batch).
 * GET /v1/config and /v1/rules are answered by `documents` (with their own request record), as on api.moesif.net.
 */
export class MoesifCollector extends LocalHttpServer {
  private script: Reply[] = [];
  public fallback: Reply = { status: 201 };
  /** The batch requests, in arrival order (document GETs are in `documents.requests`). */
  public readonly requests: RecordedRequest[] = [];
  public readonly documents: MoesifDocuments;

  constructor(applicationId?: string) {
    super();
    this.documents = new MoesifDocuments(applicationId);
  }

  /** Answers the next requests with these replies, in order; then `fallback` again. */
  reply(...replies: Reply[]): this {
    this.script.push(...replies);
    return this;
  }

  /** Answers every request with this reply from now on. */
  always(reply: Reply): this {
    this.script = [];
    this.fallback = reply;
    return this;
  }

  reset(): void {
    this.script = [];
    this.fallback = { status: 201 };
    this.requests.length = 0;
    this.documents.reset();
  }

  /** The events of every batch the collector accepted (2xx), in arrival order. */
  get accepted(): unknown[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300).flatMap((r) => (Array.isArray(r.body) ? r.body : []));
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET') return this.documents.handle(req, res);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // kept as text
    }
    const reply = this.script.shift() ?? this.fallback;
    this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, status: reply.status });
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(reply.body ?? '');
  }
}
