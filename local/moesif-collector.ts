import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The Application Id the local Moesif secret gets when it holds a placeholder. */
export const LOCAL_MOESIF_APPLICATION_ID = 'local-moesif-application-id';

/**
 * A Moesif collector on 127.0.0.1: every event the forwarder POSTs is written as one JSON line (nothing
 * else on the line), and the governance documents (`/v1/config`, `/v1/rules`) are served empty, so
 * Moesif features run locally without sending anything anywhere.
 */
export class LocalMoesifCollector {
  private server?: Server;
  /** Events received, in order. */
  public readonly events: unknown[] = [];

  constructor(private readonly write: (line: string) => void) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = (req.url ?? '/').split('?')[0];
        const reply = (status: number, body?: string, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(body);
        };
        if (req.method === 'POST' && (path === '/v1/events/batch' || path === '/v1/events')) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return reply(400, JSON.stringify({ message: 'Body is not JSON' }));
          }
          for (const event of [parsed].flat()) {
            this.events.push(event);
            this.write(JSON.stringify(event));
          }
          return reply(201);
        }
        if (req.method === 'GET' && (path === '/v1/config' || path === '/v1/rules')) {
          const body = path === '/v1/config' ? '{}' : '[]';
          const tag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
          if (req.headers['if-none-match'] === tag) return reply(304, undefined, { ETag: tag });
          return reply(200, body, { ETag: tag, [path === '/v1/config' ? 'X-Moesif-Config-ETag' : 'X-Moesif-Rules-Tag']: tag });
        }
        return reply(404, JSON.stringify({ message: 'Not Found' }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
