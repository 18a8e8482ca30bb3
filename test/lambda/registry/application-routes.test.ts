/**
 * The client application routes of the key-admin function, end to end: API Gateway events in, the real
 * handler on a local DynamoDB and a local SQS (cache invalidations), JSON out.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { generateJwk } from '../../../lambda/jwt/jwk-set';
import type * as KeyAdmin from '../../../lambda/key-admin';
import type { logSink } from '../../../lambda/shared/log';
import { APPLICATION_HANDLERS, APPLICATION_ROUTES } from '../../../lambda/registry/application-routes';
import { closedPortUrl, LocalDynamoDb } from '../../support/dynamodb';
import { issueEvent } from '../../support/events';
import { TEST_ISSUER } from '../../support/functions';
import { LocalSecretsManager, useLocalAws } from '../../support/secrets-server';
import { LocalSqs } from '../../support/sqs-server';
import { keyPair, publicJwk } from './application-fixture';

const db = new LocalDynamoDb();
const sm = new LocalSecretsManager();
const sqs = new LocalSqs();
const OTHER_ROLE = 'arn:aws:sts::123456789012:assumed-role/intern/s1';
const IDP = 'https://login.example.com/tenant/v2.0';
let lines: string[] = [];
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

/** A fresh key-admin module on a fresh table with the stack's environment (plans may restrict routes unless told). */
async function load(env: Record<string, string> = {}) {
  const stored = await sm.putKeySet(`s-${Math.random()}`, JSON.stringify({ keys: [await generateJwk('ES256')] }), 'ES256');
  const table = await db.createTable();
  for (const name of ['KEY_MINTER_ROLE_ARNS', 'REVOCATION_ENFORCED', 'STAGE_BUMP_QUEUE_URL', 'REVOCATION_REFRESH_SECONDS', 'TRUSTED_ISSUERS', 'ROUTE_RESTRICTED_PLANS']) delete process.env[name];
  Object.assign(process.env, {
    ...stored.env,
    JWT_ALGORITHM: 'ES256',
    JWT_ISSUER: TEST_ISSUER,
    JWT_AUDIENCE: 'jwt-api',
    JWT_EXPIRES_IN: '30d',
    KEY_REGISTRY_TABLE: table,
    AWS_ENDPOINT_URL_DYNAMODB: db.url,
    STAGE_BUMP_QUEUE_URL: QUEUE,
    KEY_MINTER_ROLE_ARNS: 'arn:aws:iam::123456789012:role/portal-backend',
    TRUSTED_ISSUERS: JSON.stringify([{ issuer: IDP, audience: 'api://orders' }]),
    ROUTE_RESTRICTED_PLANS: 'true',
    ...env,
  });
  let handler!: typeof KeyAdmin.handler;
  jest.isolateModules(() => {
    handler = require('../../../lambda/key-admin').handler;
    (require('../../../lambda/shared/log').logSink as typeof logSink).write = (_level, line) => void lines.push(line);
  });
  const call = async (routeKey: string, options: { body?: unknown; params?: Record<string, string>; caller?: string } = {}) => {
    const base = issueEvent(options.body ?? '', options.caller);
    const event = {
      ...base,
      routeKey,
      body: options.body === undefined ? undefined : base.body,
      pathParameters: options.params,
      requestContext: { ...base.requestContext, routeKey },
    } as APIGatewayProxyEventV2;
    const res = await handler(event);
    return { status: res.statusCode, body: JSON.parse(res.body ?? 'null') };
  };
  return { call, table };
}

describe('client application routes', () => {
  it('walk through an application, its keys, a plan and a subscription, invalidating the cache on each access change', async () => {
    const { call } = await load();
    const app = await call('POST /applications', { body: { name: 'billing', company_id: 'acme', client_id: 'billing-app' } });
    expect(app).toEqual({ status: 201, body: { client_id: 'billing-app', name: 'billing', company_id: 'acme', status: 'active', created_at: expect.any(String), updated_at: expect.any(String) } });
    const params = { clientId: 'billing-app' };

    const es = keyPair('ES256');
    const rs = keyPair('RS256');
    const k1 = await call('POST /applications/{clientId}/keys', { params, body: { jwk: { ...publicJwk(es), kid: 'es-1' } } });
    expect(k1).toEqual({ status: 201, body: { kid: 'es-1', alg: 'ES256', created_at: expect.any(String) } });
    const k2 = await call('POST /applications/{clientId}/keys', { params, body: { pem: rs.publicKey.export({ type: 'spki', format: 'pem' }) } });
    expect(k2).toMatchObject({ status: 201, body: { alg: 'RS256' } });
    expect(await call('DELETE /applications/{clientId}/keys/{kid}', { params: { ...params, kid: 'es-1' } })).toEqual({ status: 200, body: { client_id: 'billing-app', kid: 'es-1', removed_at: expect.any(String) } });

    const plan = await call('POST /plans', { body: { name: 'gold', routes: ['GET /orders/*'], auto_validate: false } });
    expect(plan).toMatchObject({ status: 201, body: { plan_id: expect.any(String), status: 'staging', routes: ['GET /orders/*'], auto_validate: false } });
    const planId = plan.body.plan_id;
    expect(await call('POST /plans/{planId}/publish', { params: { planId } })).toMatchObject({ status: 200, body: { status: 'published' } });
    expect(await call('GET /plans/{planId}', { params: { planId } })).toMatchObject({ status: 200, body: { plan_id: planId, status: 'published' } });

    const sub = await call('POST /applications/{clientId}/subscriptions', { params, body: { plan_id: planId } });
    expect(sub).toMatchObject({ status: 201, body: { subscription_id: expect.any(String), status: 'pending' } });
    const id = sub.body.subscription_id;
    expect(await call('POST /subscriptions/{id}/accept', { params: { id } })).toMatchObject({ status: 200, body: { subscription_id: id, status: 'accepted' } });
    expect(await call('GET /subscriptions/{id}', { params: { id } })).toMatchObject({ status: 200, body: { status: 'accepted', client_id: 'billing-app', plan_id: planId } });

    expect(await call('POST /applications/{clientId}/suspend', { params })).toMatchObject({ status: 200, body: { status: 'suspended' } });
    expect(await call('POST /applications/{clientId}/resume', { params })).toMatchObject({ status: 200, body: { status: 'active' } });

    const got = await call('GET /applications/{clientId}', { params });
    expect(got).toEqual({
      status: 200,
      body: {
        client_id: 'billing-app',
        name: 'billing',
        company_id: 'acme',
        status: 'active',
        created_at: app.body.created_at,
        updated_at: expect.any(String),
        keys: [{ kid: k2.body.kid, alg: 'RS256', created_at: k2.body.created_at }],
        subscriptions: [{ subscription_id: id, plan_id: planId, status: 'accepted', created_at: sub.body.created_at }],
      },
    });

    expect(await call('POST /subscriptions/{id}/close', { params: { id } })).toMatchObject({ status: 200, body: { status: 'closed' } });
    expect(await call('POST /plans/{planId}/deprecate', { params: { planId } })).toMatchObject({ status: 200, body: { status: 'deprecated' } });
    expect(await call('POST /plans/{planId}/close', { params: { planId } })).toMatchObject({ status: 200, body: { status: 'closed', closed_subscriptions: 0 } });

    // key ×3, publish, accept, suspend, resume, close subscription, deprecate, close plan: ten invalidations, each delayed 8 s.
    expect(sqs.sent).toHaveLength(10);
    expect(sqs.sent.every((m) => m.queueUrl === QUEUE && m.delaySeconds === 8)).toBe(true);
    const audit = lines.map((l) => JSON.parse(l).message);
    expect(audit).toEqual(
      expect.arrayContaining(['application created', 'client key registered', 'client key removed', 'plan created', 'plan publish', 'subscription created', 'subscription accept', 'application suspend', 'plan close']),
    );
  });

  it('answer a bad transition with 409 {error, message, state}', async () => {
    const { call } = await load();
    await call('POST /applications', { body: { name: 'a', company_id: 'acme', client_id: 'app-1' } });
    const plan = (await call('POST /plans', { body: { name: 'gold', auto_validate: true } })).body;
    expect(await call('POST /applications/{clientId}/subscriptions', { params: { clientId: 'app-1' }, body: { plan_id: plan.plan_id } })).toEqual({
      status: 409,
      body: { error: 'conflict', message: `Plan "${plan.plan_id}" is staging: only a published plan takes new subscriptions.`, state: 'staging' },
    });
    await call('POST /plans/{planId}/publish', { params: { planId: plan.plan_id } });
    const sub = (await call('POST /applications/{clientId}/subscriptions', { params: { clientId: 'app-1' }, body: { plan_id: plan.plan_id } })).body;
    expect(sub.status).toBe('accepted');
    expect(await call('POST /subscriptions/{id}/reject', { params: { id: sub.subscription_id } })).toEqual({
      status: 409,
      body: { error: 'conflict', message: `Subscription "${sub.subscription_id}" is accepted: only a pending subscription can be rejected.`, state: 'accepted' },
    });
    expect(await call('POST /applications/{clientId}/resume', { params: { clientId: 'app-1' } })).toMatchObject({ status: 409, body: { state: 'active' } });
    expect(await call('POST /plans/{planId}/publish', { params: { planId: plan.plan_id } })).toMatchObject({ status: 409, body: { state: 'published' } });
  });

  it.each([
    ['this API’s issuer', TEST_ISSUER],
    ['a trusted issuer (TRUSTED_ISSUERS)', IDP],
  ])('refuse %s as client_id with a 409', async (_case, clientId) => {
    const { call } = await load();
    const res = await call('POST /applications', { body: { name: 'a', company_id: 'acme', client_id: clientId } });
    expect(res).toMatchObject({ status: 409, body: { error: 'conflict', message: expect.stringContaining('Choose another client_id') } });
    expect(res.body.state).toBeUndefined();
  });

  it('refuse a client_id another application has with a 409', async () => {
    const { call } = await load();
    await call('POST /applications', { body: { name: 'a', company_id: 'acme', client_id: 'dup' } });
    expect(await call('POST /applications', { body: { name: 'b', company_id: 'acme', client_id: 'dup' } })).toMatchObject({ status: 409, body: { error: 'conflict' } });
  });

  it('refuse a private key with a 400 naming the field, and neither answer, log nor store it', async () => {
    const { call, table } = await load();
    await call('POST /applications', { body: { name: 'a', company_id: 'acme', client_id: 'app-1' } });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = ec.privateKey.export({ format: 'jwk' });
    const pem = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const byJwk = await call('POST /applications/{clientId}/keys', { params: { clientId: 'app-1' }, body: { jwk } });
    const byPem = await call('POST /applications/{clientId}/keys', { params: { clientId: 'app-1' }, body: { pem } });
    expect(byJwk).toMatchObject({ status: 400, body: { error: 'invalid_request', field: 'jwk', message: expect.stringContaining('This is a private key') } });
    expect(byPem).toMatchObject({ status: 400, body: { error: 'invalid_request', field: 'pem', message: expect.stringContaining('This is a private key') } });
    const pemBody = pem.split('\n').slice(1, -2).join('');
    const everything = JSON.stringify([byJwk, byPem, lines, (await db.client.send(new ScanCommand({ TableName: table }))).Items]);
    expect(everything).not.toContain(jwk.d!);
    expect(everything).not.toContain(pemBody.slice(0, 40));
    expect(sqs.sent).toHaveLength(0);
  });

  it('never log a registered public key', async () => {
    const { call } = await load();
    await call('POST /applications', { body: { name: 'a', company_id: 'acme', client_id: 'app-1' } });
    const jwk = publicJwk(keyPair('RS256'));
    expect((await call('POST /applications/{clientId}/keys', { params: { clientId: 'app-1' }, body: { jwk } })).status).toBe(201);
    expect(lines.join('\n')).not.toContain(jwk.n!.slice(0, 40));
    expect(lines.some((l) => JSON.parse(l).message === 'client key registered')).toBe(true);
  });

  it.each<[string, Record<string, string> | undefined, unknown, string]>([
    ['POST /applications', undefined, { company_id: 'acme' }, 'name'],
    ['POST /applications', undefined, { name: 'a' }, 'company_id'],
    ['POST /applications', undefined, { name: 'x'.repeat(129), company_id: 'acme' }, 'name'],
    ['POST /applications', undefined, { name: 'a', company_id: 'acme', client_id: 'c'.repeat(129) }, 'client_id'],
    ['POST /applications', undefined, { name: 'a', company_id: 'acme', client_id: 'a"b' }, 'client_id'],
    ['POST /applications', undefined, '[1]', 'body'],
    ['POST /applications/{clientId}/keys', { clientId: 'app-1' }, {}, 'jwk'],
    ['POST /applications/{clientId}/keys', { clientId: 'app-1' }, { pem: 'not a key' }, 'pem'],
    ['POST /applications/{clientId}/keys', { clientId: 'app-1' }, { jwk: { kty: 'oct', k: 'c2VjcmV0' } }, 'jwk'],
    ['POST /plans', undefined, { name: 'p', routes: ['GET /ok', 'GET /orders*'] }, 'routes[1]'],
    ['POST /plans', undefined, { name: 'p', auto_validate: 'yes' }, 'auto_validate'],
    ['POST /applications/{clientId}/subscriptions', { clientId: 'app-1' }, {}, 'plan_id'],
    ['GET /applications/{clientId}', { clientId: 'a\u0000b' }, undefined, 'clientId'],
    ['POST /subscriptions/{id}/accept', { id: ' x' }, undefined, 'id'],
  ])('%s answers 400 naming the field for %j %j', async (routeKey, params, body, field) => {
    const { call } = await load();
    await call('POST /applications', { body: { name: 'a', company_id: 'acme', client_id: 'app-1' } });
    expect(await call(routeKey, { params, body })).toMatchObject({ status: 400, body: { error: 'invalid_request', field } });
  });

  it('answer 404 for what does not exist', async () => {
    const { call } = await load();
    const cases: [string, Record<string, string>, unknown][] = [
      ['GET /applications/{clientId}', { clientId: 'nobody' }, undefined],
      ['POST /applications/{clientId}/suspend', { clientId: 'nobody' }, undefined],
      ['POST /applications/{clientId}/keys', { clientId: 'nobody' }, { jwk: publicJwk(keyPair()) }],
      ['DELETE /applications/{clientId}/keys/{kid}', { clientId: 'nobody', kid: 'k' }, undefined],
      ['POST /plans/{planId}/close', { planId: 'none' }, undefined],
      ['GET /plans/{planId}', { planId: 'none' }, undefined],
      ['POST /subscriptions/{id}/close', { id: 'none' }, undefined],
      ['GET /subscriptions/{id}', { id: 'none' }, undefined],
    ];
    for (const [routeKey, params, body] of cases) {
      expect(await call(routeKey, { params, body })).toMatchObject({ status: 404, body: { error: 'not_found' } });
    }
  });

  it('refuse callers outside minterRoleArns on every application route', async () => {
    const { call } = await load();
    for (const { method, path } of APPLICATION_ROUTES) {
      const res = await call(`${method} ${path}`, { params: { clientId: 'c', kid: 'k', planId: 'p', id: 's' }, body: {}, caller: OTHER_ROLE });
      expect(res).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    }
    expect(lines.filter((l) => JSON.parse(l).message === 'key route refused for caller')).toHaveLength(APPLICATION_ROUTES.length);
  });

  it('answer every listed route (none falls through to "No route"), and list every route they answer', async () => {
    expect(Object.keys(APPLICATION_HANDLERS).sort()).toEqual(APPLICATION_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    const { call } = await load();
    for (const { method, path } of APPLICATION_ROUTES) {
      const res = await call(`${method} ${path}`, { params: { clientId: 'c', kid: 'k', planId: 'p', id: 's' }, body: {} });
      expect(res.body.message).not.toMatch(/^No route/);
    }
  });

  it('refuse plan route restrictions with a 409 unless ROUTE_RESTRICTED_PLANS=true', async () => {
    const { call } = await load({ ROUTE_RESTRICTED_PLANS: '' });
    expect(await call('POST /plans', { body: { name: 'gold', routes: ['GET /orders'] } })).toMatchObject({
      status: 409,
      body: { error: 'conflict', message: expect.stringContaining('-c routeRestrictedPlans=true') },
    });
    expect(await call('POST /plans', { body: { name: 'gold' } })).toMatchObject({ status: 201, body: { routes: null } });
  });

  it('native mode: every application write answers 409 with the reason; reads still work', async () => {
    const { call } = await load({ REVOCATION_ENFORCED: 'false' });
    for (const { method, path } of APPLICATION_ROUTES.filter((r) => r.method !== 'GET')) {
      const res = await call(`${method} ${path}`, { params: { clientId: 'c', kid: 'k', planId: 'p', id: 's' }, body: { name: 'a', company_id: 'acme' } });
      expect(res).toMatchObject({ status: 409, body: { error: 'conflict', message: expect.stringContaining('-c authorizer=lambda') } });
    }
    expect(await call('GET /applications/{clientId}', { params: { clientId: 'c' } })).toMatchObject({ status: 404 });
  });

  it('answer 200 with a warning when the cache invalidation cannot be queued', async () => {
    const { call } = await load();
    await call('POST /applications', { body: { name: 'a', company_id: 'acme', client_id: 'app-1' } });
    sqs.failWith = 500;
    const res = await call('POST /applications/{clientId}/suspend', { params: { clientId: 'app-1' } });
    expect(res).toMatchObject({ status: 200, body: { status: 'suspended', warning: expect.stringContaining('cache') } });
  });

  it('answer 503 when DynamoDB is unreachable', async () => {
    const { call } = await load({ AWS_ENDPOINT_URL_DYNAMODB: await closedPortUrl() });
    expect(await call('POST /applications', { body: { name: 'a', company_id: 'acme' } })).toMatchObject({ status: 503, body: { error: 'unavailable' } });
    expect(await call('POST /applications/{clientId}/keys', { params: { clientId: 'app-1' }, body: { jwk: publicJwk(keyPair()) } })).toMatchObject({ status: 503 });
    expect(await call('POST /plans/{planId}/close', { params: { planId: 'p' } })).toMatchObject({ status: 503 });
  });
});
