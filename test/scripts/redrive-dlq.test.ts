import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { logSink } from '../../lambda/shared/log';
import { mockClient } from 'aws-sdk-client-mock';
import { InvalidRecordError, parseArgs, payloadFromRecord, redrive, UsageError } from '../../scripts/redrive-dlq';

const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/moesif-forwarder-dlq';
const FUNCTION = 'jwt-api-MoesifForwarder';
const payload = (data: string) => ({ awslogs: { data } });
// The SDK types a response payload as its blob adapter; the script only reads the bytes.
const blob = (text: string) => Buffer.from(text) as unknown as InvokeCommandOutput['Payload'];

/** The invocation record Lambda's on-failure destination sends to SQS. */
function destinationRecord(data: string): string {
  return JSON.stringify({
    version: '1.0',
    timestamp: '2026-11-23T01:05:00.000Z',
    requestContext: { requestId: 'e4b46cbf-b738-4a4b-8880-a18cdf61200e', functionArn: `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: 3 },
    requestPayload: payload(data),
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: 'MoesifDeliveryError', errorMessage: 'Moesif did not accept batch 1 of 1' },
  });
}

describe('payloadFromRecord', () => {
  it('returns the requestPayload of an on-failure destination record', () => {
    expect(payloadFromRecord(destinationRecord('H4sIAAAA'))).toEqual(payload('H4sIAAAA'));
  });

  it('accepts the bare event a plain Lambda dead-letter queue holds', () => {
    expect(payloadFromRecord(JSON.stringify(payload('H4sIBBBB')))).toEqual(payload('H4sIBBBB'));
  });

  it.each([
    ['a body that is not JSON', 'not json'],
    ['an empty body', undefined],
    ['a record without awslogs.data', JSON.stringify({ requestPayload: { foo: 1 } })],
    ['a record whose data is empty', JSON.stringify({ requestPayload: { awslogs: { data: '' } } })],
    ['JSON null', 'null'],
  ])('refuses %s', (_name, body) => {
    expect(() => payloadFromRecord(body)).toThrow(InvalidRecordError);
  });
});

describe('parseArgs', () => {
  it('reads the queue, the function and the limit', () => {
    expect(parseArgs(['--queue-url', QUEUE, '--function', FUNCTION, '--max', '25'])).toEqual({ queueUrl: QUEUE, functionName: FUNCTION, max: 25 });
    expect(parseArgs(['--function', FUNCTION, '--queue-url', QUEUE]).max).toBe(Infinity);
  });

  it.each([
    ['no queue', ['--function', FUNCTION], '--queue-url is required.'],
    ['no function', ['--queue-url', QUEUE], '--function is required.'],
    ['a zero limit', ['--queue-url', QUEUE, '--function', FUNCTION, '--max', '0'], '--max must be a positive whole number, got "0".'],
    ['a flag without its value', ['--queue-url', '--function', FUNCTION], '--queue-url needs a value.'],
    ['an unknown flag', ['--queue', QUEUE], 'Unknown argument "--queue".'],
  ])('refuses %s with a usage message', (_name, argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe('redrive', () => {
  const sqs = mockClient(SQSClient);
  const lambda = mockClient(LambdaClient);
  beforeEach(() => {
    sqs.reset();
    lambda.reset();
    jest.spyOn(logSink, 'write').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  const message = (id: string, body: string) => ({ MessageId: id, ReceiptHandle: `rh-${id}`, Body: body });
  const run = (max = Infinity) => redrive({ sqs: new SQSClient({}), lambda: new LambdaClient({}), queueUrl: QUEUE, functionName: FUNCTION, max });

  it('re-invokes the forwarder synchronously with each payload and deletes only the messages that succeeded', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message('m1', destinationRecord('AAAA'))] })
      .resolvesOnce({ Messages: [message('m2', destinationRecord('BBBB'))] })
      .resolvesOnce({ Messages: [message('m3', 'garbage')] })
      .resolvesOnce({ Messages: [message('m4', destinationRecord('DDDD'))] })
      .resolves({ Messages: [] });
    lambda
      .on(InvokeCommand)
      .resolvesOnce({ StatusCode: 200, Payload: blob('{"received":1,"sent":1,"skipped":0}') })
      .resolvesOnce({ StatusCode: 200, FunctionError: 'Unhandled', Payload: blob('{"errorType":"MoesifDeliveryError"}') })
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));

    expect(await run()).toEqual({ received: 4, redriven: 1, failed: 2, invalid: 1 });

    const invokes = lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input);
    expect(invokes.map((i) => [i.FunctionName, i.InvocationType, JSON.parse(Buffer.from(i.Payload as Uint8Array).toString())])).toEqual([
      [FUNCTION, 'RequestResponse', payload('AAAA')],
      [FUNCTION, 'RequestResponse', payload('BBBB')],
      [FUNCTION, 'RequestResponse', payload('DDDD')],
    ]);
    expect(sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input)).toEqual([{ QueueUrl: QUEUE, ReceiptHandle: 'rh-m1' }]);
    // Each receive hides its message long enough for a full-length invocation.
    expect(sqs.commandCalls(ReceiveMessageCommand)[0].args[0].input).toMatchObject({ QueueUrl: QUEUE, MaxNumberOfMessages: 1, VisibilityTimeout: 900 });
  });

  it('stops at --max messages', async () => {
    sqs.on(ReceiveMessageCommand).callsFake(() => ({ Messages: [message(`m${Math.random()}`, destinationRecord('AAAA'))] }));
    lambda.on(InvokeCommand).resolves({ StatusCode: 200 });

    expect(await run(3)).toEqual({ received: 3, redriven: 3, failed: 0, invalid: 0 });
    expect(sqs.commandCalls(ReceiveMessageCommand)).toHaveLength(3);
    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(3);
  });

  it('stops when a message it already tried comes back, instead of looping on it', async () => {
    sqs.on(ReceiveMessageCommand).resolves({ Messages: [message('same', destinationRecord('AAAA'))] });
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: 'Unhandled' });

    expect(await run()).toEqual({ received: 1, redriven: 0, failed: 1, invalid: 0 });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0);
  });

  it('does nothing on an empty queue', async () => {
    sqs.on(ReceiveMessageCommand).resolves({});
    expect(await run()).toEqual({ received: 0, redriven: 0, failed: 0, invalid: 0 });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });
});
