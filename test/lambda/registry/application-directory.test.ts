/**
 * The authorizer's application directory on a real (local) DynamoDB table, fed by the revocation state's
 * change feed: lookups, what it costs (DynamoDB calls counted), and how fast admin changes reach it.
 */
import { DynamoDBClient, type QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import { verifyClientToken } from '../../../lambda/jwt/client-tokens';
import { createApplicationDirectory, type ApplicationDirectoryOptions } from '../../../lambda/registry/application-directory';
import { createChangeFeed, type Change } from '../../../lambda/registry/changes';
import { applyChanges, createRevocationState, emptySnapshot } from '../../../lambda/registry/revocation-state';
import type * as AuthorizerState from '../../../lambda/registry/authorizer-state';
import type { Client } from '../../../lambda/registry/store';
import { closedPortUrl, countingClient, LocalDynamoDb } from '../../support/dynamodb';
import { ADMIN, applications, clientToken, keyPair, publicJwk, type ClientKeyPair } from './application-fixture';
import { clock, JWT, MAX_LIFETIME, START } from './fixture';

const db = new LocalDynamoDb();
let deadClient: DynamoDBClient;
beforeAll(async () => {
  await db.start();
  deadClient = new DynamoDBClient({ endpoint: await closedPortUrl(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
});
afterAll(async () => {
  deadClient.destroy();
  await db.stop();
});

const REFRESH_MS = 5000;

/**
 * A registry with the admin service, and the authorizer's revocation state and directory reading it through
 * counted clients. `network.down` makes the directory's reads fail; `lagOnce` makes its next subscription
 * listing come back empty, as an index that has not caught up yet would.
 */
async function setup(options: Partial<ApplicationDirectoryOptions> = {}) {
  const c = clock();
  const apps = await applications(db, { now: c.now });
  const feedClient = countingClient(db.client);
  const revocations = createRevocationState({ feed: createChangeFeed(feedClient, apps.tableName), refreshMs: REFRESH_MS, failMode: 'closed', maxLifetimeSeconds: MAX_LIFETIME, now: c.now });
  const reads = countingClient(db.client);
  const network = { down: false, lagOnce: false };
  const client: Client = {
    send: (async (command: { constructor: { name: string } }) => {
      if (network.down) return deadClient.send(command as never);
      if (network.lagOnce && command.constructor.name === 'QueryCommand') {
        network.lagOnce = false;
        reads.calls.push('Query (lagging)');
        return { Items: [], $metadata: {} } satisfies QueryCommandOutput;
      }
      return reads.send(command as never);
    }) as Client['send'],
  };
  const directory = createApplicationDirectory({ client, tableName: apps.tableName, now: c.now, changes: revocations, ...options });
  return { ...apps, clock: c, revocations, directory, feedClient, reads, network };
}
type Setup = Awaited<ReturnType<typeof setup>>;

/** An active application with a registered ES256 key and an accepted subscription to a published plan. */
async function subscribed(s: Setup, plan: { routes?: string[] } = {}, clientId = 'orders-app') {
  await s.service.createApplication({ name: 'orders', companyId: 'acme', clientId }, ADMIN);
  const pair = keyPair('ES256');
  const { kid } = await s.service.registerKey(clientId, { jwk: publicJwk(pair) }, ADMIN);
  const { plan_id: planId } = await s.service.createPlan({ name: 'gold', autoValidate: true, routes: plan.routes }, ADMIN);
  await s.service.transitionPlan(planId, 'publish', ADMIN);
  const { subscription_id: subscriptionId } = await s.service.subscribe(clientId, planId, ADMIN);
  return { clientId, kid, pair, planId, subscriptionId };
}

/**
 * Lets the setup's writes age out of the change feed's 30 s overlap: until then each refresh reports them
 * again (on purpose: that heals an entry read from a lagging index) and the entries they name are read again.
 */
async function quiet(s: Setup) {
  s.clock.advance(35_000);
  await s.revocations.refresh();
  s.clock.advance(REFRESH_MS);
  await s.revocations.refresh();
}

const options = (nowMs: number) => ({ audience: JWT.audience, currentDate: new Date(nowMs) });
const verify = async (s: Setup, pair: ClientKeyPair, kid: string, clientId: string) =>
  verifyClientToken(await clientToken(pair, kid, clientId, s.clock.t), (k) => s.directory.clientKey(k), options(s.clock.t));

describe('lookups', () => {
  it('find a registered key with its application, and verify a client-signed token with it', async () => {
    const s = await setup();
    const { clientId, kid, pair } = await subscribed(s);
    expect(await s.directory.clientKey(kid)).toEqual({ clientId, jwk: expect.objectContaining({ kty: 'EC', kid, alg: 'ES256' }), alg: 'ES256', applicationStatus: 'active' });
    expect(await verify(s, pair, kid, clientId)).toEqual({ ok: true, clientId, kid });
    expect(await s.directory.clientKey('no-such-kid')).toBeUndefined();
    // The same jwk object while cached: verifyClientToken builds its KeyObject once.
    expect((await s.directory.clientKey(kid))!.jwk).toBe((await s.directory.clientKey(kid))!.jwk);
  });

  it('grant access with an accepted subscription to a published plan that allows the route', async () => {
    const s = await setup();
    const { clientId, planId, subscriptionId } = await subscribed(s, { routes: ['GET /orders/*'] });
    expect(await s.directory.access(clientId, 'GET /orders/{id}')).toEqual({ ok: true, application: { clientId, companyId: 'acme', status: 'active' }, planId, subscriptionId });
    expect(await s.directory.access(clientId, 'DELETE /orders/{id}')).toEqual({ ok: false, reason: 'route_not_allowed' });
    expect(await s.directory.access('nobody', 'GET /orders/{id}')).toEqual({ ok: false, reason: 'unknown_application' });
  });

  it('refuse an application whose only subscription is pending (no_subscription)', async () => {
    const s = await setup();
    await s.service.createApplication({ name: 'a', companyId: 'acme', clientId: 'waiting' }, ADMIN);
    const { plan_id: planId } = await s.service.createPlan({ name: 'manual', autoValidate: false }, ADMIN);
    await s.service.transitionPlan(planId, 'publish', ADMIN);
    await s.service.subscribe('waiting', planId, ADMIN);
    expect(await s.directory.access('waiting', 'GET /orders')).toEqual({ ok: false, reason: 'no_subscription' });
  });

  it('use the oldest accepted subscription whose plan allows the route, and keep a deprecated plan working', async () => {
    const s = await setup();
    const first = await subscribed(s, { routes: ['GET /orders/*'] });
    s.clock.advance(1000);
    const { plan_id: broad } = await s.service.createPlan({ name: 'all', autoValidate: true }, ADMIN);
    await s.service.transitionPlan(broad, 'publish', ADMIN);
    const second = await s.service.subscribe(first.clientId, broad, ADMIN);
    s.clock.advance(REFRESH_MS);
    expect(await s.directory.access(first.clientId, 'GET /orders/{id}')).toMatchObject({ ok: true, planId: first.planId, subscriptionId: first.subscriptionId });
    expect(await s.directory.access(first.clientId, 'POST /orders')).toMatchObject({ ok: true, planId: broad, subscriptionId: second.subscription_id });
    await s.service.transitionPlan(first.planId, 'deprecate', ADMIN);
    s.clock.advance(REFRESH_MS);
    expect(await s.directory.access(first.clientId, 'GET /orders/{id}')).toMatchObject({ ok: true, planId: first.planId });
  });
});

describe('changes reach the directory within one refresh', () => {
  it('a suspended application: its tokens are refused, its access too; resuming restores both', async () => {
    const s = await setup();
    const { clientId, kid, pair } = await subscribed(s);
    expect(await verify(s, pair, kid, clientId)).toMatchObject({ ok: true });
    s.clock.advance(REFRESH_MS);
    expect(await s.directory.access(clientId, 'GET /orders')).toMatchObject({ ok: true });
    await s.service.setApplicationStatus(clientId, 'suspend', ADMIN);
    // Before the next refresh the cached answer stands (that is the revocation delay)...
    s.clock.advance(REFRESH_MS - 1);
    expect(await verify(s, pair, kid, clientId)).toMatchObject({ ok: true });
    // ...and from it on, the change is known.
    s.clock.advance(1);
    expect(await verify(s, pair, kid, clientId)).toEqual({ ok: false, reason: 'application_suspended', detail: 'suspended' });
    expect(await s.directory.access(clientId, 'GET /orders')).toEqual({ ok: false, reason: 'application_suspended' });
    await s.service.setApplicationStatus(clientId, 'resume', ADMIN);
    s.clock.advance(REFRESH_MS);
    expect(await s.directory.access(clientId, 'GET /orders')).toMatchObject({ ok: true });
  });

  it('a removed key stops verifying', async () => {
    const s = await setup();
    const { clientId, kid, pair } = await subscribed(s);
    expect(await verify(s, pair, kid, clientId)).toMatchObject({ ok: true });
    await s.service.removeKey(clientId, kid, ADMIN);
    s.clock.advance(REFRESH_MS);
    expect(await verify(s, pair, kid, clientId)).toEqual({ ok: false, reason: 'unknown_kid' });
  });

  it('a key registered after a lookup found nothing is found (the negative entry is dropped)', async () => {
    const s = await setup();
    await s.service.createApplication({ name: 'a', companyId: 'acme', clientId: 'late' }, ADMIN);
    expect(await s.directory.clientKey('later-kid')).toBeUndefined();
    await s.service.registerKey('late', { jwk: { ...publicJwk(keyPair()), kid: 'later-kid' } }, ADMIN);
    s.clock.advance(REFRESH_MS);
    expect(await s.directory.clientKey('later-kid')).toMatchObject({ clientId: 'late' });
  });

  it('a closed subscription ends access', async () => {
    const s = await setup();
    const { clientId, subscriptionId } = await subscribed(s);
    expect(await s.directory.access(clientId, 'GET /orders')).toMatchObject({ ok: true });
    await s.service.transitionSubscription(subscriptionId, 'close', ADMIN);
    s.clock.advance(REFRESH_MS);
    expect(await s.directory.access(clientId, 'GET /orders')).toEqual({ ok: false, reason: 'no_subscription' });
  });

  it('a closed plan ends access for its subscribers', async () => {
    const s = await setup();
    const { clientId, planId } = await subscribed(s);
    expect(await s.directory.access(clientId, 'GET /orders')).toMatchObject({ ok: true });
    await s.service.transitionPlan(planId, 'close', ADMIN);
    s.clock.advance(REFRESH_MS);
    expect(await s.directory.access(clientId, 'GET /orders')).toEqual({ ok: false, reason: 'no_subscription' });
  });

  it('a closed plan ends access even when its subscriptions stayed accepted (the plan itself is checked)', async () => {
    const s = await setup();
    const { clientId, planId } = await subscribed(s);
    expect(await s.directory.access(clientId, 'GET /orders')).toMatchObject({ ok: true });
    // As if the sweep had missed the subscription: only the plan changes.
    await s.store.setPlanStatus(planId, ['published'], 'closed', { at: new Date(s.clock.t).toISOString(), changedAtMs: s.clock.t, by: ADMIN.arn });
    s.clock.advance(REFRESH_MS);
    expect(await s.directory.access(clientId, 'GET /orders')).toEqual({ ok: false, reason: 'no_subscription' });
  });

  it('a subscription listing read before its index caught up is read again at the next refresh (the feed overlap)', async () => {
    const s = await setup();
    await s.service.createApplication({ name: 'a', companyId: 'acme', clientId: 'new-app' }, ADMIN);
    expect(await s.directory.access('new-app', 'GET /orders')).toEqual({ ok: false, reason: 'no_subscription' });
    const { plan_id: planId } = await s.service.createPlan({ name: 'auto', autoValidate: true }, ADMIN);
    await s.service.transitionPlan(planId, 'publish', ADMIN);
    await s.service.subscribe('new-app', planId, ADMIN);
    s.clock.advance(REFRESH_MS);
    s.network.lagOnce = true;
    expect(await s.directory.access('new-app', 'GET /orders')).toEqual({ ok: false, reason: 'no_subscription' });
    s.clock.advance(REFRESH_MS);
    expect(await s.directory.access('new-app', 'GET /orders')).toMatchObject({ ok: true, planId });
  });
});

describe('what it costs', () => {
  it('serves repeated lookups from memory: one feed query per refresh, no reads without changes', async () => {
    const s = await setup();
    const { clientId, kid } = await subscribed(s);
    await quiet(s);
    await s.directory.clientKey(kid);
    await s.directory.access(clientId, 'GET /orders');
    // key, application, subscriptions, plan
    expect(s.reads.calls).toEqual(['GetItem', 'GetItem', 'Query', 'GetItem']);
    const feedBefore = s.feedClient.calls.length;
    for (let i = 1; i <= 60; i++) {
      s.clock.advance(1000);
      for (let j = 0; j < 50; j++) {
        await s.directory.clientKey(kid);
        await s.directory.access(clientId, 'GET /orders');
      }
    }
    // 6,000 lookups over a minute: 12 feed queries (one per 5 s), no directory read.
    expect(s.feedClient.calls.length - feedBefore).toBe(12);
    expect(s.reads.calls).toHaveLength(4);
    expect(s.directory.calls).toBe(4);
  });

  it('reads a changed item again at each refresh while the feed’s overlap reports it, then no more', async () => {
    const s = await setup();
    const { clientId } = await subscribed(s);
    await quiet(s);
    await s.service.setApplicationStatus(clientId, 'suspend', ADMIN);
    const calls = s.directory.calls;
    for (let i = 0; i < 12; i++) {
      s.clock.advance(REFRESH_MS);
      await s.directory.access(clientId, 'GET /orders');
    }
    // Reported by the refreshes whose window (previous load − 30 s) still holds the change: 7 of them.
    expect(s.directory.calls - calls).toBe(7);
  });

  it('caches what does not exist: a flood of made-up kids and client ids costs one read per distinct value', async () => {
    const s = await setup();
    const kids = Array.from({ length: 20 }, (_, i) => `made-up-${i}`);
    for (let round = 0; round < 50; round++) {
      for (const kid of kids) expect(await s.directory.clientKey(kid)).toBeUndefined();
      for (const id of kids) expect(await s.directory.access(id, 'GET /x')).toEqual({ ok: false, reason: 'unknown_application' });
    }
    expect(s.directory.calls).toBe(40);
    expect(s.reads.calls.every((c) => c === 'GetItem')).toBe(true);
  });

  it('keeps the entries in use through a flood of made-up kids (found and not-found entries are bounded apart)', async () => {
    const s = await setup({ maxEntries: 50 });
    const { kid } = await subscribed(s);
    await quiet(s);
    await s.directory.clientKey(kid);
    const calls = s.directory.calls;
    for (let i = 0; i < 300; i++) await s.directory.clientKey(`flood-${i}`);
    expect(s.directory.calls).toBe(calls + 300);
    expect(s.directory.size).toBe(52);
    expect(await s.directory.clientKey(kid)).toMatchObject({ applicationStatus: 'active' });
    expect(s.directory.calls).toBe(calls + 300);
  });

  it('holds at most maxEntries entries, least recently used leaving first', async () => {
    const s = await setup({ maxEntries: 50 });
    for (let i = 0; i < 200; i++) await s.directory.clientKey(`kid-${i}`);
    expect(s.directory.size).toBe(50);
    // kid-150 … kid-199 are held; using kid-150 makes kid-151 the least recently used.
    await s.directory.clientKey('kid-150');
    await s.directory.clientKey('kid-200');
    const calls = s.directory.calls;
    await s.directory.clientKey('kid-150');
    await s.directory.clientKey('kid-199');
    expect(s.directory.calls).toBe(calls);
    await s.directory.clientKey('kid-151');
    expect(s.directory.calls).toBe(calls + 1);
  });

  it('expires negative entries after negativeTtlMs and found ones after ttlMs', async () => {
    const s = await setup({ ttlMs: 60_000, negativeTtlMs: 10_000 });
    const { kid } = await subscribed(s);
    await quiet(s);
    await s.directory.clientKey(kid);
    await s.directory.clientKey('missing');
    const calls = s.directory.calls;
    s.clock.advance(10_000);
    await s.directory.clientKey(kid);
    await s.directory.clientKey('missing');
    expect(s.directory.calls).toBe(calls + 1);
    s.clock.advance(50_000);
    await s.directory.clientKey(kid);
    expect(s.directory.calls).toBe(calls + 3);
  });

  it('drops exactly what a change names: another application costs no read', async () => {
    const s = await setup();
    const a = await subscribed(s, {}, 'app-a');
    const b = await subscribed(s, {}, 'app-b');
    await quiet(s);
    for (const x of [a, b]) {
      await s.directory.clientKey(x.kid);
      await s.directory.access(x.clientId, 'GET /orders');
    }
    const calls = s.directory.calls;
    await s.service.setApplicationStatus('app-a', 'suspend', ADMIN);
    s.clock.advance(REFRESH_MS);
    await s.directory.clientKey(b.kid);
    await s.directory.access(b.clientId, 'GET /orders');
    expect(s.directory.calls).toBe(calls);
    expect(await s.directory.access(a.clientId, 'GET /orders')).toEqual({ ok: false, reason: 'application_suspended' });
    expect(s.directory.calls).toBe(calls + 1);
  });

  it('drops a plan on a plan change, and only it', async () => {
    const s = await setup();
    const a = await subscribed(s, {}, 'app-a');
    const b = await subscribed(s, {}, 'app-b');
    await quiet(s);
    await s.directory.access(a.clientId, 'GET /orders');
    await s.directory.access(b.clientId, 'GET /orders');
    await s.service.transitionPlan(a.planId, 'deprecate', ADMIN);
    s.clock.advance(REFRESH_MS);
    const calls = s.directory.calls;
    await s.directory.access(b.clientId, 'GET /orders');
    expect(s.directory.calls).toBe(calls);
    await s.directory.access(a.clientId, 'GET /orders');
    expect(s.reads.calls.slice(-1)).toEqual(['GetItem']);
    expect(s.directory.calls).toBe(calls + 1);
  });
});

describe('faults', () => {
  it('throw when DynamoDB cannot be read and nothing is cached: the token is refused as keys_unavailable', async () => {
    const s = await setup();
    const { clientId, kid, pair } = await subscribed(s);
    s.network.down = true;
    expect(await verify(s, pair, kid, clientId)).toEqual({ ok: false, reason: 'keys_unavailable', detail: 'registry' });
    await expect(s.directory.access(clientId, 'GET /orders')).rejects.toThrow(/key registry could not/);
  });

  it('serve an entry past its TTL while reads fail, up to maxStaleMs, and then refuse', async () => {
    const s = await setup({ ttlMs: 60_000, maxStaleMs: 120_000 });
    const { kid } = await subscribed(s);
    await quiet(s);
    await s.directory.clientKey(kid);
    s.network.down = true;
    s.clock.advance(90_000);
    expect(await s.directory.clientKey(kid)).toMatchObject({ applicationStatus: 'active' });
    s.clock.advance(100_000);
    await expect(s.directory.clientKey(kid)).rejects.toThrow();
  });

  it('after a failed read, try no read for retryAfterFailureMs', async () => {
    const s = await setup({ retryAfterFailureMs: 1000 });
    s.network.down = true;
    await expect(s.directory.clientKey('a')).rejects.toThrow();
    const failed = s.directory.calls;
    await expect(s.directory.clientKey('b')).rejects.toThrow(/a read failed just before/);
    expect(s.directory.calls).toBe(failed);
    s.network.down = false;
    s.clock.advance(1000);
    expect(await s.directory.clientKey('b')).toBeUndefined();
    expect(s.directory.calls).toBe(failed + 1);
  });

  it('does not cache a read that a change overtook while it ran', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const c = clock();
    const apps = await applications(db, { now: c.now });
    await apps.service.createApplication({ name: 'a', companyId: 'acme', clientId: 'racy' }, ADMIN);
    const counted = countingClient(db.client);
    const slow: Client = { send: (async (command: never) => (await gate, counted.send(command))) as Client['send'] };
    const directory = createApplicationDirectory({ client: slow, tableName: apps.tableName, now: c.now });
    const pending = directory.access('racy', 'GET /x');
    await new Promise((resolve) => setImmediate(resolve));
    const change: Change = { kind: 'application', pk: 'APP#racy', changedAtMs: c.t, clientId: 'racy' };
    directory.invalidate([change]);
    release();
    await pending;
    await directory.access('racy', 'GET /x');
    expect(counted.calls.filter((x) => x === 'GetItem')).toHaveLength(2);
  });
});

describe('the revocation state, shared', () => {
  it('hands every load’s changes to subscribers, with no extra query, and keeps application changes out of its snapshot', async () => {
    const s = await setup();
    const seen: Change['kind'][] = [];
    const unsubscribe = s.revocations.subscribe((changes) => seen.push(...changes.map((c) => c.kind)));
    await subscribed(s);
    await s.revocations.refresh();
    expect(seen.sort()).toEqual(['application', 'client_key', 'plan', 'subscription']);
    expect(s.revocations.size).toBe(0);
    expect(await s.revocations.check({ userId: 'orders-app', companyId: 'acme', iat: 1 })).toEqual({ revoked: false });
    unsubscribe();
    s.clock.advance(REFRESH_MS);
    await s.revocations.refresh();
    expect(seen).toHaveLength(4);
  });

  it('applyChanges ignores application changes (no watermark appears for them)', () => {
    const snapshot = emptySnapshot();
    applyChanges(snapshot, [
      { kind: 'application', pk: 'APP#c', changedAtMs: START, clientId: 'c' },
      { kind: 'subscription', pk: 'SUB#s', changedAtMs: START, subscriptionId: 's', clientId: 'c', planId: 'p' },
    ]);
    expect(snapshot).toEqual(emptySnapshot());
  });
});

describe('registryReadersFromEnv (the authorizer’s wiring)', () => {
  it('builds the revocation state and the directory on one change feed: one query per refresh serves both', async () => {
    const c = clock(Date.now());
    const apps = await applications(db, { now: c.now });
    await apps.service.createApplication({ name: 'a', companyId: 'acme', clientId: 'wired' }, ADMIN);
    let readers!: ReturnType<typeof AuthorizerState.registryReadersFromEnv>;
    jest.isolateModules(() => {
      const { registryReadersFromEnv } = require('../../../lambda/registry/authorizer-state') as typeof AuthorizerState;
      readers = registryReadersFromEnv(MAX_LIFETIME, { KEY_REGISTRY_TABLE: apps.tableName, REVOCATION_REFRESH_SECONDS: '1' });
    });
    expect(await readers.directory.access('wired', 'GET /x')).toEqual({ ok: false, reason: 'no_subscription' });
    expect(readers.revocations.calls).toBe(1);
    await apps.service.setApplicationStatus('wired', 'suspend', ADMIN);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await readers.directory.access('wired', 'GET /x')).toEqual({ ok: false, reason: 'application_suspended' });
    expect(readers.revocations.calls).toBe(2);
  });
});
