import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { main, USAGE } from '../../scripts/redrive-dlq';
import { parseArgs, regionFromQueueUrl, UsageError } from '../../scripts/redrive-dlq/args';
import { InvalidRecordError, payloadFromRecord } from '../../scripts/redrive-dlq/record';
import { denied, LocalLambda, returns, throttled, throws, type Outcome } from '../support/lambda-server';
import { LocalSqs } from '../support/sqs-server';

const ROOT = resolve(__dirname, '../..');
const sqs = new LocalSqs();
const lambda = new LocalLambda();

beforeAll(async () => {
  // The real SDK clients, pointed at the local servers with fake credentials. No AWS_REGION: the region
  // comes from the queue URL, and a developer's ~/.aws must not change what the tests see.
  process.env.AWS_ENDPOINT_URL_SQS = await sqs.start();
  process.env.AWS_ENDPOINT_URL_LAMBDA = await lambda.start();
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL']) delete process.env[name];
});
afterAll(() => Promise.all([sqs.stop(), lambda.stop()]));

// ---------------------------------------------------------------- fixtures

/** What an access-log line carries and the tool must never print: a user id and a client IP. */
const PRIVATE = ['user-42', '203.0.113.9'];
const GROUP = '/aws/vendedlogs/jwt-api/access';
const T0 = Date.UTC(2026, 10, 23, 1, 2, 3);

/** A CloudWatch Logs subscription event, as the forwarder receives it: gzipped, then base64. */
function logsEvent(logStream: string, times: number[] = [T0], logGroup = GROUP) {
  const data = {
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup,
    logStream,
    subscriptionFilters: ['jwt-api-Subscription'],
    logEvents: times.map((t, i) => ({ id: `${t}${i}`, timestamp: t, message: JSON.stringify({ requestId: `r-${i}`, userId: PRIVATE[0], ip: PRIVATE[1] }) })),
  };
  return { awslogs: { data: gzipSync(JSON.stringify(data)).toString('base64') } };
}

/** The record Lambda's on-failure destination puts in the queue for an asynchronous invocation that failed. */
function destinationRecord(event: unknown): string {
  return JSON.stringify({
    version: '1.0',
    timestamp: '2026-11-23T01:05:00.000Z',
    requestContext: { requestId: 'e4b46cbf-b738-4a4b-8880-a18cdf61200e', functionArn: 'arn:aws:lambda:eu-west-2:123456789012:function:fwd:$LATEST', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: 'MoesifDeliveryError', errorMessage: `Moesif did not accept batch 1 of 1 for ${PRIVATE[0]}` },
  });
}

let serial = 0;
/** A new queue (in eu-west-2, so the region comes from its URL) holding these bodies; returns its URL and the message ids. */
function queueWith(...bodies: string[]) {
  const url = sqs.createQueue(`moesif-dlq-${++serial}`, { region: 'eu-west-2' });
  const ids = bodies.map((b) => sqs.send(url, b));
  return { url, ids };
}

/** A new forwarder whose outcome depends on the event's log stream: "fail…" throws, "throttle…" is throttled. */
function forwarder(outcome: (stream: string) => Outcome = byStream): string {
  const name = `jwt-api-MoesifForwarder-${++serial}`;
  lambda.define(name, (event) => outcome(streamOf(event)));
  return name;
}
function byStream(stream: string): Outcome {
  if (stream.startsWith('fail')) return throws('MoesifDeliveryError', `Moesif did not accept batch 1 of 1 for ${PRIVATE[0]}`);
  if (stream.startsWith('throttle')) return throttled();
  return returns({ received: 1, sent: 1, skipped: 0 });
}
function streamOf(event: unknown): string {
  const data = (event as { awslogs?: { data?: string } })?.awslogs?.data ?? '';
  return JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString()).logStream;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The command in-process: main() is everything the child process runs but process start-up. */
async function run(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { env: process.env, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

/** The same as a child process, as `npm run dlq:redrive` starts it. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/redrive-dlq.ts', ...args], {
      cwd: ROOT,
      // Node 20 here: the SDK's notice that it will need Node 22 is not the tool's output.
      env: { ...process.env, NODE_OPTIONS: '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** An expected failure: exactly one line on stderr, so no stack trace. */
function expectOneLine(out: Run, code: 1 | 2, line: string | RegExp): void {
  expect(out.code).toBe(code);
  expect(out.stderr.split('\n')).toHaveLength(2);
  expect(out.stderr.trimEnd()).toMatch(typeof line === 'string' ? new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : line);
}

function expectNothingPrivate(out: Run): void {
  for (const text of PRIVATE) expect(out.stdout + out.stderr).not.toContain(text);
}

const lines = (text: string) => text.split('\n').filter(Boolean);
const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

// ---------------------------------------------------------------- behaviour

describe('dlq:redrive against a local SQS and Lambda', () => {
  it('invokes the forwarder synchronously with each original payload, and deletes each message only after its invocation succeeded', async () => {
    const events = [logsEvent('s-1', [T0, T0 + 60_000]), logsEvent('s-2'), logsEvent('s-3')];
    // The third is what a plain Lambda dead-letter queue holds: the bare event, no destination record.
    const { url, ids } = queueWith(destinationRecord(events[0]), destinationRecord(events[1]), JSON.stringify(events[2]));
    const inQueueDuringInvoke: number[] = [];
    const fn = `jwt-api-MoesifForwarder-${++serial}`;
    lambda.define(fn, () => {
      inQueueDuringInvoke.push(sqs.peek(url).length);
      return returns({ received: 1, sent: 1, skipped: 0 });
    });

    const out = await run('--queue-url', url, '--function', fn);

    expect(out).toMatchObject({ code: 0, stderr: '' });
    expect(lambda.invocations.filter((i) => i.functionName === fn)).toEqual(
      events.map((event) => ({ functionName: fn, region: 'eu-west-2', invocationType: 'RequestResponse', logType: undefined, event, status: 200 })),
    );
    expect(inQueueDuringInvoke).toEqual([3, 2, 1]);
    expect(sqs.peek(url)).toEqual([]);
    expect(lines(out.stdout)).toEqual([
      `3 messages in ${url}`,
      `redriven ${ids[0]}: ${GROUP} s-1, 2 log events from ${iso(T0)} to ${iso(T0 + 60_000)}`,
      `redriven ${ids[1]}: ${GROUP} s-2, 1 log event at ${iso(T0)}`,
      `redriven ${ids[2]}: ${GROUP} s-3, 1 log event at ${iso(T0)}`,
      'redriven 3, failed 0, left in queue 0',
    ]);
    expectNothingPrivate(out);
    // Both clients signed for the queue URL's region; each message was hidden long enough for a full-length invocation.
    expect(new Set(sqs.requests.filter((r) => r.input.QueueUrl === url).map((r) => r.region))).toEqual(new Set(['eu-west-2']));
    expect(sqs.requests.find((r) => r.input.QueueUrl === url && r.operation === 'ReceiveMessage')?.input).toMatchObject({ MaxNumberOfMessages: 1, VisibilityTimeout: 900 });
  });

  it('leaves a message whose invocation failed in the queue, goes on with the others, and exits 1 with a summary', async () => {
    const streams = ['s-1', 's-2', 'fail-3', 's-4', 's-5', 'throttle-6', 's-7', 's-8', 's-9'];
    const { url, ids } = queueWith(...streams.map((s) => destinationRecord(logsEvent(s))));
    const fn = forwarder();

    const out = await run('--queue-url', url, '--function', fn);

    expect(out.code).toBe(1);
    expect(lines(out.stdout).at(-1)).toBe('redriven 7, failed 2, left in queue 2');
    expect(lines(out.stderr)).toEqual([
      `redrive-dlq: left in queue ${ids[2]}: the forwarder failed (Unhandled, MoesifDeliveryError)`,
      `redrive-dlq: left in queue ${ids[5]}: the invocation failed (TooManyRequestsException: Rate Exceeded.)`,
    ]);
    // The two are still there, and visible again at once for the next run.
    expect(sqs.peek(url).map((m) => [m.id, m.visible])).toEqual([[ids[2], true], [ids[5], true]]);
    expect(lambda.eventsOf(fn).map(streamOf)).toEqual(streams.filter((s) => !s.startsWith('throttle')));
    expectNothingPrivate(out);
  });

  it('retries at once, on the next run, what the previous run left in the queue', async () => {
    const { url } = queueWith(destinationRecord(logsEvent('s-1')), destinationRecord(logsEvent('s-2')));
    let moesifUp = false;
    const fn = forwarder(() => (moesifUp ? returns({}) : throws('MoesifDeliveryError', 'Moesif is down')));

    expect((await run('--queue-url', url, '--function', fn)).code).toBe(1);
    moesifUp = true;
    const second = await run('--queue-url', url, '--function', fn);

    expect(second.code).toBe(0);
    expect(lines(second.stdout).at(-1)).toBe('redriven 2, failed 0, left in queue 0');
    expect(sqs.peek(url)).toEqual([]);
  });

  it('leaves a message that is not a destination record alone and reports it, without printing its body', async () => {
    const { url, ids } = queueWith(
      `not json ${PRIVATE[0]}`,
      JSON.stringify({ requestPayload: { note: PRIVATE[1] } }),
      destinationRecord({ awslogs: { data: Buffer.from(`plain ${PRIVATE[0]}`).toString('base64') } }),
      destinationRecord(logsEvent('s-4')),
    );
    const fn = forwarder();

    const out = await run('--queue-url', url, '--function', fn);

    expect(out.code).toBe(1);
    expect(lines(out.stderr)).toEqual([
      `redrive-dlq: left in queue ${ids[0]}: not a destination record (the body is not JSON)`,
      `redrive-dlq: left in queue ${ids[1]}: not a destination record (no requestPayload.awslogs.data)`,
      `redrive-dlq: left in queue ${ids[2]}: not a destination record (awslogs.data is not a gzipped CloudWatch Logs batch)`,
    ]);
    expect(lines(out.stdout).at(-1)).toBe('redriven 1, failed 0, not a destination record 3, left in queue 3');
    expect(lambda.eventsOf(fn).map(streamOf)).toEqual(['s-4']);
    expect(sqs.peek(url).map((m) => m.id)).toEqual(ids.slice(0, 3));
    expectNothingPrivate(out);
  });

  it('stops after --max messages', async () => {
    const { url, ids } = queueWith(...['s-1', 's-2', 's-3', 's-4', 's-5'].map((s) => destinationRecord(logsEvent(s))));
    const fn = forwarder();

    const out = await run('--queue-url', url, '--function', fn, '--max', '2');

    expect(out.code).toBe(0);
    expect(lambda.eventsOf(fn).map(streamOf)).toEqual(['s-1', 's-2']);
    expect(sqs.peek(url).map((m) => [m.id, m.visible])).toEqual(ids.slice(2).map((id) => [id, true]));
    expect(lines(out.stdout).at(-1)).toBe('redriven 2, failed 0, left in queue 0; 3 more not tried (--max 2)');
  });

  it('does not invoke twice a message that came back during a slow invocation, and goes on with the rest', async () => {
    const { url, ids } = queueWith(...['fail-slow', 's-2', 's-3'].map((s) => destinationRecord(logsEvent(s))));
    const fn = forwarder((stream) => {
      // The invocation outlasts the message's visibility timeout: the queue hands the message out again.
      if (stream === 'fail-slow') sqs.advance(901);
      return byStream(stream);
    });

    const out = await run('--queue-url', url, '--function', fn);

    expect(lambda.eventsOf(fn).map(streamOf)).toEqual(['fail-slow', 's-2', 's-3']);
    expect(lines(out.stdout).at(-1)).toBe('redriven 2, failed 1, left in queue 1');
    expect(sqs.peek(url).map((m) => [m.id, m.visible])).toEqual([[ids[0], true]]);
  });

  it('tells of messages in flight, which it cannot reach (another reader, or an interrupted run, holds them)', async () => {
    const { url } = queueWith(destinationRecord(logsEvent('s-1')), destinationRecord(logsEvent('s-2')));
    const reader = new SQSClient({ region: 'eu-west-2', useQueueUrlAsEndpoint: false });
    await reader.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 900 }));
    reader.destroy();
    const fn = forwarder();

    const out = await run('--queue-url', url, '--function', fn);

    expect(lines(out.stdout)[0]).toBe(`1 message in ${url} (and 1 in flight, out of reach until their visibility timeout ends)`);
    expect(lambda.eventsOf(fn).map(streamOf)).toEqual(['s-2']);
  });

  it('says so and exits 0 on an empty queue', async () => {
    const { url } = queueWith();
    const out = await run('--queue-url', url, '--function', forwarder());
    expect(out).toEqual({ code: 0, stdout: `0 messages in ${url}\nredriven 0, failed 0, left in queue 0\n`, stderr: '' });
    expect(sqs.requests.filter((r) => r.input.QueueUrl === url).map((r) => r.operation)).toEqual(['GetQueueAttributes']);
  });
});

describe('--dry-run', () => {
  it('lists the log group, stream, event count and time range of each payload, changes nothing, and prints no log line', async () => {
    const { url, ids } = queueWith(
      destinationRecord(logsEvent('s-1', [T0 + 5_000, T0, T0 + 120_000])),
      `{"broken": "${PRIVATE[0]}"`,
      destinationRecord(logsEvent('s-3', [T0], '/aws/vendedlogs/other')),
    );
    const fn = forwarder();

    const out = await run('--queue-url', url, '--dry-run');

    expect(out).toMatchObject({ code: 0, stderr: '' });
    expect(lines(out.stdout)).toEqual([
      `dry run: 3 messages in ${url}; nothing is invoked or deleted`,
      `would re-drive ${ids[0]}: ${GROUP} s-1, 3 log events from ${iso(T0)} to ${iso(T0 + 120_000)}`,
      `would leave ${ids[1]}: not a destination record (the body is not JSON)`,
      `would re-drive ${ids[2]}: /aws/vendedlogs/other s-3, 1 log event at ${iso(T0)}`,
      'dry run: would re-drive 2, would leave 1 in the queue',
    ]);
    expectNothingPrivate(out);
    expect(lambda.eventsOf(fn)).toEqual([]);
    // Every message is still there and visible: the real run right after sees them all.
    expect(sqs.peek(url).map((m) => [m.id, m.visible])).toEqual(ids.map((id) => [id, true]));
    expect(sqs.requests.filter((r) => r.input.QueueUrl === url).map((r) => r.operation)).not.toContain('DeleteMessage');
  });

  it('lists at most --max messages', async () => {
    const { url, ids } = queueWith(...['s-1', 's-2', 's-3'].map((s) => destinationRecord(logsEvent(s))));
    const out = await run('--queue-url', url, '--dry-run', '--max', '1');
    expect(lines(out.stdout).filter((l) => l.startsWith('would'))).toEqual([`would re-drive ${ids[0]}: ${GROUP} s-1, 1 log event at ${iso(T0)}`]);
    expect(lines(out.stdout).at(-1)).toBe('dry run: would re-drive 1, would leave 0 in the queue; 2 more not listed (--max 1)');
    expect(sqs.peek(url).every((m) => m.visible)).toBe(true);
  });
});

// ---------------------------------------------------------------- region

describe('region', () => {
  it.each([
    ['https://sqs.eu-west-2.amazonaws.com/123456789012/q', 'eu-west-2'],
    ['https://sqs.us-gov-west-1.amazonaws.com/123456789012/q', 'us-gov-west-1'],
    ['https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q', 'cn-north-1'],
    ['https://sqs.ap-southeast-4.api.aws/123456789012/q', 'ap-southeast-4'],
    ['https://eu-central-1.queue.amazonaws.com/123456789012/q', 'eu-central-1'],
    ['https://queue.amazonaws.com/123456789012/q', 'us-east-1'],
    ['http://127.0.0.1:4566/000000000000/q', undefined],
    ['https://vpce-0a1b2c3d-4e5f6g7h.sqs.eu-west-2.vpce.amazonaws.com/123456789012/q', undefined],
  ])('reads the region of %s', (url, region) => {
    expect(regionFromQueueUrl(url)).toBe(region);
  });

  it('--region wins over the queue URL, for both clients', async () => {
    const { url } = queueWith(destinationRecord(logsEvent('s-1')));
    const fn = forwarder();
    const out = await run('--queue-url', url, '--function', fn, '--region', 'eu-central-1');
    expect(out.code).toBe(0);
    expect(new Set(sqs.requests.filter((r) => r.input.QueueUrl === url).map((r) => r.region))).toEqual(new Set(['eu-central-1']));
    expect(lambda.invocations.filter((i) => i.functionName === fn).map((i) => i.region)).toEqual(['eu-central-1']);
  });

  it('without a region in the URL, --region or AWS_REGION: one line naming --region, exit 2', async () => {
    const url = `${sqs.url}/123456789012/local-queue`;
    expectOneLine(await run('--queue-url', url, '--function', 'f'), 2, `redrive-dlq: error: no AWS region: ${url} names none; pass --region REGION (or set AWS_REGION).`);
  });
});

// ---------------------------------------------------------------- failures

describe('expected failures: one line on stderr, no stack trace', () => {
  it('an unknown queue', async () => {
    const url = 'https://sqs.eu-west-2.amazonaws.com/123456789012/no-such-queue';
    expectOneLine(await run('--queue-url', url, '--function', forwarder()), 1,
      `redrive-dlq: error: the queue ${url} does not exist in eu-west-2: check --queue-url (the stack output DeadLetterQueueUrl) and --region.`);
  });

  it('an unknown function: the message stays in the queue, visible', async () => {
    const { url, ids } = queueWith(destinationRecord(logsEvent('s-1')), destinationRecord(logsEvent('s-2')));
    const out = await run('--queue-url', url, '--function', 'no-such-function');
    expectOneLine(out, 1, 'redrive-dlq: error: the function "no-such-function" does not exist in eu-west-2: check --function (the stack output ForwarderFunctionName) and --region.');
    expect(sqs.peek(url).map((m) => [m.id, m.visible])).toEqual(ids.map((id) => [id, true]));
    // One try is enough to know: the run stopped instead of failing every message the same way.
    expect(lambda.invocations.filter((i) => i.functionName === 'no-such-function')).toHaveLength(1);
  });

  it('access denied by SQS', async () => {
    const { url } = queueWith(destinationRecord(logsEvent('s-1')));
    sqs.denied.add('ReceiveMessage');
    try {
      expectOneLine(await run('--queue-url', url, '--function', forwarder()), 1,
        /^redrive-dlq: error: access denied: User: arn:aws:iam::123456789012:user\/test is not authorized to perform: sqs:receivemessage on resource: .*$/);
    } finally {
      sqs.denied.clear();
    }
  });

  it('access denied on delete after a successful invocation: says the payload went through, keeps the message', async () => {
    const { url, ids } = queueWith(destinationRecord(logsEvent('s-1')), destinationRecord(logsEvent('s-2')));
    const fn = forwarder();
    sqs.denied.add('DeleteMessage');
    try {
      const out = await run('--queue-url', url, '--function', fn);
      expectOneLine(out, 1, new RegExp(`^redrive-dlq: error: access denied: .* sqs:deletemessage .* Message ${ids[0]} was re-driven but stays in the queue; re-driving it again is harmless\\.$`));
    } finally {
      sqs.denied.clear();
    }
    expect(lambda.eventsOf(fn).map(streamOf)).toEqual(['s-1']);
    expect(sqs.peek(url).map((m) => [m.id, m.visible])).toEqual(ids.map((id) => [id, true]));
  });

  it('access denied by Lambda: the message stays in the queue', async () => {
    const { url, ids } = queueWith(destinationRecord(logsEvent('s-1')));
    const out = await run('--queue-url', url, '--function', forwarder(() => denied()));
    expectOneLine(out, 1, /^redrive-dlq: error: access denied: User: .* is not authorized to perform: lambda:InvokeFunction on resource: .*$/);
    expect(sqs.peek(url).map((m) => [m.id, m.visible])).toEqual([[ids[0], true]]);
  });

  it('no credentials', async () => {
    const { url } = queueWith(destinationRecord(logsEvent('s-1')));
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    try {
      expectOneLine(await run('--queue-url', url, '--function', forwarder()), 1,
        'redrive-dlq: error: no AWS credentials: sign in (aws sso login) and set AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.');
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });

  it.each([
    ['no arguments', [], '--queue-url is required (the stack output DeadLetterQueueUrl).'],
    ['no function', ['--queue-url', 'https://sqs.eu-west-2.amazonaws.com/123456789012/q'], '--function is required (the stack output ForwarderFunctionName), unless --dry-run.'],
    ['a queue URL that is not one', ['--queue-url', 'moesif-dlq', '--function', 'f'], '--queue-url must be a queue URL such as https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, got "moesif-dlq".'],
    ['a zero --max', ['--queue-url', 'https://sqs.eu-west-2.amazonaws.com/1/q', '--function', 'f', '--max', '0'], '--max must be a whole number from 1, got "0".'],
    ['a bad --region', ['--queue-url', 'https://sqs.eu-west-2.amazonaws.com/1/q', '--function', 'f', '--region', 'Europe'], '--region must be a region name such as eu-west-2, got "Europe".'],
    ['an option without its value', ['--queue-url', '--function', 'f'], "option --queue-url needs a value."],
    ['an unknown option', ['--queue', 'x'], 'unknown option --queue.'],
    ['a positional argument', ['https://sqs.eu-west-2.amazonaws.com/1/q'], 'unexpected argument "https://sqs.eu-west-2.amazonaws.com/1/q": give every value after its option.'],
  ])('bad usage (%s): exit 2', async (_name, argv, problem) => {
    expectOneLine(await run(...argv), 2, `redrive-dlq: error: ${problem} Run with --help for usage.`);
  });
});

function closedPort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

// ---------------------------------------------------------------- help and pure parts

describe('--help', () => {
  it('prints the full usage to stdout and exits 0', async () => {
    const out = await run('--help');
    expect(out).toEqual({ code: 0, stdout: `${USAGE}\n`, stderr: '' });
    expect(lines(USAGE).length).toBeGreaterThan(20);
    for (const text of ['DeadLetterQueueUrl', 'ForwarderFunctionName', '--queue-url', '--function', '--region', '--max', '--dry-run', '--help', 'Exit status', 'deleted']) {
      expect(USAGE).toContain(text);
    }
    expect((await run('-h')).stdout).toBe(`${USAGE}\n`);
  });
});

describe('parseArgs and payloadFromRecord', () => {
  it('reads the options, with their defaults', () => {
    const url = 'https://sqs.eu-west-2.amazonaws.com/123456789012/q';
    expect(parseArgs(['--queue-url', url, '--function', 'f'])).toEqual({ queueUrl: url, functionName: 'f', region: undefined, max: Infinity, dryRun: false });
    expect(parseArgs([`--queue-url=${url}`, '--dry-run', '--max', '3', '--region', 'us-east-1'])).toEqual({ queueUrl: url, functionName: undefined, region: 'us-east-1', max: 3, dryRun: true });
    expect(parseArgs(['--help'])).toBe('help');
    expect(() => parseArgs([])).toThrow(UsageError);
  });

  it('takes the requestPayload of a destination record, or a bare event, and says what it holds', () => {
    const event = logsEvent('s-1', [T0 + 1000, T0]);
    const summary = { logGroup: GROUP, logStream: 's-1', events: 2, first: T0, last: T0 + 1000 };
    expect(payloadFromRecord(destinationRecord(event))).toEqual({ event, summary });
    expect(payloadFromRecord(JSON.stringify(event))).toEqual({ event, summary });
    expect(() => payloadFromRecord(undefined)).toThrow(InvalidRecordError);
    expect(() => payloadFromRecord('null')).toThrow(InvalidRecordError);
  });
});

// ---------------------------------------------------------------- the process edge

describe('as a child process (node --import tsx scripts/redrive-dlq.ts)', () => {
  it('re-drives with exit 0, and stops with one line and exit 1 when SQS is out of reach', async () => {
    const { url, ids } = queueWith(destinationRecord(logsEvent('s-1')));
    const fn = forwarder();
    const port = await closedPort();
    const [ok, offline] = await Promise.all([
      cli(['--queue-url', url, '--function', fn]),
      // In a process of its own: inside jest, node's network errors come from another realm and the SDK wraps them.
      cli(['--queue-url', 'https://sqs.eu-west-2.amazonaws.com/123456789012/q', '--function', fn], { AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${port}` }),
    ]);

    expect(ok).toEqual({ code: 0, stdout: `1 message in ${url}\nredriven ${ids[0]}: ${GROUP} s-1, 1 log event at ${iso(T0)}\nredriven 1, failed 0, left in queue 0\n`, stderr: '' });
    expect(sqs.peek(url)).toEqual([]);
    expectOneLine(offline, 1, `redrive-dlq: error: cannot reach SQS (ECONNREFUSED 127.0.0.1:${port}): check the network, --region and AWS_ENDPOINT_URL_SQS.`);
  });
});

// ---------------------------------------------------------------- the stand-ins themselves

describe('the local SQS and Lambda, through the real SDK clients', () => {
  const client = () => new SQSClient({ region: 'eu-west-2', useQueueUrlAsEndpoint: false });

  it('SQS: receive hides messages for their visibility timeout, batch delete, visibility change, attributes, long polling', async () => {
    const { url, ids } = queueWith('a', 'b', 'c');
    const c = client();
    const first = await c.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 2, VisibilityTimeout: 30, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
    expect(first.Messages?.map((m) => [m.MessageId, m.Body, m.Attributes])).toEqual([[ids[0], 'a', { ApproximateReceiveCount: '1' }], [ids[1], 'b', { ApproximateReceiveCount: '1' }]]);
    const counts = async () => (await c.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes;
    expect(await counts()).toMatchObject({ ApproximateNumberOfMessages: '1', ApproximateNumberOfMessagesNotVisible: '2', QueueArn: expect.stringMatching(/^arn:aws:sqs:eu-west-2:123456789012:moesif-dlq-/) });

    // Visible again once the timeout ran out, with a new receipt handle and a higher receive count.
    sqs.advance(31);
    const again = await c.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, AttributeNames: ['All'] }));
    expect(again.Messages?.map((m) => [m.MessageId, m.Attributes?.ApproximateReceiveCount])).toEqual([[ids[0], '2'], [ids[1], '2'], [ids[2], '1']]);
    expect(again.Messages?.[0].ReceiptHandle).not.toBe(first.Messages?.[0].ReceiptHandle);

    const [a, b, cc] = again.Messages!;
    const deleted = await c.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: '1', ReceiptHandle: a.ReceiptHandle }, { Id: '2', ReceiptHandle: 'bogus' }] }));
    expect(deleted.Successful?.map((e) => e.Id)).toEqual(['1']);
    expect(deleted.Failed).toEqual([expect.objectContaining({ Id: '2', Code: 'ReceiptHandleIsInvalid', SenderFault: true })]);
    // Visibility 0 hands a message back at once; a message no longer in flight cannot be changed.
    await c.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: b.ReceiptHandle, VisibilityTimeout: 0 }));
    expect(sqs.peek(url).map((m) => [m.id, m.visible])).toEqual([[ids[1], true], [ids[2], false]]);
    await expect(c.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: b.ReceiptHandle, VisibilityTimeout: 5 }))).rejects.toMatchObject({ name: 'MessageNotInflight' });
    await c.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: cc.ReceiptHandle, VisibilityTimeout: 5 }));
    sqs.advance(6);
    expect(sqs.peek(url).map((m) => m.visible)).toEqual([true, true]);

    // A long poll on an empty queue answers as soon as a message arrives.
    const empty = queueWith();
    const started = Date.now();
    setTimeout(() => sqs.send(empty.url, 'late'), 100);
    const polled = await c.send(new ReceiveMessageCommand({ QueueUrl: empty.url, WaitTimeSeconds: 5 }));
    expect(polled.Messages?.map((m) => m.Body)).toEqual(['late']);
    expect(Date.now() - started).toBeLessThan(2000);

    await expect(c.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 }))).rejects.toThrow('Value 11 for parameter MaxNumberOfMessages is invalid');
    // A client of the query protocol (form-encoded Action=...) is told this server speaks JSON 1.0 only.
    const form = await fetch(sqs.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `Action=ReceiveMessage&QueueUrl=${encodeURIComponent(url)}` });
    expect(form.status).toBe(400);
    c.destroy();
  });

  it('Lambda: Event and DryRun invocations, the log tail only when asked, a payload that is not JSON', async () => {
    const fn = `plain-${++serial}`;
    lambda.define(fn, () => returns({ ok: true }));
    const c = new LambdaClient({ region: 'eu-west-2' });
    const sync = await c.send(new InvokeCommand({ FunctionName: fn, Payload: Buffer.from('{}') }));
    expect({ status: sync.StatusCode, error: sync.FunctionError, log: sync.LogResult, payload: Buffer.from(sync.Payload!).toString() }).toEqual({ status: 200, error: undefined, log: undefined, payload: '{"ok":true}' });
    const tail = await c.send(new InvokeCommand({ FunctionName: `arn:aws:lambda:eu-west-2:123456789012:function:${fn}`, LogType: 'Tail', Payload: Buffer.from('{}') }));
    expect(Buffer.from(tail.LogResult!, 'base64').toString()).toMatch(/^START RequestId: /);
    expect((await c.send(new InvokeCommand({ FunctionName: fn, InvocationType: 'Event', Payload: Buffer.from('{}') }))).StatusCode).toBe(202);
    expect((await c.send(new InvokeCommand({ FunctionName: fn, InvocationType: 'DryRun' }))).StatusCode).toBe(204);
    await expect(c.send(new InvokeCommand({ FunctionName: fn, Payload: Buffer.from('{not json') }))).rejects.toMatchObject({ name: 'InvalidRequestContentException' });
    lambda.define(`${fn}-throws`, () => throws('Boom', 'no'));
    const thrown = await c.send(new InvokeCommand({ FunctionName: `${fn}-throws`, Payload: Buffer.from('{}') }));
    expect([thrown.StatusCode, thrown.FunctionError, JSON.parse(Buffer.from(thrown.Payload!).toString()).errorType]).toEqual([200, 'Unhandled', 'Boom']);
    c.destroy();
  });
});
