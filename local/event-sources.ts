import type { LocalLambda } from './functions';
import type { LocalQueue, StoredMessage } from './sqs/queue';
import { systemAttributes } from './sqs/service';

/** An AWS::Lambda::EventSourceMapping from an SQS queue, resolved. */
export interface SqsMapping {
  id: string;
  queue: LocalQueue;
  /** The function's name or ARN, as the template gives it. */
  functionRef: string;
  functionLabel: string;
  batchSize: number;
  batchingWindowSeconds: number;
  reportBatchItemFailures: boolean;
}

/** Lambda's SQS poller stops adding messages to a batch at its invocation payload limit. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** SQS hands out at most 10 messages a receive, and Lambda's poller waits up to 20 s a receive. */
const RECEIVE_MAX = 10;
const LONG_POLL_MS = 20_000;
/** After a failed invocation the poller backs off, so a zero visibility timeout does not spin. */
const BACKOFF_MS = 1000;

/** The event Lambda sends a function for a batch of SQS messages. */
export function sqsEvent(queueArn: string, batch: { message: StoredMessage; receiptHandle: string }[]): { Records: Record<string, unknown>[] } {
  const region = queueArn.split(':')[3];
  return {
    Records: batch.map(({ message: m, receiptHandle }) => ({
      messageId: m.id,
      receiptHandle,
      body: m.body,
      attributes: systemAttributes(m),
      messageAttributes: Object.fromEntries(
        Object.entries(m.attributes).map(([name, a]) => [name, { stringValue: a.StringValue, binaryValue: a.BinaryValue, stringListValues: [], binaryListValues: [], dataType: a.DataType }]),
      ),
      md5OfBody: m.md5OfBody,
      ...(m.md5OfAttributes ? { md5OfMessageAttributes: m.md5OfAttributes } : {}),
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: region,
    })),
  };
}

/**
 * The message ids of a batch to retry, from a ReportBatchItemFailures answer; 'all' when the answer
 * makes the whole batch a failure (an itemIdentifier that is empty, missing or not in the batch).
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
 */
export function batchFailures(payload: unknown, messageIds: string[]): string[] | 'all' {
  if (payload === null || typeof payload !== 'object') return [];
  const list = (payload as { batchItemFailures?: unknown }).batchItemFailures;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) return 'all';
  const ids: string[] = [];
  for (const item of list) {
    const id = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !messageIds.includes(id)) return 'all';
    ids.push(id);
  }
  return ids;
}

/**
 * Lambda's SQS pollers: one per enabled mapping, each receiving from its queue (with the queue's
 * visibility timeout), gathering a batch up to BatchSize or until MaximumBatchingWindowInSeconds has
 * passed since its first message, invoking the function, and deleting what succeeded. A failed batch (or
 * the items a ReportBatchItemFailures answer names) stays in flight and comes back after the visibility
 * timeout, until the queue's redrive policy moves it to the dead-letter queue. A mapping delivers one
 * batch at a time.
 */
export class LocalEventSources {
  private readonly loops: Promise<void>[] = [];
  readonly mappings: SqsMapping[] = [];
  private stopped = false;

  constructor(
    private readonly lambda: LocalLambda,
    private readonly print: (line: string) => void,
  ) {}

  addSqs(mapping: SqsMapping): void {
    this.mappings.push(mapping);
    this.loops.push(this.run(mapping));
  }

  /** Stops polling; a batch being delivered is not waited for beyond a second (its messages stay in flight). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const m of this.mappings) m.queue.wake();
    await Promise.race([Promise.all(this.loops), new Promise((r) => setTimeout(r, 1000).unref())]);
  }

  private async run(m: SqsMapping): Promise<void> {
    while (!this.stopped) {
      const batch = await this.gather(m);
      if (batch.length === 0 || this.stopped) continue;
      const ok = await this.deliver(m, batch).catch((err: Error) => {
        this.print(`sqs: ${m.queue.settings.label} → ${m.functionLabel} failed: ${err.message}`);
        return false;
      });
      if (!ok && !this.stopped) await new Promise((r) => setTimeout(r, BACKOFF_MS));
    }
  }

  private async gather(m: SqsMapping): Promise<{ message: StoredMessage; receiptHandle: string }[]> {
    const batch: { message: StoredMessage; receiptHandle: string }[] = [];
    let bytes = 0;
    let windowEnds: number | undefined;
    while (!this.stopped) {
      for (const got of m.queue.receive(Math.min(RECEIVE_MAX, m.batchSize - batch.length))) {
        // A visibility timeout shorter than the window hands a gathered message out again: keep it once, with its latest handle.
        const held = batch.findIndex((b) => b.message.id === got.message.id);
        if (held >= 0) batch[held] = got;
        else {
          batch.push(got);
          bytes += Buffer.byteLength(got.message.body) + 1024;
        }
      }
      if (batch.length >= m.batchSize || bytes >= MAX_PAYLOAD_BYTES) return batch;
      const now = Date.now();
      if (batch.length > 0) {
        windowEnds ??= now + m.batchingWindowSeconds * 1000;
        if (now >= windowEnds) return batch;
      }
      await m.queue.waitForMessages((windowEnds ?? now + LONG_POLL_MS) - now);
    }
    return batch;
  }

  /** Invokes the function with one batch; resolves whether it succeeded (wholly or in part). */
  private async deliver(m: SqsMapping, batch: { message: StoredMessage; receiptHandle: string }[]): Promise<boolean> {
    const { label } = m.queue.settings;
    const result = await this.lambda.invoke(m.functionRef, sqsEvent(m.queue.settings.arn, batch));
    const count = `${batch.length} message${batch.length === 1 ? '' : 's'}`;
    if (!result.ok) {
      this.print(`sqs: ${label} → ${m.functionLabel}: ${count} failed (${result.error.errorType}: ${result.error.errorMessage}); retried after the visibility timeout (${m.queue.settings.visibilityTimeoutSeconds} s)`);
      return false;
    }
    const failures = m.reportBatchItemFailures ? batchFailures(result.payload, batch.map((b) => b.message.id)) : [];
    if (failures === 'all') {
      this.print(`sqs: ${label} → ${m.functionLabel}: the batchItemFailures answer names no message of the batch; all ${count} are retried`);
      return false;
    }
    for (const b of batch) if (!failures.includes(b.message.id)) m.queue.delete(b.receiptHandle);
    this.print(`sqs: ${label} → ${m.functionLabel}: ${count}, ${failures.length} failed (${result.durationMs} ms)`);
    return true;
  }
}
