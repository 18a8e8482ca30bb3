import type { SQSEvent } from 'aws-lambda';
import type * as StageBump from '../../../lambda/stage-bump';
import { LocalApiGateway } from '../../support/apigateway-server';
import { useLocalAws } from '../../support/secrets-server';
import { LocalSqs } from '../../support/sqs-server';

const apigw = new LocalApiGateway();
const sqs = new LocalSqs();
const API = 'abc123';
const STAGE = '$default';
let QUEUE: string;

beforeAll(async () => {
  useLocalAws('APIGATEWAYV2', await apigw.start());
  useLocalAws('SQS', await sqs.start());
  QUEUE = `${sqs.url}/123456789012/stage-bump`;
  sqs.createQueue('stage-bump');
});
afterAll(() => Promise.all([apigw.stop(), sqs.stop()]));
beforeEach(() => {
  apigw.calls.GetStage = apigw.calls.UpdateStage = 0;
  apigw.failWith = undefined;
  sqs.sent.length = 0;
  sqs.failWith = undefined;
  apigw.putStage(API, STAGE, { moesifApp: 'prod', revocationVersion: '1000' });
});

function load(env: Record<string, string> = {}): typeof StageBump.handler {
  Object.assign(process.env, { API_ID: API, STAGE_NAME: STAGE, STAGE_BUMP_QUEUE_URL: QUEUE, ...env });
  let handler!: typeof StageBump.handler;
  jest.isolateModules(() => {
    handler = require('../../../lambda/stage-bump').handler;
    require('../../../lambda/shared/log').logSink.write = () => undefined;
  });
  return handler;
}

function batch(...bodies: string[]): SQSEvent {
  return { Records: bodies.map((body, i) => ({ messageId: `m-${i}`, body })) } as SQSEvent;
}
const due = (ms: number) => JSON.stringify({ due: ms });

describe('stage-bump handler', () => {
  it('bumps once for a batch of due revocations, keeping the other stage variables', async () => {
    const handler = load();
    const before = Date.now();
    const res = await handler(batch(due(before - 3000), due(before - 1000), due(before - 2000), due(before - 1000)));
    expect(res).toEqual({ batchItemFailures: [] });
    expect(apigw.calls).toEqual({ GetStage: 1, UpdateStage: 1 });
    const vars = apigw.variables(API, STAGE)!;
    expect(vars.moesifApp).toBe('prod');
    expect(Number(vars.revocationVersion)).toBeGreaterThanOrEqual(before);
    expect(Number(vars.revocationVersion)).toBeLessThanOrEqual(Date.now());
  });

  it('skips the update when the stage was bumped at or after the latest due time (duplicates are harmless)', async () => {
    const handler = load();
    const at = Date.now() - 5000;
    apigw.putStage(API, STAGE, { revocationVersion: String(at) });
    await expect(handler(batch(due(at), due(at - 10)))).resolves.toEqual({ batchItemFailures: [] });
    expect(apigw.calls).toEqual({ GetStage: 1, UpdateStage: 0 });
    // The latest due time of the batch decides.
    await handler(batch(due(at - 10), due(at + 1)));
    expect(apigw.calls).toEqual({ GetStage: 2, UpdateStage: 1 });
    await handler(batch(due(at + 1)));
    expect(apigw.calls).toEqual({ GetStage: 3, UpdateStage: 1 });
  });

  it('sends a message that is not due yet back to the queue with the remaining delay (at most 15 minutes)', async () => {
    const handler = load();
    const soon = Date.now() + 120_000;
    const later = Date.now() + 3_600_000;
    await expect(handler(batch(due(soon), due(later)))).resolves.toEqual({ batchItemFailures: [] });
    expect(apigw.calls).toEqual({ GetStage: 0, UpdateStage: 0 });
    expect(sqs.sent.map((m) => [JSON.parse(m.body).due, m.delaySeconds, m.queueUrl])).toEqual([
      [soon, expect.any(Number), QUEUE],
      [later, 900, QUEUE],
    ]);
    expect(sqs.sent[0].delaySeconds).toBeGreaterThanOrEqual(119);
    expect(sqs.sent[0].delaySeconds).toBeLessThanOrEqual(120);
  });

  it('reports only the messages whose work failed, so SQS retries those', async () => {
    const handler = load();
    apigw.failWith = 500;
    const res = await handler(batch(due(Date.now() - 1), due(Date.now() + 60_000), due(Date.now() - 2)));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'm-0' }, { itemIdentifier: 'm-2' }]);
    apigw.failWith = undefined;
    sqs.failWith = 500;
    const deferred = await handler(batch(due(Date.now() + 60_000), due(Date.now() - 1)));
    expect(deferred.batchItemFailures).toEqual([{ itemIdentifier: 'm-0' }]);
  });

  it('drops unreadable messages instead of retrying them forever', async () => {
    const handler = load();
    await expect(handler(batch('not json', '{"due":"soon"}', '{}'))).resolves.toEqual({ batchItemFailures: [] });
    expect(apigw.calls).toEqual({ GetStage: 0, UpdateStage: 0 });
  });

  it('retries every message when its environment is broken', async () => {
    delete process.env.API_ID;
    let handler!: typeof StageBump.handler;
    jest.isolateModules(() => {
      handler = require('../../../lambda/stage-bump').handler;
      require('../../../lambda/shared/log').logSink.write = () => undefined;
    });
    await expect(handler(batch(due(1), due(2)))).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: 'm-0' }, { itemIdentifier: 'm-1' }] });
  });
});
