import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { decodeJwt } from 'jose';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { generateJwk } from '../../../lambda/jwt/jwk-set';
import type * as KeyAdmin from '../../../lambda/key-admin';
import { logSink } from '../../../lambda/shared/log';
import { closedPortUrl, LocalDynamoDb } from '../../support/dynamodb';
import { issueEvent } from '../../support/events';
import { TEST_ISSUER } from '../../support/functions';
import { LocalSecretsManager, useLocalAws } from '../../support/secrets-server';
import { LocalSqs } from '../../support/sqs-server';

const db = new LocalDynamoDb();
const sm = new LocalSecretsManager();
const sqs = new LocalSqs();
const OTHER_ROLE = 'arn:aws:sts::123456789012:assumed-role/intern/s1';
let lines: string[] = [];
/** The SDK sends to the queue URL's host (useQueueUrlAsEndpoint), so the URL names the local SQS. */
let QUEUE: string;

beforeAll(async () => {
  await db.start();
  useLocalAws('SECRETS_MANAGER', await sm.start());
  useLocalAws('SQS', await sqs.start());
  QUEUE = `${sqs.url}/123456789012/stage-bump`;
  sqs.createQueue('stage-bump');
});
afterAll(async () => {
  await Promise.all([db.stop(), sm.stop(), sqs.stop()]);
});
beforeEach(() => {
  lines = [];
  sqs.sent.length = 0;
  sqs.failWith = undefined;
});

/** A fresh copy of the key-admin function (empty module caches) on a fresh table, with the stack's environment. */
async function load(env: Record<string, string> = {}) {
  const stored = await sm.putKeySet(`s-${Math.random()}`, JSON.stringify({ keys: [await generateJwk('ES256')] }), 'ES256');
  const table = await db.createTable();
  for (const name of ['KEY_MINTER_ROLE_ARNS', 'REVOCATION_ENFORCED', 'STAGE_BUMP_QUEUE_URL', 'REVOCATION_REFRESH_SECONDS']) delete process.env[name];
  Object.assign(process.env, {
    ...stored.env,
    JWT_ALGORITHM: 'ES256',
    JWT_ISSUER: TEST_ISSUER,
    JWT_AUDIENCE: 'jwt-api',
    JWT_USER_ID_FIELD: 'sub',
    JWT_COMPANY_ID_FIELD: 'org_id',
    JWT_EXPIRES_IN: '30d',
    KEY_REGISTRY_TABLE: table,
    AWS_ENDPOINT_URL_DYNAMODB: db.url,
    STAGE_BUMP_QUEUE_URL: QUEUE,
    KEY_MINTER_ROLE_ARNS: 'arn:aws:iam::123456789012:role/portal-backend',
    ...env,
  });
  let handler!: typeof KeyAdmin.handler;
  jest.isolateModules(() => {
    handler = require('../../../lambda/key-admin').handler;
    // The fresh module graph has its own log sink: capture its lines.
    (require('../../../lambda/shared/log').logSink as typeof logSink).write = (_level, line) => void lines.push(line);
  });
  const call = async (event: APIGatewayProxyEventV2) => {
    const res = await handler(event);
    return { status: res.statusCode, body: JSON.parse(res.body ?? 'null'), headers: res.headers };
  };
  return { call, table };
}

/** An admin route's event as API Gateway sends it after IAM authorization. */
function route(routeKey: string, options: { body?: unknown; keyId?: string; query?: Record<string, string>; caller?: string } = {}): APIGatewayProxyEventV2 {
  const base = issueEvent(options.body ?? '', options.caller);
  return {
    ...base,
    routeKey,
    body: options.body === undefined ? undefined : base.body,
    pathParameters: options.keyId === undefined ? undefined : { keyId: options.keyId },
    queryStringParameters: options.query,
    requestContext: { ...base.requestContext, routeKey },
  } as APIGatewayProxyEventV2;
}

describe('POST /keys', () => {
  it('mints (as issue-key did), records the key with its name, and never logs or stores the token', async () => {
    const { call, table } = await load();
    const res = await call(route('POST /keys', { body: { user_id: 'u-1', company_id: 'c-1', expires_in: '1h', name: 'billing export' } }));
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['apikey', 'expires_at', 'key_id', 'token_type']);
    expect(decodeJwt(res.body.apikey)).toMatchObject({ sub: 'u-1', org_id: 'c-1', jti: res.body.key_id });
    const got = await call(route('GET /keys/{keyId}', { keyId: res.body.key_id }));
    expect(got).toMatchObject({ status: 200, body: { key_id: res.body.key_id, name: 'billing export', status: 'active', expires_at: res.body.expires_at } });
    const items = JSON.stringify((await db.client.send(new ScanCommand({ TableName: table }))).Items);
    expect(items).not.toContain(res.body.apikey.split('.')[2]);
    expect(lines.join('\n')).not.toContain(res.body.apikey.split('.')[2]);
  });

  it.each([
    ['a name over 128 characters', { name: 'x'.repeat(129) }],
    ['a name with a quote', { name: 'a"b' }],
    ['a numeric name', { name: 7 }],
  ])('answers 400 naming "name" for %s', async (_case, extra) => {
    const { call } = await load();
    const res = await call(route('POST /keys', { body: { user_id: 'u', company_id: 'c', ...extra } }));
    expect(res).toMatchObject({ status: 400, body: { error: 'invalid_request', field: 'name' } });
  });

  it('answers 503 and returns no key when the table cannot be written', async () => {
    const { call } = await load({ AWS_ENDPOINT_URL_DYNAMODB: await closedPortUrl() });
    const res = await call(route('POST /keys', { body: { user_id: 'u', company_id: 'c' } }));
    expect(res.status).toBe(503);
    expect(res.headers).toMatchObject({ 'retry-after': '5' });
    expect(res.body).toEqual({ error: 'unavailable', message: 'The key registry cannot be reached right now; retry later.' });
    expect(lines.some((l) => l.includes('eyJ'))).toBe(false);
  });

  it('answers 503 when the table does not exist', async () => {
    const { call } = await load({ KEY_REGISTRY_TABLE: 'no-such-table' });
    const res = await call(route('POST /keys', { body: { user_id: 'u', company_id: 'c' } }));
    expect(res.status).toBe(503);
    expect(res.body.apikey).toBeUndefined();
  });
});

describe('admin routes', () => {
  it('refuse callers outside minterRoleArns on every route', async () => {
    const { call } = await load();
    const routes = ['POST /keys', 'GET /keys', 'GET /keys/{keyId}', 'DELETE /keys/{keyId}', 'POST /keys/{keyId}/roll', 'POST /revocations'];
    for (const routeKey of routes) {
      await expect(call(route(routeKey, { keyId: 'k', body: {}, query: { user_id: 'u' }, caller: OTHER_ROLE }))).resolves.toMatchObject({ status: 403, body: { error: 'forbidden' } });
    }
  });

  it('list by user and by company, paginated, and validate the query', async () => {
    const { call } = await load();
    for (const user of ['u-1', 'u-1', 'u-1', 'u-2']) await call(route('POST /keys', { body: { user_id: user, company_id: 'c-1' } }));
    const page = await call(route('GET /keys', { query: { user_id: 'u-1', limit: '2' } }));
    expect(page.status).toBe(200);
    expect(page.body.keys).toHaveLength(2);
    const rest = await call(route('GET /keys', { query: { user_id: 'u-1', limit: '2', next: page.body.next } }));
    expect(rest.body.keys.length + page.body.keys.length).toBe(3);
    expect((await call(route('GET /keys', { query: { company_id: 'c-1' } }))).body.keys).toHaveLength(4);
    const bad: [Record<string, string> | undefined, string][] = [
      [undefined, 'user_id'],
      [{ user_id: 'u', company_id: 'c' }, 'company_id'],
      [{ user_id: 'u', limit: '0' }, 'limit'],
      [{ user_id: 'u', limit: '101' }, 'limit'],
      [{ user_id: 'u', limit: '1.5' }, 'limit'],
      [{ user_id: 'u', status: 'lost' }, 'status'],
      [{ user_id: 'u-1', next: 'eyJwayI6Ik' }, 'next'],
    ];
    for (const [query, field] of bad) {
      await expect(call(route('GET /keys', { query }))).resolves.toMatchObject({ status: 400, body: { error: 'invalid_request', field } });
    }
  });

  it('GET and DELETE one key: 200, idempotent revocation with revoked_at, 404 for an unknown id', async () => {
    const { call } = await load({ REVOCATION_REFRESH_SECONDS: '7' });
    const minted = (await call(route('POST /keys', { body: { user_id: 'u-1', company_id: 'c-1' } }))).body;
    const before = Date.now();
    const first = await call(route('DELETE /keys/{keyId}', { keyId: minted.key_id }));
    expect(first).toMatchObject({ status: 200, body: { key_id: minted.key_id, status: 'revoked', revoked_at: expect.any(String) } });
    const second = await call(route('DELETE /keys/{keyId}', { keyId: minted.key_id }));
    expect(second).toMatchObject({ status: 200, body: { revoked_at: first.body.revoked_at } });
    expect(await call(route('DELETE /keys/{keyId}', { keyId: 'nope' }))).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await call(route('GET /keys/{keyId}', { keyId: 'nope' }))).toMatchObject({ status: 404, body: { error: 'not_found' } });
    // One cache invalidation, for the one change, delayed by the refresh interval plus the margin.
    expect(sqs.sent).toHaveLength(1);
    expect(sqs.sent[0]).toMatchObject({ queueUrl: QUEUE, delaySeconds: 10 });
    const { due } = JSON.parse(sqs.sent[0].body);
    expect(due).toBe(Date.parse(first.body.revoked_at) + 10_000);
    expect(due).toBeGreaterThanOrEqual(before + 10_000);
  });

  it('roll answers 201 with the new key and replaces; a grace delays the old key’s revocation', async () => {
    const { call } = await load();
    const old = (await call(route('POST /keys', { body: { user_id: 'u-1', company_id: 'c-1', name: 'n' } }))).body;
    const rolled = await call(route('POST /keys/{keyId}/roll', { keyId: old.key_id, body: { grace: '1h' } }));
    expect(rolled.status).toBe(201);
    expect(Object.keys(rolled.body).sort()).toEqual(['apikey', 'expires_at', 'key_id', 'replaces', 'token_type']);
    expect(rolled.body.replaces).toBe(old.key_id);
    const oldNow = (await call(route('GET /keys/{keyId}', { keyId: old.key_id }))).body;
    expect(oldNow).toMatchObject({ status: 'active', replaced_by: rolled.body.key_id });
    expect(Date.parse(oldNow.revoked_at) - Date.now()).toBeGreaterThan(3_590_000);
    // The invalidation is due after the grace; SQS delays at most 15 minutes (stage-bump re-sends).
    expect(sqs.sent[0].delaySeconds).toBe(900);
    expect(JSON.parse(sqs.sent[0].body).due).toBe(Date.parse(oldNow.revoked_at) + 8000);
    expect(await call(route('POST /keys/{keyId}/roll', { keyId: old.key_id }))).toMatchObject({ status: 409, body: { error: 'conflict' } });
    const again = await call(route('POST /keys/{keyId}/roll', { keyId: rolled.body.key_id }));
    expect(again.status).toBe(201);
    expect((await call(route('GET /keys/{keyId}', { keyId: rolled.body.key_id }))).body.status).toBe('revoked');
  });

  it.each([
    [{ grace: '31d' }, 'grace'],
    [{ grace: -1 }, 'grace'],
    [{ grace: 'later' }, 'grace'],
    ['[]', 'body'],
  ])('roll answers 400 for the body %j', async (body, field) => {
    const { call } = await load();
    const old = (await call(route('POST /keys', { body: { user_id: 'u', company_id: 'c' } }))).body;
    await expect(call(route('POST /keys/{keyId}/roll', { keyId: old.key_id, body }))).resolves.toMatchObject({ status: 400, body: { field } });
  });

  it('POST /revocations sets the watermark and answers not_before; exactly one of user_id or company_id', async () => {
    const { call } = await load();
    const res = await call(route('POST /revocations', { body: { company_id: 'c-1' } }));
    expect(res).toMatchObject({ status: 200, body: { company_id: 'c-1', not_before: expect.stringMatching(/\.000Z$/) } });
    expect(Date.now() - Date.parse(res.body.not_before)).toBeLessThan(5000);
    expect(sqs.sent).toHaveLength(1);
    for (const [body, field] of [[{}, 'user_id'], [{ user_id: 'u', company_id: 'c' }, 'company_id'], [{ user_id: 'a\nb' }, 'user_id'], ['nope', 'body']] as const) {
      await expect(call(route('POST /revocations', { body }))).resolves.toMatchObject({ status: 400, body: { field } });
    }
  });

  it('answers 200 with a warning when the cache invalidation cannot be queued', async () => {
    const { call } = await load();
    const minted = (await call(route('POST /keys', { body: { user_id: 'u-1', company_id: 'c-1' } }))).body;
    sqs.failWith = 500;
    const res = await call(route('DELETE /keys/{keyId}', { keyId: minted.key_id }));
    expect(res).toMatchObject({ status: 200, body: { status: 'revoked', warning: expect.stringContaining('cache') } });
    expect(lines.some((l) => JSON.parse(l).message === 'authorizer cache invalidation not scheduled')).toBe(true);
  });

  it('native mode: revoke, roll and revocations answer 409 with the reason; list and get still work', async () => {
    const { call } = await load({ REVOCATION_ENFORCED: 'false' });
    const minted = (await call(route('POST /keys', { body: { user_id: 'u-1', company_id: 'c-1' } }))).body;
    for (const [routeKey, body] of [['DELETE /keys/{keyId}', undefined], ['POST /keys/{keyId}/roll', {}], ['POST /revocations', { user_id: 'u-1' }]] as const) {
      const res = await call(route(routeKey, { keyId: minted.key_id, body }));
      expect(res).toMatchObject({ status: 409, body: { error: 'conflict', message: expect.stringContaining('-c authorizer=lambda') } });
    }
    expect((await call(route('GET /keys/{keyId}', { keyId: minted.key_id }))).body.status).toBe('active');
    expect((await call(route('GET /keys', { query: { user_id: 'u-1' } }))).body.keys).toHaveLength(1);
    expect(sqs.sent).toHaveLength(0);
  });

  it('answers 503 on reads when DynamoDB is unreachable', async () => {
    const { call } = await load({ AWS_ENDPOINT_URL_DYNAMODB: await closedPortUrl() });
    await expect(call(route('GET /keys', { query: { user_id: 'u' } }))).resolves.toMatchObject({ status: 503 });
    await expect(call(route('DELETE /keys/{keyId}', { keyId: 'k' }))).resolves.toMatchObject({ status: 503 });
  });
});
