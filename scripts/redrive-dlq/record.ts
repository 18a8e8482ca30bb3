/** What a DLQ message holds: the forwarder's original event, and where its log lines came from (never the lines). */
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { decodeSubscription } from '../../lambda/moesif/event';

/** A DLQ message that holds no CloudWatch Logs payload; it is left in the queue for a person to look at. */
export class InvalidRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRecordError';
  }
}

/** What a payload holds, without its log lines. */
export interface PayloadSummary {
  logGroup: string;
  logStream: string;
  /** Number of log events. */
  events: number;
  /** Earliest and latest log event timestamps (epoch ms); undefined without events. */
  first?: number;
  last?: number;
}

/**
 * The forwarder's original event from a DLQ message body: an on-failure destination record's
 * `requestPayload`, or the body itself when the queue was a plain Lambda dead-letter queue (which holds
 * the bare event). Its data is decoded to tell where it came from, and to leave a corrupt one alone.
 */
export function payloadFromRecord(body: string | undefined): { event: CloudWatchLogsEvent; summary: PayloadSummary } {
  let record: unknown;
  try {
    record = JSON.parse(body ?? '');
  } catch {
    throw new InvalidRecordError('the body is not JSON');
  }
  const payload = (record as { requestPayload?: unknown } | null)?.requestPayload ?? record;
  const data = (payload as CloudWatchLogsEvent | null)?.awslogs?.data;
  if (typeof data !== 'string' || data === '') throw new InvalidRecordError('no requestPayload.awslogs.data');
  let decoded;
  try {
    decoded = decodeSubscription(data);
  } catch {
    throw new InvalidRecordError('awslogs.data is not a gzipped CloudWatch Logs batch');
  }
  const times = (decoded.logEvents ?? []).map((e) => e.timestamp).filter((t) => Number.isFinite(t));
  return {
    event: { awslogs: { data } },
    summary: {
      logGroup: String(decoded.logGroup),
      logStream: String(decoded.logStream),
      events: decoded.logEvents?.length ?? 0,
      first: times.length ? Math.min(...times) : undefined,
      last: times.length ? Math.max(...times) : undefined,
    },
  };
}

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const isoSeconds = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `<group> <stream>, 3 log events from <t1> to <t2>`: enough to find the lines in CloudWatch, none of their content. */
export function describePayload(s: PayloadSummary): string {
  const where = `${s.logGroup} ${s.logStream}, ${plural(s.events, 'log event')}`;
  if (s.first === undefined || s.last === undefined) return where;
  return s.first === s.last ? `${where} at ${isoSeconds(s.first)}` : `${where} from ${isoSeconds(s.first)} to ${isoSeconds(s.last)}`;
}
