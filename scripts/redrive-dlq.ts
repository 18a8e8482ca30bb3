/**
 * Re-drives the Moesif forwarder's dead-letter queue (`npm run dlq:redrive`; USAGE below says how).
 *
 * When a CloudWatch Logs delivery fails every attempt, Lambda's on-failure destination puts an invocation
 * record in the DLQ; its `requestPayload` is the original CloudWatchLogsEvent. Each record is invoked
 * again synchronously and its message deleted only once that succeeded. Redriving twice is harmless:
 * Moesif drops events whose transaction_id it already has.
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
 *
 * Output is a line per message (ids, log group, stream, counts, times) and a summary; never a message body
 * or a log line, which carry user ids and client IPs. Errors are one line on stderr.
 *
 * This file is the front door (arguments, clients, streams, exit status); the parsing, the records and the
 * loop live in scripts/redrive-dlq/.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { parseArgs, regionFromQueueUrl, UsageError, type RedriveArgs } from './redrive-dlq/args';
import { oneLine, RedriveError } from './redrive-dlq/aws-errors';
import { redrive, summaryLine } from './redrive-dlq/run';

export const USAGE = `Usage: npm run dlq:redrive -- --queue-url URL --function NAME [options]
       node --import tsx scripts/redrive-dlq.ts --queue-url URL --function NAME [options]

Re-drives the Moesif forwarder's dead-letter queue. A batch of access-log lines that failed every
delivery attempt waits there as a Lambda on-failure destination record, whose requestPayload is the
original CloudWatch Logs subscription event. For each message, this invokes the forwarder synchronously
with that payload and deletes the message only after the invocation succeeded. Run it once the cause is
fixed (Moesif reachable, the Application Id secret filled in). Re-driving twice is harmless: Moesif drops
events whose transaction_id it already has.

Required:
  --queue-url URL    the dead-letter queue: the stack output DeadLetterQueueUrl
  --function NAME    the forwarder's name or ARN: the stack output ForwarderFunctionName
                     (not needed with --dry-run)
  Both outputs: aws cloudformation describe-stacks --stack-name STACK --query 'Stacks[0].Outputs'

Options:
  --region REGION    AWS region of the queue and the function (default: the one in the queue URL,
                     else AWS_REGION or the profile's region)
  --max N            handle at most N messages (default: every message in the queue when the run
                     starts; those that arrive during the run wait for the next one)
  --dry-run          list what would be re-driven: the number of messages and, for each, its log
                     group, log stream, number of log events and time range; invokes and deletes
                     nothing (default: off)
  -h, --help         show this help

What happens to each message:
  invocation succeeded        deleted from the queue
  invocation failed           left in the queue (a function error, throttling, a service error); the
                              run goes on with the next message and exits 1
  not a destination record    left in the queue and reported; the run goes on and exits 1
Messages left in the queue are visible again when the run ends, so the next run retries them at once.
A message held by another reader, or by an interrupted run, is out of reach until its visibility
timeout ends (15 minutes after an interrupted run); the first line of the output counts them.
The run stops at the first error that would fail every message the same way (unknown queue or
function, access denied, no credentials, network); the message in hand stays in the queue.
Message bodies and log lines are never printed: they carry user ids and client IPs.

Credentials come from the usual AWS sources (AWS_PROFILE, environment variables, SSO). Permissions:
sqs:GetQueueAttributes, sqs:ReceiveMessage, sqs:DeleteMessage and sqs:ChangeMessageVisibility on the
queue; lambda:InvokeFunction on the forwarder.

Exit status: 0 every message re-driven (or none waiting, or --dry-run), 1 a message was left in the
queue or the run stopped on an error (one line on stderr), 2 bad arguments or no region.`;

const NAME = 'redrive-dlq';

export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

function processIo(): CliIo {
  return { env: process.env, stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };
}

/** The command: returns the exit status. Errors are one line on stderr, never a stack trace. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const say = (line: string) => io.stderr(`${NAME}: ${oneLine(line)}\n`);
  let args: RedriveArgs;
  try {
    const parsed = parseArgs(argv);
    if (parsed === 'help') {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    args = parsed;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    say(`error: ${err.message} Run with --help for usage.`);
    return 2;
  }

  // The SDK sends SQS calls to the queue URL's host even when AWS_ENDPOINT_URL_SQS names another endpoint
  // (its useQueueUrlAsEndpoint); an endpoint the user configured wins here, as it does for every other service.
  const endpointConfigured = Boolean(io.env.AWS_ENDPOINT_URL_SQS || io.env.AWS_ENDPOINT_URL);
  const sqs = new SQSClient({ region: args.region ?? regionFromQueueUrl(args.queueUrl), useQueueUrlAsEndpoint: !endpointConfigured });
  let lambda: LambdaClient | undefined;
  try {
    const region = await sqs.config.region().catch(() => undefined);
    if (!region) {
      say(`error: no AWS region: ${args.queueUrl} names none; pass --region REGION (or set AWS_REGION).`);
      return 2;
    }
    lambda = new LambdaClient({ region });
    const summary = await redrive({
      ...args,
      sqs,
      lambda,
      region,
      report: (line) => io.stdout(`${line}\n`),
      warn: say,
    });
    io.stdout(`${summaryLine(summary, args)}\n`);
    return summary.failed + summary.invalid > 0 && !args.dryRun ? 1 : 0;
  } catch (err) {
    const e = err as Error;
    say(`error: ${e instanceof RedriveError ? e.message : `${e.name}: ${e.message}`}`);
    return 1;
  } finally {
    sqs.destroy();
    lambda?.destroy();
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
