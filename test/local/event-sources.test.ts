import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { batchFailures, LocalEventSources } from '../../local/event-sources';
import { LocalLambda } from '../../local/functions';
import type { QueueSettings } from '../../local/sqs/queue';
import { LocalSqs } from '../../local/sqs/service';

const dir = mkdtempSync(path.join(tmpdir(), 'local-esm-'));
// Logs each batch; throws on a "throw" body; reports "fail..." bodies as failed items.
writeFileSync(
  path.join(dir, 'index.mjs'),
  `export const handler = async (event) => {
     console.log(JSON.stringify({ at: Date.now(), records: event.Records }));
     if (event.Records.some((r) => r.body === 'throw')) throw new Error('boom');
     return { batchItemFailures: event.Records.filter((r) => r.body.startsWith('fail')).map((r) => ({ itemIdentifier: r.messageId })) };
   };`,
);

interface Batch {
  fn: string;
  at: number;
  records: { messageId: string; body: string; attributes: Record<string, string>; [k: string]: unknown }[];
}
const batches: Batch[] = [];
const printed: string[] = [];
const lambda = new LocalLambda(dir, (label, line) => {
  if (line.startsWith('{"at"')) batches.push({ fn: label, ...JSON.parse(line) });
});
for (const name of ['partial', 'whole', 'window']) {
  lambda.register({ logicalId: name, label: name, name, arn: `arn:aws:lambda:eu-west-1:123456789012:function:${name}`, codeDir: dir, handler: 'index.handler', environment: {}, timeoutSeconds: 5, memoryMb: 128, logGroupName: `/aws/lambda/${name}` });
}
const sqs = new LocalSqs((l) => printed.push(l));
const sources = new LocalEventSources(lambda, (l) => printed.push(l));

function queue(name: string, extra: Partial<QueueSettings> = {}) {
  return sqs.createQueue({
    name,
    url: `http://127.0.0.1:1/123456789012/${name}`,
    arn: `arn:aws:sqs:eu-west-1:123456789012:${name}`,
    label: name,
    visibilityTimeoutSeconds: 1,
    delaySeconds: 0,
    retentionSeconds: 345_600,
    receiveWaitSeconds: 0,
    maxMessageBytes: 262_144,
    fifo: false,
    contentBasedDeduplication: false,
    ...extra,
  });
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; printed:\n${printed.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(() => lambda.warm());
afterAll(async () => {
  await sources.stop();
  sqs.stop();
  await lambda.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('SQS event source mappings', () => {
  it('invokes with a full batch at once, and with the rest when the batching window ends, in the SQS event shape', async () => {
    const q = queue('window');
    sources.addSqs({ id: 'm-window', queue: q, functionRef: 'window', functionLabel: 'window', batchSize: 2, batchingWindowSeconds: 1, reportBatchItemFailures: false });
    const sentAt = Date.now();
    for (const body of ['one', 'two', 'three']) q.send({ body, senderId: 'AKIALOCALTEST' });
    const [full, rest] = await until('two batches', () => {
      const mine = batches.filter((b) => b.fn === 'window');
      return mine.length >= 2 ? mine : undefined;
    });
    expect(full.records.map((r) => r.body)).toEqual(['one', 'two']);
    expect(full.at - sentAt).toBeLessThan(900);
    expect(rest.records.map((r) => r.body)).toEqual(['three']);
    expect(rest.at - sentAt).toBeGreaterThanOrEqual(950);
    expect(full.records[0]).toEqual({
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      body: 'one',
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: expect.stringMatching(/^\d{13}$/), SenderId: 'AKIALOCALTEST', ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/) },
      messageAttributes: {},
      md5OfBody: 'f97c5d29941bfb1b2fdab0874906ab82',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:window',
      awsRegion: 'eu-west-1',
    });
    await until('the queue to empty', () => q.messages.length === 0);
  });

  it('deletes what succeeded, retries the items ReportBatchItemFailures names after the visibility timeout, then redrives them', async () => {
    const dlq = queue('partial-dlq');
    const q = queue('partial', { redrive: { deadLetterTargetArn: dlq.settings.arn, maxReceiveCount: 2 } });
    sources.addSqs({ id: 'm-partial', queue: q, functionRef: 'partial', functionLabel: 'partial', batchSize: 10, batchingWindowSeconds: 0, reportBatchItemFailures: true });
    q.send({ body: 'ok', senderId: 'x' });
    q.send({ body: 'fail-1', senderId: 'x' });
    await until('the failed item in the dead-letter queue', () => dlq.messages.length === 1);
    const mine = batches.filter((b) => b.fn === 'partial');
    expect(mine.map((b) => b.records.map((r) => `${r.body}#${r.attributes.ApproximateReceiveCount}`))).toEqual([['ok#1', 'fail-1#1'], ['fail-1#2']]);
    // The retry waited for the queue's visibility timeout (1 s).
    expect(mine[1].at - mine[0].at).toBeGreaterThanOrEqual(950);
    expect(dlq.messages[0]).toMatchObject({ body: 'fail-1', deadLetterSourceArn: q.settings.arn });
    expect(q.messages).toHaveLength(0);
  });

  it('retries a whole batch whose invocation failed, and ignores batchItemFailures unless ReportBatchItemFailures is set', async () => {
    const q = queue('whole');
    sources.addSqs({ id: 'm-whole', queue: q, functionRef: 'whole', functionLabel: 'whole', batchSize: 10, batchingWindowSeconds: 0, reportBatchItemFailures: false });
    q.send({ body: 'throw', senderId: 'x' });
    await until('the failed invocation', () => printed.find((l) => l.startsWith('sqs: whole → whole: 1 message failed (Error: boom)')));
    expect(q.messages).toEqual([expect.objectContaining({ body: 'throw', receiveCount: 1 })]);
    q.purge();

    q.send({ body: 'fail-but-deleted', senderId: 'x' });
    await until('the batch', () => batches.find((b) => b.records[0].body === 'fail-but-deleted'));
    await until('the queue to empty', () => q.messages.length === 0);
  });
});

describe('batchFailures (ReportBatchItemFailures answers)', () => {
  const ids = ['a', 'b'];
  it('reads an empty or missing list as complete success', () => {
    for (const answer of [undefined, null, {}, { batchItemFailures: [] }, { batchItemFailures: null }]) expect(batchFailures(answer, ids)).toEqual([]);
  });
  it('names the failed items', () => {
    expect(batchFailures({ batchItemFailures: [{ itemIdentifier: 'b' }] }, ids)).toEqual(['b']);
  });
  it('fails the whole batch on an empty, missing or unknown itemIdentifier', () => {
    for (const item of [{ itemIdentifier: '' }, { itemIdentifier: null }, { itemId: 'a' }, { itemIdentifier: 'c' }]) expect(batchFailures({ batchItemFailures: [item] }, ids)).toBe('all');
  });
});
