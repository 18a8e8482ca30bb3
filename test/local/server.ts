import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..');

/** A free port on 127.0.0.1 (asked of the kernel, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `npm start` as a child process, its stdout kept line by line. */
export class StartedServer {
  readonly lines: string[] = [];
  url = '';
  adminToken = '';
  private readonly waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  private readonly exited: Promise<number | null>;

  constructor(private readonly child: ChildProcess) {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        this.lines.push(line);
        for (const w of [...this.waiters]) {
          if (w.test(line)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** The first line (already printed or to come) that passes `test`. */
  waitFor(test: (line: string) => boolean, timeoutMs = 10_000, what = 'a line'): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Timed out waiting for ${what}. Output so far:\n${this.lines.slice(-40).join('\n')}`)), timeoutMs);
      this.waiters.push({ test, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      void this.exited.then((code) => reject(new Error(`npm start exited (${code}) before ${what}:\n${this.lines.slice(-40).join('\n')}`)));
    });
  }

  /** Waits until `count` lines pass `test`; returns them. */
  async waitForCount(test: (line: string) => boolean, count: number, timeoutMs = 5000): Promise<string[]> {
    let seen = 0;
    await this.waitFor((l) => test(l) && ++seen >= count, timeoutMs, `${count} matching lines`).catch(() => undefined);
    return this.lines.filter(test);
  }

  /** Stdout lines that are whole JSON documents (the Moesif events). */
  get jsonLines(): Record<string, unknown>[] {
    return this.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Stops it with Ctrl-C; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Runs `node --import tsx scripts/start.ts <args>` (what `npm start` runs) and waits until it is ready. */
export async function startServer(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<StartedServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, MOESIF_BASE_URL: env.MOESIF_BASE_URL ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = new StartedServer(child);
  try {
    server.url = (await server.waitFor((l) => l.startsWith('API: '), timeoutMs, 'the API URL')).slice('API: '.length);
    server.adminToken = (await server.waitFor((l) => l.startsWith('admin token: '), 5000, 'the admin token')).slice('admin token: '.length);
    await server.waitFor((l) => l.startsWith('Ready in '), 5000, 'Ready');
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

export async function call(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  return { status: res.status, headers: res.headers, body };
}
