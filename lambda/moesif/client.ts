import { log as defaultLog } from '../shared/log';

/**
 * Batch limits. Moesif documents a maximum of 50 MB per POST /v1/events/batch ("Break up larger
 * batches into smaller batches", https://www.moesif.com/docs/api#log-api-calls-in-batch) and a hard
 * limit of 1 MB per event (https://www.moesif.com/docs/ingest-action-events/). We stay far below:
 * 500 events and 1 MiB per request. An access-log event is ~0.5–1 KB (it holds only fields of one
 * CloudWatch Logs line), so a full delivery becomes a handful of requests, each small enough to
 * retry cheaply. Moesif's own agents send batches of 25–200 events.
 */
export const DEFAULT_MAX_EVENTS = 500;
export const DEFAULT_MAX_BYTES = 1024 * 1024;

export interface DeliveryDetails {
  /** HTTP status of the last answer; undefined after a network error or timeout. */
  status?: number;
  attempts: number;
  /** 1-based index of the batch that failed. */
  batch: number;
  /** Events Moesif accepted (earlier batches) before this one failed. */
  sent: number;
}

/** A batch was not accepted. The invocation must fail so Lambda's async retry and DLQ keep the logs. */
export class MoesifDeliveryError extends Error {
  public readonly status?: number;
  public readonly attempts: number;
  public readonly batch: number;
  public readonly sent: number;

  constructor(message: string, details: DeliveryDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MoesifDeliveryError';
    this.status = details.status;
    this.attempts = details.attempts;
    this.batch = details.batch;
    this.sent = details.sent;
  }
}

/** Moesif answered a 4xx that retrying cannot fix: a configuration problem (Application Id, URL) or a bad body. */
export class MoesifRejectedError extends MoesifDeliveryError {
  constructor(message: string, details: DeliveryDetails) {
    super(message, details);
    this.name = 'MoesifRejectedError';
  }
}

/** The Application Id secret cannot be used as it is. */
export class MoesifConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MoesifConfigError';
  }
}

// Values a freshly created secret or a template tends to hold until someone fills it in.
const PLACEHOLDER = /^(<.*>|\$\{.*\}|x+|-+|none|null|undefined|todo|tbd)$|placeholder|change[-_ ]?me|replace|fill[-_ ]?(me|in)|your[-_ ]?(moesif|collector|application)/i;

/**
 * Reads the Collector Application Id from the secret's SecretString: either the raw id or JSON
 * `{"applicationId": "..."}`. An empty or placeholder value throws with what to do about it.
 */
export function parseApplicationIdSecret(secretString: string | undefined): string {
  let value = (secretString ?? '').trim();
  if (value.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new MoesifConfigError('The Moesif Application Id secret looks like JSON but does not parse. Store the raw id, or {"applicationId":"<your Collector Application Id>"}.');
    }
    const id = (parsed as { applicationId?: unknown }).applicationId;
    value = typeof id === 'string' ? id.trim() : '';
  }
  if (value === '' || PLACEHOLDER.test(value) || /\s/.test(value)) {
    throw new MoesifConfigError(
      'The Moesif Application Id secret is empty or still a placeholder: fill it in with your Collector Application Id ' +
        '(Moesif portal > API Keys), as the raw id or {"applicationId":"..."}. Failed deliveries wait in the DLQ; redrive them afterwards.',
    );
  }
  return value;
}

export interface PostBatchesOptions {
  /** e.g. https://api.moesif.net (no trailing /v1). */
  baseUrl: string;
  applicationId: string;
  fetch?: typeof globalThis.fetch;
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter source. */
  random?: () => number;
  now?: () => number;
  /** Tries per batch, the first included. @default 4 */
  maxAttempts?: number;
  /** First backoff ceiling; doubles per retry. @default 200 */
  baseDelayMs?: number;
  /** @default 5000 */
  maxDelayMs?: number;
  /** Longest wait a Retry-After header can ask for. @default 10000 */
  maxRetryAfterMs?: number;
  /** Per-request timeout. @default 10000 */
  timeoutMs?: number;
  /** Epoch ms after which no retry is started (the Lambda deadline less a margin). */
  deadline?: number;
  maxEvents?: number;
  maxBytes?: number;
  log?: typeof defaultLog;
}

export interface PostBatchesResult {
  batches: number;
  sent: number;
  /** HTTP requests made, retries included. */
  requests: number;
}

export interface Batch {
  body: string;
  count: number;
}

/**
 * Splits events into JSON array bodies of at most `maxEvents` events and `maxBytes` UTF-8 bytes.
 * Each event is serialized once. An event larger than `maxBytes` on its own travels alone.
 */
export function splitBatches(events: readonly unknown[], maxEvents = DEFAULT_MAX_EVENTS, maxBytes = DEFAULT_MAX_BYTES): Batch[] {
  const batches: Batch[] = [];
  let parts: string[] = [];
  let bytes = 2; // the brackets
  for (const event of events) {
    const part = JSON.stringify(event);
    const size = Buffer.byteLength(part, 'utf8');
    const added = parts.length === 0 ? size : size + 1; // the comma
    if (parts.length > 0 && (parts.length >= maxEvents || bytes + added > maxBytes)) {
      batches.push({ body: `[${parts.join(',')}]`, count: parts.length });
      parts = [];
      bytes = 2;
    }
    bytes += parts.length === 0 ? size : size + 1;
    parts.push(part);
  }
  if (parts.length > 0) batches.push({ body: `[${parts.join(',')}]`, count: parts.length });
  return batches;
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function isRetryableStatus(status: number): boolean {
  // 408 and 429 are the two 4xx that say "later", not "wrong".
  return status === 408 || status === 429 || status >= 500;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * POSTs events to Moesif's batch endpoint, batch after batch. Each batch is retried on 429, 5xx and
 * network errors with exponential backoff and full jitter (a Retry-After answer is honoured, within
 * `maxRetryAfterMs`). Any other 4xx is not retried. The first batch that still fails throws: the
 * whole delivery is then retried by Lambda, and batches already accepted are de-duplicated by
 * Moesif on their transaction_id.
 */
export async function postBatches(events: readonly unknown[], options: PostBatchesOptions): Promise<PostBatchesResult> {
  const {
    baseUrl,
    applicationId,
    fetch = globalThis.fetch,
    sleep = defaultSleep,
    random = Math.random,
    now = Date.now,
    maxAttempts = 4,
    baseDelayMs = 200,
    maxDelayMs = 5000,
    maxRetryAfterMs = 10_000,
    timeoutMs = 10_000,
    deadline = Infinity,
    maxEvents = DEFAULT_MAX_EVENTS,
    maxBytes = DEFAULT_MAX_BYTES,
    log = defaultLog,
  } = options;
  const url = `${baseUrl.replace(/\/+$/, '')}/v1/events/batch`;
  const batches = splitBatches(events, maxEvents, maxBytes);
  const result: PostBatchesResult = { batches: batches.length, sent: 0, requests: 0 };

  for (const [index, batch] of batches.entries()) {
    const number = index + 1;
    for (let attempt = 1; ; attempt++) {
      result.requests++;
      let status: number | undefined;
      let retryAfter: number | undefined;
      let failure: unknown;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Moesif-Application-Id': applicationId },
          body: batch.body,
          // Never wait past the deadline for an answer either (but give an attempt at least a second).
          signal: AbortSignal.timeout(Math.min(timeoutMs, Math.max(deadline - now(), 1000))),
        });
        status = response.status;
        // Read the answer either way: it frees the connection for the next request.
        const text = await response.text().catch(() => '');
        if (response.ok) {
          result.sent += batch.count;
          break;
        }
        if (!isRetryableStatus(status)) {
          const hint = status === 401 || status === 403 ? ' Check the Collector Application Id in the secret.' : '';
          throw new MoesifRejectedError(
            `Moesif answered ${status} to batch ${number} of ${batches.length} (${batch.count} events) and it was not retried: a ${status} means the request itself is wrong.${hint} Response: ${text.slice(0, 200)}`,
            { status, attempts: attempt, batch: number, sent: result.sent },
          );
        }
        retryAfter = retryAfterMs(response.headers.get('retry-after'), now());
      } catch (err) {
        if (err instanceof MoesifRejectedError) throw err;
        failure = err;
      }

      const backoff = random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      const delay = retryAfter !== undefined ? Math.min(retryAfter, maxRetryAfterMs) : backoff;
      const reason = status !== undefined ? `HTTP ${status}` : `${(failure as Error)?.name ?? 'Error'}: ${(failure as Error)?.message}`;
      if (attempt >= maxAttempts || now() + delay > deadline) {
        throw new MoesifDeliveryError(
          `Moesif did not accept batch ${number} of ${batches.length} (${batch.count} events) after ${attempt} attempts; last: ${reason}.`,
          { status, attempts: attempt, batch: number, sent: result.sent },
          { cause: failure },
        );
      }
      log('WARN', 'moesif batch retry', { batch: number, attempt, reason, delayMs: Math.round(delay) });
      await sleep(delay);
    }
  }
  return result;
}
