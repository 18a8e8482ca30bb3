import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { LocalLambda } from './functions';

interface Subscription {
  filterName: string;
  pattern: string;
  destinationArn: string;
}
interface LogEvent {
  id: string;
  timestamp: number;
  message: string;
}
interface Group {
  file: string;
  subscriptions: Subscription[];
  queue: LogEvent[];
}

/** How long lines gather before a delivery, as CloudWatch Logs batches them. */
const BATCH_MS = 200;

/**
 * The CloudWatch Logs payload a subscription's Lambda destination receives: the batch as JSON, gzipped,
 * base64 in `awslogs.data`.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#LambdaFunctionExample
 */
export function subscriptionEvent(data: { owner: string; logGroup: string; logStream: string; filters: string[]; events: LogEvent[] }): { awslogs: { data: string } } {
  const message = {
    messageType: 'DATA_MESSAGE',
    owner: data.owner,
    logGroup: data.logGroup,
    logStream: data.logStream,
    subscriptionFilters: data.filters,
    logEvents: data.events,
  };
  return { awslogs: { data: gzipSync(JSON.stringify(message)).toString('base64') } };
}

/** Whether a line passes a filter pattern: empty matches all; plain terms must all appear (quoted terms exactly). */
export function matchesPattern(pattern: string, message: string): boolean | 'unsupported' {
  const p = pattern.trim();
  if (p === '') return true;
  if (/^[[{]/.test(p) || /(^|\s)[-?]/.test(p)) return 'unsupported';
  const terms = [...p.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
  return terms.every((t) => message.includes(t));
}

/**
 * Local CloudWatch Logs for the groups the template declares: lines are appended to a file per group in
 * the state folder, and each subscription filter delivers them to its destination function.
 */
export class LocalLogs {
  private readonly groups = new Map<string, Group>();
  private timer?: NodeJS.Timeout;
  private warned = new Set<string>();
  private deliveries: Promise<unknown>[] = [];

  constructor(
    private readonly dir: string,
    private readonly lambda: LocalLambda,
    private readonly owner: string,
    private readonly print: (line: string) => void,
  ) {}

  /** Declares a log group; returns the file its lines go to. */
  group(name: string): string {
    let g = this.groups.get(name);
    if (!g) {
      g = { file: path.join(this.dir, `${name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+/, '')}.log`), subscriptions: [], queue: [] };
      this.groups.set(name, g);
    }
    return g.file;
  }

  subscribe(groupName: string, subscription: Subscription): void {
    this.group(groupName);
    this.groups.get(groupName)!.subscriptions.push(subscription);
  }

  subscriptionsOf(groupName: string): Subscription[] {
    return this.groups.get(groupName)?.subscriptions ?? [];
  }

  put(groupName: string, message: string, timestamp = Date.now()): void {
    this.group(groupName);
    const g = this.groups.get(groupName)!;
    appendFileSync(g.file, `${message}\n`, { mode: 0o600 });
    if (g.subscriptions.length === 0) return;
    // CloudWatch event ids are 56-digit strings.
    const id = BigInt(`0x${randomBytes(23).toString('hex')}`).toString().padStart(56, '0').slice(0, 56);
    g.queue.push({ id, timestamp, message });
    this.timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  /** Delivers what is queued now; resolves when the destinations have answered. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [name, g] of this.groups) {
      const events = g.queue.splice(0);
      if (events.length === 0) continue;
      for (const s of g.subscriptions) {
        const matching = events.filter((e) => {
          const m = matchesPattern(s.pattern, e.message);
          if (m === 'unsupported' && !this.warned.has(s.pattern)) {
            this.warned.add(s.pattern);
            this.print(`logs: filter pattern ${JSON.stringify(s.pattern)} is not emulated; every line is delivered`);
          }
          return m !== false;
        });
        if (matching.length === 0) continue;
        const event = subscriptionEvent({ owner: this.owner, logGroup: name, logStream: 'local', filters: [s.filterName], events: matching });
        // An asynchronous (Event) invocation: the caller does not wait, failures are reported, not retried.
        this.deliveries.push(
          this.lambda.invoke(s.destinationArn, event).then((r) => {
            if (!r.ok) this.print(`logs: ${s.filterName} → ${s.destinationArn.split(':').pop()} failed (${r.error.errorType}: ${r.error.errorMessage}); retries and the on-failure destination are not emulated`);
          }),
        );
      }
    }
    const pending = this.deliveries.splice(0);
    await Promise.all(pending);
  }

  async stop(): Promise<void> {
    await this.flush();
  }
}
