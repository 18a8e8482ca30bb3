import { gunzipSync } from 'node:zlib';
import type { CloudWatchLogsDecodedData, CloudWatchLogsLogEvent } from 'aws-lambda';
import { uuidV5 } from './uuid';

/**
 * One API call in Moesif's event model (the body item of POST /v1/events/batch), field by field as the API
 * reference lists them: https://www.moesif.com/docs/api#log-an-api-call
 */
export interface MoesifEvent {
  request: {
    /** ISO 8601. */
    time: string;
    /**
     * Full URL. Moesif asks for the query string too, but an HTTP API access log has no `$context` variable
     * for it, so the URI never carries one.
     */
    uri: string;
    verb: string;
    ip_address?: string;
    /** Map<string, string>; only what the access log has (Host, User-Agent). */
    headers: Record<string, string>;
  };
  /** Absent when the line has no usable status: Moesif accepts an event without a response. */
  response?: {
    time: string;
    status: number;
    headers: Record<string, string>;
  };
  user_id?: string;
  company_id?: string;
  /** The API key id (the token's `jti`), never the token: Moesif groups calls per session token. */
  session_token?: string;
  /** A 36-character UUID Moesif de-duplicates on; see `transactionId`. */
  transaction_id: string;
  direction: 'Incoming';
  /** 100 / sample rate (an integer, as Moesif's agents send it), set by the forwarder on sampled events. */
  weight?: number;
  /** Strings only: Moesif fixes a metadata key's JSON type the first time it sees it. */
  metadata: Record<string, string>;
}

export type SkipReason = 'not_json' | 'not_an_object' | 'missing_request_id' | 'bad_request_time' | 'missing_method' | 'missing_url';

export type MapResult = { ok: true; event: MoesifEvent } | { ok: false; reason: SkipReason };

type Line = Record<string, unknown>;

/** API Gateway writes `-` for a `$context` variable that has no value. */
function present(line: Line, key: string): string | undefined {
  const value = line[key];
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' || trimmed === '-' ? undefined : trimmed;
}

function wholeNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Moesif asks for "a random 36 char UUID" and de-duplicates on it
 * (https://www.moesif.com/docs/api#log-an-api-call). A name-based v5 UUID of the API id and the request id is
 * as unique as the pair (API Gateway request ids are unique per API, not globally) and, unlike a random one,
 * the same on every retry and DLQ redrive of a line, so Moesif keeps counting each call once.
 */
export function transactionId(apiId: string | undefined, requestId: string): string {
  return uuidV5(`${apiId ?? ''}:${requestId}`);
}

/**
 * Maps one access-log line (the JSON object `accessLogFields()` defines, every value a string API
 * Gateway substituted) to a Moesif event. Never throws: a line it cannot use comes back as a skip
 * reason, so one bad line does not cost the rest of the batch.
 */
export function toMoesif(message: string): MapResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return { ok: false, reason: 'not_json' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, reason: 'not_an_object' };
  const line = parsed as Line;

  const requestId = present(line, 'requestId');
  if (!requestId) return { ok: false, reason: 'missing_request_id' };
  // $context.requestTimeEpoch is in milliseconds on HTTP APIs.
  const epochMs = wholeNumber(present(line, 'requestTimeEpoch'));
  if (epochMs === undefined) return { ok: false, reason: 'bad_request_time' };
  const verb = present(line, 'httpMethod');
  if (!verb) return { ok: false, reason: 'missing_method' };
  const domainName = present(line, 'domainName');
  const path = present(line, 'path');
  if (!domainName || !path?.startsWith('/')) return { ok: false, reason: 'missing_url' };

  const apiId = present(line, 'apiId');
  const requestHeaders: Record<string, string> = { Host: domainName };
  const userAgent = present(line, 'userAgent');
  if (userAgent) requestHeaders['User-Agent'] = userAgent;

  const event: MoesifEvent = {
    request: { time: new Date(epochMs).toISOString(), uri: `https://${domainName}${path}`, verb: verb.toUpperCase(), headers: requestHeaders },
    transaction_id: transactionId(apiId, requestId),
    direction: 'Incoming',
    metadata: {},
  };
  const ip = present(line, 'ip');
  if (ip) event.request.ip_address = ip;

  const status = wholeNumber(present(line, 'status'));
  if (status !== undefined && status >= 100 && status <= 599) {
    const responseHeaders: Record<string, string> = {};
    const length = wholeNumber(present(line, 'responseLength'));
    if (length !== undefined) responseHeaders['Content-Length'] = String(length);
    const latencyMs = wholeNumber(present(line, 'responseLatency')) ?? 0;
    event.response = { time: new Date(epochMs + latencyMs).toISOString(), status, headers: responseHeaders };
  }

  // Anonymous calls (public routes, refused tokens) keep no user or company but are still sent:
  // Moesif counts them as traffic.
  const userId = present(line, 'userId');
  if (userId) event.user_id = userId;
  const companyId = present(line, 'companyId');
  if (companyId) event.company_id = companyId;
  const keyId = present(line, 'keyId');
  if (keyId) event.session_token = keyId;

  const metadata: Record<string, string | undefined> = {
    // The raw id, to find the call in API Gateway's and the authorizer's logs.
    requestId,
    routeKey: present(line, 'routeKey'),
    stage: present(line, 'stage'),
    apiId,
    keyId,
    // A client application's calls (client-signed or identity provider tokens): which application, which plan.
    clientId: present(line, 'clientId'),
    planId: present(line, 'planId'),
    authorizerError: present(line, 'authorizerError'),
    integrationError: present(line, 'integrationError'),
  };
  for (const [key, value] of Object.entries(metadata)) if (value !== undefined) event.metadata[key] = value;
  return { ok: true, event };
}

export interface MappedLogEvents {
  events: MoesifEvent[];
  skipped: number;
  skippedReasons: Partial<Record<SkipReason, number>>;
}

/** Maps every log event of one subscription delivery, counting the lines it had to skip. */
export function toMoesifEvents(logEvents: readonly Pick<CloudWatchLogsLogEvent, 'message'>[]): MappedLogEvents {
  const out: MappedLogEvents = { events: [], skipped: 0, skippedReasons: {} };
  for (const { message } of logEvents) {
    const result = toMoesif(message);
    if (result.ok) {
      out.events.push(result.event);
    } else {
      out.skipped++;
      out.skippedReasons[result.reason] = (out.skippedReasons[result.reason] ?? 0) + 1;
    }
  }
  return out;
}

/**
 * Decodes `awslogs.data`: CloudWatch Logs delivers a subscription batch gzipped, then base64-encoded.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#LambdaFunctionExample
 */
export function decodeSubscription(data: string): CloudWatchLogsDecodedData {
  const decoded = JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8')) as CloudWatchLogsDecodedData;
  if (!decoded || typeof decoded.messageType !== 'string') throw new Error('The subscription payload has no messageType.');
  if (decoded.messageType === 'DATA_MESSAGE' && !Array.isArray(decoded.logEvents)) throw new Error('The DATA_MESSAGE has no logEvents array.');
  return decoded;
}
