/** The re-drive loop: receive, invoke, delete on success, leave and release the rest. */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { ChangeMessageVisibilityBatchCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { RedriveArgs } from './args';
import { commonProblem, oneLine, RedriveError, type AwsError } from './aws-errors';
import { describePayload, InvalidRecordError, payloadFromRecord, plural } from './record';

export interface RedriveOptions {
  sqs: Pick<SQSClient, 'send'>;
  lambda: Pick<LambdaClient, 'send'>;
  queueUrl: string;
  functionName?: string;
  /** For messages only: the clients have theirs. */
  region: string;
  max: number;
  dryRun: boolean;
  /** A line of the report (stdout). */
  report: (line: string) => void;
  /** A message left in the queue, and why (stderr). */
  warn: (line: string) => void;
  /**
   * How long a received message stays hidden while its invocation runs: at least the longest Lambda
   * timeout (15 min), so it is never handed out again meanwhile. @default 900
   */
  visibilityTimeoutSeconds?: number;
}

export interface RedriveSummary {
  /** Messages in the queue (visible) when the run started. */
  waiting: number;
  /** Messages handled (or listed) in this run. */
  received: number;
  redriven: number;
  /** Invocations that failed; those messages stay in the queue. */
  failed: number;
  /** Messages without a payload; they stay in the queue too. */
  invalid: number;
}

/** A dry run only reads: its messages are hidden just long enough to be listed once. */
const DRY_RUN_VISIBILITY_SECONDS = 60;

export async function redrive(options: RedriveOptions): Promise<RedriveSummary> {
  const { sqs, lambda, queueUrl, functionName, region, max, dryRun, report, warn, visibilityTimeoutSeconds = 900 } = options;
  const sqsCall = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      const e = err as AwsError;
      if (e.name === 'QueueDoesNotExist') {
        throw new RedriveError(`the queue ${queueUrl} does not exist in ${region}: check --queue-url (the stack output DeadLetterQueueUrl) and --region.`);
      }
      throw new RedriveError(commonProblem(err, 'SQS') ?? `SQS refused the call (${e.name}): ${oneLine(e.message ?? '')}`);
    }
  };

  const { Attributes = {} } = await sqsCall(() =>
    sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] })),
  );
  const waiting = Number(Attributes.ApproximateNumberOfMessages ?? 0);
  const inFlight = Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
  const summary: RedriveSummary = { waiting, received: 0, redriven: 0, failed: 0, invalid: 0 };
  // Hidden messages are out of reach until their visibility timeout ends (up to 15 minutes after an interrupted run).
  const hidden = inFlight ? ` (and ${inFlight} in flight, out of reach until their visibility timeout ends)` : '';
  report(`${dryRun ? 'dry run: ' : ''}${plural(waiting, 'message')} in ${queueUrl}${hidden}${dryRun ? '; nothing is invoked or deleted' : ''}`);
  // Only what was there at the start: messages that arrive meanwhile wait for the next run, so a run ends.
  const limit = Math.min(max, waiting);
  const seen = new Set<string>();
  // Messages this run holds hidden and leaves in the queue, by id: their latest receipt handle.
  const held = new Map<string, string>();

  try {
    while (summary.received < limit) {
      // One message at a time when invoking: each is hidden for one invocation's length, no more.
      const { Messages = [] } = await sqsCall(() =>
        sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: dryRun ? Math.min(10, limit - summary.received) : 1,
            VisibilityTimeout: dryRun ? DRY_RUN_VISIBILITY_SECONDS : visibilityTimeoutSeconds,
            // Long polling asks every SQS server, so an empty answer means an empty queue.
            WaitTimeSeconds: 1,
          }),
        ),
      );
      if (Messages.length === 0) break;
      for (const message of Messages) {
        const id = message.MessageId ?? '';
        // Back after its visibility ran out (a slow invocation): this run has tried it; the receive hid it again.
        if (seen.has(id)) {
          if (held.has(id)) held.set(id, message.ReceiptHandle ?? '');
          continue;
        }
        seen.add(id);
        summary.received++;
        held.set(id, message.ReceiptHandle ?? '');
        if (dryRun) list(message, summary, report);
        else if (await redriveOne(message, summary)) held.delete(id);
      }
    }
  } finally {
    await release(sqs, queueUrl, held);
  }
  return summary;

  /** Invokes the forwarder with the message's payload; true once it is deleted. */
  async function redriveOne(message: Message, s: RedriveSummary): Promise<boolean> {
    const id = message.MessageId;
    let parsed;
    try {
      parsed = payloadFromRecord(message.Body);
    } catch (err) {
      if (!(err instanceof InvalidRecordError)) throw err;
      s.invalid++;
      warn(`left in queue ${id}: not a destination record (${err.message})`);
      return false;
    }
    let out;
    try {
      out = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(parsed.event)) }));
    } catch (err) {
      const e = err as AwsError;
      if (e.name === 'ResourceNotFoundException') {
        throw new RedriveError(`the function "${functionName}" does not exist in ${region}: check --function (the stack output ForwarderFunctionName) and --region.`);
      }
      const common = commonProblem(err, 'LAMBDA');
      if (common) throw new RedriveError(common);
      s.failed++;
      warn(`left in queue ${id}: the invocation failed (${e.name}: ${oneLine(e.message ?? '')})`);
      return false;
    }
    if (out.FunctionError) {
      s.failed++;
      warn(`left in queue ${id}: the forwarder failed (${[out.FunctionError, errorType(out.Payload)].filter(Boolean).join(', ')})`);
      return false;
    }
    try {
      await sqsCall(() => sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle })));
    } catch (err) {
      throw new RedriveError(`${(err as Error).message} Message ${id} was re-driven but stays in the queue; re-driving it again is harmless.`);
    }
    s.redriven++;
    report(`redriven ${id}: ${describePayload(parsed.summary)}`);
    return true;
  }
}

function list(message: Message, s: RedriveSummary, report: (line: string) => void): void {
  try {
    report(`would re-drive ${message.MessageId}: ${describePayload(payloadFromRecord(message.Body).summary)}`);
  } catch (err) {
    if (!(err instanceof InvalidRecordError)) throw err;
    s.invalid++;
    report(`would leave ${message.MessageId}: not a destination record (${err.message})`);
  }
}

/**
 * The error's type from a function's error payload (`{"errorType": "MoesifDeliveryError", ...}`), when it
 * is a plain name. Not its message: that could quote a log line.
 */
function errorType(payload: Uint8Array | undefined): string | undefined {
  try {
    const type = JSON.parse(Buffer.from(payload ?? []).toString('utf8'))?.errorType;
    return typeof type === 'string' && /^[\w.$-]{1,100}$/.test(type) ? type : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes the messages this run held visible again, so the next run can retry them at once rather than
 * after the visibility timeout. Best effort: if it fails, they come back when the timeout runs out.
 */
async function release(sqs: Pick<SQSClient, 'send'>, queueUrl: string, held: Map<string, string>): Promise<void> {
  const entries = [...held.values()].filter(Boolean).map((ReceiptHandle, i) => ({ Id: `m${i}`, ReceiptHandle, VisibilityTimeout: 0 }));
  for (let i = 0; i < entries.length; i += 10) {
    await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries.slice(i, i + 10) })).catch(() => undefined);
  }
}

export function summaryLine(s: RedriveSummary, args: Pick<RedriveArgs, 'max' | 'dryRun'>): string {
  const untried = s.waiting - s.received;
  const cut = args.max < s.waiting && untried > 0 ? `; ${untried} more not ${args.dryRun ? 'listed' : 'tried'} (--max ${args.max})` : '';
  if (args.dryRun) return `dry run: would re-drive ${s.received - s.invalid}, would leave ${s.invalid} in the queue${cut}`;
  const invalid = s.invalid ? `, not a destination record ${s.invalid}` : '';
  return `redriven ${s.redriven}, failed ${s.failed}${invalid}, left in queue ${s.failed + s.invalid}${cut}`;
}
