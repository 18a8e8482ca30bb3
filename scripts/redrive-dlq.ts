/**
 * Redrives the Moesif forwarder's dead-letter queue.
 *
 *   node --import tsx scripts/redrive-dlq.ts --queue-url URL --function NAME [--max N]
 *
 * When a CloudWatch Logs delivery fails every attempt (Moesif down, the Application Id secret not
 * filled in), Lambda's on-failure destination puts an invocation record in the DLQ; its
 * `requestPayload` is the original CloudWatchLogsEvent. This reads those records one at a time,
 * invokes the forwarder synchronously (RequestResponse) with the payload, and deletes the message
 * only when the invocation succeeded: a failure leaves it in the queue for the next run. Redriving
 * twice is harmless: Moesif de-duplicates events on their transaction_id.
 *
 * Credentials and region come from the usual AWS environment. Permissions: sqs:ReceiveMessage and
 * sqs:DeleteMessage on the queue (kms:Decrypt if it uses a customer managed key), lambda:InvokeFunction
 * on the forwarder. Exit code 1 when any message was left behind.
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { errorFields, log } from '../lambda/shared/log';

const USAGE = 'Usage: node --import tsx scripts/redrive-dlq.ts --queue-url URL --function NAME [--max N]';

export class UsageError extends Error {
  constructor(problem: string) {
    super(`${problem}\n${USAGE}`);
    this.name = 'UsageError';
  }
}

/** A DLQ message that holds no CloudWatch Logs payload; it is left in the queue for a person to look at. */
export class InvalidRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRecordError';
  }
}

export interface RedriveArgs {
  queueUrl: string;
  functionName: string;
  /** Most messages to handle in this run. @default Infinity */
  max: number;
}

export function parseArgs(argv: readonly string[]): RedriveArgs {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (!['--queue-url', '--function', '--max'].includes(flag)) throw new UsageError(`Unknown argument "${flag}".`);
    const value = argv[++i];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value.`);
    values[flag] = value;
  }
  if (!values['--queue-url']) throw new UsageError('--queue-url is required.');
  if (!values['--function']) throw new UsageError('--function is required.');
  let max = Infinity;
  if (values['--max'] !== undefined) {
    max = Number(values['--max']);
    if (!Number.isSafeInteger(max) || max < 1) throw new UsageError(`--max must be a positive whole number, got "${values['--max']}".`);
  }
  return { queueUrl: values['--queue-url'], functionName: values['--function'], max };
}

function isLogsEvent(value: unknown): value is CloudWatchLogsEvent {
  const data = (value as CloudWatchLogsEvent | undefined)?.awslogs?.data;
  return typeof data === 'string' && data.length > 0;
}

/**
 * The forwarder's original event from a DLQ message body: an on-failure destination record's
 * `requestPayload`, or the body itself when the queue was a plain Lambda dead-letter queue
 * (which holds the bare event).
 */
export function payloadFromRecord(body: string | undefined): CloudWatchLogsEvent {
  let record: unknown;
  try {
    record = JSON.parse(body ?? '');
  } catch {
    throw new InvalidRecordError('The message body is not JSON.');
  }
  const payload = (record as { requestPayload?: unknown } | null)?.requestPayload ?? record;
  if (!isLogsEvent(payload)) throw new InvalidRecordError('The message holds no CloudWatch Logs event (requestPayload.awslogs.data).');
  return { awslogs: { data: payload.awslogs.data } };
}

export interface RedriveOptions extends RedriveArgs {
  sqs: Pick<SQSClient, 'send'>;
  lambda: Pick<LambdaClient, 'send'>;
  /**
   * How long a received message stays hidden. At least the longest Lambda timeout (15 min), so a
   * message is never received again while its own invocation runs. @default 900
   */
  visibilityTimeoutSeconds?: number;
}

export interface RedriveSummary {
  received: number;
  redriven: number;
  /** Invocations that failed; those messages stay in the queue. */
  failed: number;
  /** Messages without a payload; they stay in the queue too. */
  invalid: number;
}

export async function redrive(options: RedriveOptions): Promise<RedriveSummary> {
  const { sqs, lambda, queueUrl, functionName, max, visibilityTimeoutSeconds = 900 } = options;
  const summary: RedriveSummary = { received: 0, redriven: 0, failed: 0, invalid: 0 };
  const seen = new Set<string>();

  while (summary.received < max) {
    // One message at a time: each invocation may run for minutes, and the message must stay hidden meanwhile.
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, VisibilityTimeout: visibilityTimeoutSeconds }),
    );
    const [message] = Messages;
    if (!message) break;
    // A message seen before has come back (its visibility timeout ran out): this run is done with it.
    if (message.MessageId && seen.has(message.MessageId)) break;
    if (message.MessageId) seen.add(message.MessageId);
    summary.received++;

    let payload: CloudWatchLogsEvent;
    try {
      payload = payloadFromRecord(message.Body);
    } catch (err) {
      summary.invalid++;
      log('WARN', 'message left in the queue: no payload', { messageId: message.MessageId, ...errorFields(err) });
      continue;
    }

    try {
      const out = await lambda.send(
        new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(payload)) }),
      );
      if (out.FunctionError) {
        summary.failed++;
        const detail = out.Payload ? Buffer.from(out.Payload).toString('utf8').slice(0, 500) : undefined;
        log('WARN', 'message left in the queue: the forwarder failed again', { messageId: message.MessageId, functionError: out.FunctionError, detail });
        continue;
      }
    } catch (err) {
      summary.failed++;
      log('WARN', 'message left in the queue: the invocation failed', { messageId: message.MessageId, ...errorFields(err) });
      continue;
    }
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    summary.redriven++;
  }
  return summary;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const args = parseArgs(argv);
  const summary = await redrive({ ...args, sqs: new SQSClient({}), lambda: new LambdaClient({}) });
  log('INFO', 'redrive finished', { ...summary });
  if (summary.failed + summary.invalid > 0) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof UsageError ? err.message : err);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  });
}
