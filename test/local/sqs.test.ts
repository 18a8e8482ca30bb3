import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { LocalAwsEndpoint } from '../../local/aws-endpoint';
import { LocalLambda } from '../../local/functions';
import { LocalSecretsManager } from '../../local/secrets-manager';
import { md5OfAttributes } from '../../local/sqs/digest';
import type { QueueSettings } from '../../local/sqs/queue';
import { LocalSqs } from '../../local/sqs/service';
import { StateFolder } from '../../local/state';

const dir = mkdtempSync(path.join(tmpdir(), 'local-sqs-'));
const printed: string[] = [];
const sqs = new LocalSqs((l) => printed.push(l));
const lambda = new LocalLambda(dir, () => undefined);
const endpoint = new LocalAwsEndpoint({ secrets: new LocalSecretsManager(new StateFolder(dir), 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:'), sqs, lambda, apis: () => [], accessKeyId: 'AKIALOCALTEST', print: (l) => printed.push(l) });
// No endpoint setting: the SDK must reach the local queues through their URLs alone, as the functions' clients do.
const client = new SQSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIALOCALTEST', secretAccessKey: 'x' }, maxAttempts: 1 });

function queue(name: string, extra: Partial<QueueSettings> = {}): string {
  const url = `${endpoint.url}/123456789012/${name}`;
  sqs.createQueue({
    name,
    url,
    arn: `arn:aws:sqs:eu-west-1:123456789012:${name}`,
    label: name,
    visibilityTimeoutSeconds: 30,
    delaySeconds: 0,
    retentionSeconds: 345_600,
    receiveWaitSeconds: 0,
    maxMessageBytes: 262_144,
    fifo: name.endsWith('.fifo'),
    contentBasedDeduplication: false,
    ...extra,
  });
  return url;
}

beforeAll(() => endpoint.start());
afterAll(async () => {
  client.destroy();
  sqs.stop();
  await endpoint.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the local SQS, through the real SDK client (AWS JSON 1.0)', () => {
  it('keeps a delayed message invisible until its DelaySeconds have passed, then a long poll returns it', async () => {
    const url = queue('delayed');
    const sent = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"due":1}', DelaySeconds: 1, MessageAttributes: { kind: { DataType: 'String', StringValue: 'bump' } } }));
    expect(sent.MD5OfMessageAttributes).toBe(md5OfAttributes({ kind: { DataType: 'String', StringValue: 'bump' } }));
    expect((await client.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages).toBeUndefined();
    expect((await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesDelayed: '1' });

    const started = Date.now();
    const got = await client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] }));
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(500);
    expect(waited).toBeLessThan(2000);
    expect(got.Messages).toEqual([
      expect.objectContaining({ MessageId: sent.MessageId, Body: '{"due":1}', Attributes: expect.objectContaining({ ApproximateReceiveCount: '1', SenderId: 'AKIALOCALTEST' }), MessageAttributes: { kind: { DataType: 'String', StringValue: 'bump' } } }),
    ]);
  });

  it('gives a received message a new receipt handle each time; only the latest deletes it', async () => {
    const url = queue('receipts');
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'a' }));
    const first = (await client.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 30 }))).Messages![0];
    expect((await client.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages).toBeUndefined();
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 0 }));
    const second = (await client.send(new ReceiveMessageCommand({ QueueUrl: url, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }))).Messages![0];
    expect(second).toMatchObject({ MessageId: first.MessageId, Attributes: { ApproximateReceiveCount: '2' } });
    expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);

    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle }));
    expect(sqs.byUrl(url).messages).toHaveLength(1);
    const deleted = await client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'x', ReceiptHandle: second.ReceiptHandle }, { Id: 'bad', ReceiptHandle: 'not-a-handle' }] }));
    expect(deleted.Successful).toEqual([{ Id: 'x' }]);
    expect(deleted.Failed).toEqual([expect.objectContaining({ Id: 'bad', Code: 'ReceiptHandleIsInvalid', SenderFault: true })]);
    expect(sqs.byUrl(url).messages).toHaveLength(0);
  });

  it('moves a message to the dead-letter queue once it was received maxReceiveCount times', async () => {
    const dlq = queue('dead');
    const url = queue('work', { redrive: { deadLetterTargetArn: 'arn:aws:sqs:eu-west-1:123456789012:dead', maxReceiveCount: 2 } });
    const { MessageId } = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    for (let i = 0; i < 2; i++) expect((await client.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 0 }))).Messages).toHaveLength(1);
    expect((await client.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages).toBeUndefined();
    const moved = await client.send(new ReceiveMessageCommand({ QueueUrl: dlq, MessageSystemAttributeNames: ['All'] }));
    expect(moved.Messages).toEqual([expect.objectContaining({ MessageId, Body: 'poison', Attributes: expect.objectContaining({ DeadLetterQueueSourceArn: 'arn:aws:sqs:eu-west-1:123456789012:work' }) })]);
    expect(printed).toContain(`sqs: message ${MessageId} moved from work to dead after 2 receives`);
  });

  it('deduplicates a FIFO queue and holds a message group while one of its messages is in flight', async () => {
    const url = queue('orders.fifo');
    const a = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'a', MessageGroupId: 'g', MessageDeduplicationId: '1' }));
    const again = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'a', MessageGroupId: 'g', MessageDeduplicationId: '1' }));
    expect(again.MessageId).toBe(a.MessageId);
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'b', MessageGroupId: 'g', MessageDeduplicationId: '2' }));
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'c', MessageGroupId: 'h', MessageDeduplicationId: '3' }));
    const first = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 1 }));
    expect(first.Messages!.map((m) => m.Body)).toEqual(['a']);
    // Group g is held while "a" is in flight; h is not.
    expect((await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }))).Messages!.map((m) => m.Body)).toEqual(['c']);
  });

  it('finds queues by name, and names a queue it does not have with the SDK error class', async () => {
    const url = queue('named');
    // A call without a QueueUrl goes to the configured endpoint (AWS_ENDPOINT_URL_SQS in a function).
    const configured = new SQSClient({ endpoint: endpoint.url, region: 'eu-west-1', credentials: { accessKeyId: 'AKIALOCALTEST', secretAccessKey: 'x' }, maxAttempts: 1 });
    expect((await configured.send(new GetQueueUrlCommand({ QueueName: 'named' }))).QueueUrl).toBe(url);
    configured.destroy();
    const missing = client.send(new SendMessageCommand({ QueueUrl: `${endpoint.url}/123456789012/nope`, MessageBody: 'x' }));
    await expect(missing).rejects.toBeInstanceOf(QueueDoesNotExist);
    await expect(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', DelaySeconds: 901 }))).rejects.toThrow(/DelaySeconds/);
  });
});

describe('md5OfAttributes', () => {
  it('depends on names, types and values, not on the order attributes are given in', () => {
    const a = md5OfAttributes({ x: { DataType: 'String', StringValue: '1' }, y: { DataType: 'Number', StringValue: '2' } });
    expect(md5OfAttributes({ y: { DataType: 'Number', StringValue: '2' }, x: { DataType: 'String', StringValue: '1' } })).toBe(a);
    expect(md5OfAttributes({ x: { DataType: 'String', StringValue: '1' }, y: { DataType: 'String', StringValue: '2' } })).not.toBe(a);
    expect(md5OfAttributes({})).toBeUndefined();
  });
});
