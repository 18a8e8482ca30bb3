/**
 * Client applications, their keys, plans and subscriptions: the service on a real (local) DynamoDB table.
 * Transitions, conflicts naming the current state, concurrent transitions, the live-subscription guard,
 * the change feed and the authorizer cache invalidations each change schedules.
 */
import { generateKeyPairSync } from 'node:crypto';
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { InputError } from '../../../lambda/jwt/issue';
import { ABANDONED_CLAIM_MS, ROUTE_RESTRICTION_MESSAGE } from '../../../lambda/registry/application-service';
import type { ApplicationStore } from '../../../lambda/registry/application-store';
import { createChangeFeed } from '../../../lambda/registry/changes';
import { unmarshal } from '../../../lambda/registry/marshal';
import { ConflictError, NotFoundError } from '../../../lambda/registry/service';
import { LocalDynamoDb } from '../../support/dynamodb';
import { ADMIN, applications, keyPair, publicJwk, TRUSTED } from './application-fixture';
import { clock, JWT, START } from './fixture';

const db = new LocalDynamoDb();
beforeAll(() => db.start());
afterAll(() => db.stop());

async function setup(options: Partial<Parameters<typeof applications>[1]> = {}) {
  const c = clock();
  const apps = await applications(db, { now: c.now, ...options });
  return { ...apps, clock: c };
}

/** An active application and a plan in the given state (published by default). */
async function withPlan(s: Awaited<ReturnType<typeof setup>>, plan: { autoValidate?: boolean; routes?: string[]; status?: 'staging' | 'published' | 'deprecated' | 'closed' } = {}) {
  const app = await s.service.createApplication({ name: 'billing', companyId: 'acme' }, ADMIN);
  const created = await s.service.createPlan({ name: 'gold', autoValidate: plan.autoValidate ?? false, routes: plan.routes }, ADMIN);
  const status = plan.status ?? 'published';
  if (status !== 'staging') await s.service.transitionPlan(created.plan_id, 'publish', ADMIN);
  if (status === 'deprecated') await s.service.transitionPlan(created.plan_id, 'deprecate', ADMIN);
  if (status === 'closed') await s.service.transitionPlan(created.plan_id, 'close', ADMIN);
  s.bumps.length = 0;
  return { clientId: app.client_id, planId: created.plan_id };
}

async function conflict(promise: Promise<unknown>): Promise<ConflictError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConflictError);
  return err as ConflictError;
}

describe('applications', () => {
  it('creates an active application with a generated client id, and writes it to the change feed', async () => {
    const s = await setup({ newId: undefined });
    const app = await s.service.createApplication({ name: 'billing', companyId: 'acme' }, ADMIN);
    expect(app).toEqual({ client_id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), name: 'billing', company_id: 'acme', status: 'active', created_at: new Date(START).toISOString(), updated_at: new Date(START).toISOString() });
    const changes = await createChangeFeed(db.client, s.tableName).since(START - 1);
    expect(changes).toEqual([{ kind: 'application', pk: `APP#${app.client_id}`, changedAtMs: START, clientId: app.client_id }]);
    // Creating grants nothing by itself: no cache invalidation.
    expect(s.bumps).toEqual([]);
  });

  it('takes a given client id once: another application with it is a 409', async () => {
    const s = await setup();
    await s.service.createApplication({ name: 'a', companyId: 'acme', clientId: 'orders-app' }, ADMIN);
    const err = await conflict(s.service.createApplication({ name: 'b', companyId: 'other', clientId: 'orders-app' }, ADMIN));
    expect(err.message).toBe('An application with client_id "orders-app" exists already: choose another client_id, or leave it out to have one generated.');
    expect((await s.service.getApplication('orders-app')).company_id).toBe('acme');
  });

  it.each([
    ['the API’s own issuer', JWT.issuer],
    ['a trusted issuer', TRUSTED],
  ])('refuses %s as client id (its tokens would go to that verifier)', async (_case, clientId) => {
    const s = await setup();
    const err = await conflict(s.service.createApplication({ name: 'a', companyId: 'acme', clientId }, ADMIN));
    expect(err.message).toContain('tokens with that "iss" go to that issuer\'s verifier');
    await expect(s.service.getApplication(clientId)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('suspends and resumes; a repeat is a 409 naming the state; each change invalidates the cache', async () => {
    const s = await setup();
    const { client_id: id } = await s.service.createApplication({ name: 'a', companyId: 'acme' }, ADMIN);
    s.clock.advance(1000);
    expect(await s.service.setApplicationStatus(id, 'suspend', ADMIN)).toMatchObject({ status: 'suspended', updated_at: new Date(START + 1000).toISOString() });
    let err = await conflict(s.service.setApplicationStatus(id, 'suspend', ADMIN));
    expect(err).toMatchObject({ state: 'suspended', message: `Application "${id}" is suspended: only an active application can be suspended.` });
    expect(await s.service.setApplicationStatus(id, 'resume', ADMIN)).toMatchObject({ status: 'active' });
    err = await conflict(s.service.setApplicationStatus(id, 'resume', ADMIN));
    expect(err.state).toBe('active');
    expect(s.bumps).toEqual([
      { due: START + 1000 + 8000, now: START + 1000 },
      { due: START + 1000 + 8000, now: START + 1000 },
    ]);
    await expect(s.service.setApplicationStatus('nobody', 'suspend', ADMIN)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('client keys', () => {
  it('registers a JWK and a PEM, lists them (public facts only) and invalidates the cache each time', async () => {
    const s = await setup();
    const { client_id: id } = await s.service.createApplication({ name: 'a', companyId: 'acme' }, ADMIN);
    const es = keyPair('ES256');
    const rs = keyPair('RS256');
    const a = await s.service.registerKey(id, { jwk: { ...publicJwk(es), kid: 'es-1' } }, ADMIN);
    const b = await s.service.registerKey(id, { pem: rs.publicKey.export({ type: 'spki', format: 'pem' }) as string }, ADMIN);
    expect(a).toEqual({ kid: 'es-1', alg: 'ES256', created_at: new Date(START).toISOString() });
    expect(b).toMatchObject({ kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), alg: 'RS256' });
    expect((await s.service.getApplication(id)).keys).toEqual([a, b].sort((x, y) => (x.kid < y.kid ? -1 : 1)) /* DynamoDB's byte order; localeCompare would flake on an upper-case random kid */.map((k) => ({ kid: k.kid, alg: k.alg, created_at: k.created_at })));
    expect(s.bumps).toHaveLength(2);
    const item = unmarshal((await db.client.send(new GetItemCommand({ TableName: s.tableName, Key: { pk: { S: 'APPKEY#es-1' }, sk: { S: 'APPKEY' } } }))).Item!);
    expect(JSON.parse(item.jwk as string)).toEqual({ kty: 'EC', crv: 'P-256', x: publicJwk(es).x, y: publicJwk(es).y, kid: 'es-1', alg: 'ES256', use: 'sig' });
  });

  it.each([
    ['a JWK with "d"', () => ({ jwk: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) }), 'jwk'],
    ['a PKCS#8 PEM', () => ({ pem: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }), 'pem'],
  ])('refuses a private key (%s) as a 400 that does not repeat it, and stores nothing', async (_case, input, field) => {
    const s = await setup();
    const { client_id: id } = await s.service.createApplication({ name: 'a', companyId: 'acme' }, ADMIN);
    const sent = input();
    const err = await s.service.registerKey(id, sent, ADMIN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err).toMatchObject({ field, message: expect.stringContaining('This is a private key') });
    const secret = 'jwk' in sent ? (sent.jwk as { d: string }).d : (sent.pem as string).split('\n')[1];
    expect((err as Error).message).not.toContain(secret.slice(0, 16));
    const items = (await db.client.send(new ScanCommand({ TableName: s.tableName }))).Items ?? [];
    expect(items.map((i) => i.pk.S)).toEqual([`APP#${id}`]);
    expect(s.bumps).toEqual([]);
  });

  it('refuses a kid registered already: to this application, or to another (a kid is global)', async () => {
    const s = await setup();
    const one = await s.service.createApplication({ name: 'a', companyId: 'acme' }, ADMIN);
    const two = await s.service.createApplication({ name: 'b', companyId: 'other' }, ADMIN);
    await s.service.registerKey(one.client_id, { jwk: { ...publicJwk(keyPair()), kid: 'shared' } }, ADMIN);
    const again = await conflict(s.service.registerKey(one.client_id, { jwk: { ...publicJwk(keyPair()), kid: 'shared' } }, ADMIN));
    expect(again.message).toBe('Key "shared" is registered to this application already.');
    const other = await conflict(s.service.registerKey(two.client_id, { jwk: { ...publicJwk(keyPair()), kid: 'shared' } }, ADMIN));
    expect(other.message).toMatch(/^Key "shared" is registered to another application/);
    expect(other.message).not.toContain(one.client_id);
    expect((await s.service.getApplication(two.client_id)).keys).toEqual([]);
  });

  it('refuses a key for an unknown application (404) before reading the key', async () => {
    const s = await setup();
    await expect(s.service.registerKey('nobody', { jwk: publicJwk(keyPair()) }, ADMIN)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('removes a key: a tombstone out of the listing, in the change feed, for a day; a repeat or another application is a 404', async () => {
    const s = await setup();
    const one = await s.service.createApplication({ name: 'a', companyId: 'acme' }, ADMIN);
    const two = await s.service.createApplication({ name: 'b', companyId: 'acme' }, ADMIN);
    await s.service.registerKey(one.client_id, { jwk: { ...publicJwk(keyPair()), kid: 'k-1' } }, ADMIN);
    s.bumps.length = 0;
    await expect(s.service.removeKey(two.client_id, 'k-1', ADMIN)).rejects.toThrow(`Application "${two.client_id}" has no key "k-1".`);
    s.clock.advance(2000);
    expect(await s.service.removeKey(one.client_id, 'k-1', ADMIN)).toEqual({ client_id: one.client_id, kid: 'k-1', removed_at: new Date(START + 2000).toISOString() });
    await expect(s.service.removeKey(one.client_id, 'k-1', ADMIN)).rejects.toBeInstanceOf(NotFoundError);
    expect((await s.service.getApplication(one.client_id)).keys).toEqual([]);
    const item = unmarshal((await db.client.send(new GetItemCommand({ TableName: s.tableName, Key: { pk: { S: 'APPKEY#k-1' }, sk: { S: 'APPKEY' } } }))).Item!);
    expect(item).toMatchObject({ removed_at: new Date(START + 2000).toISOString(), ttl: Math.floor((START + 2000) / 1000) + 86_400, gsi3sk: `${String(START + 2000).padStart(15, '0')}#APPKEY#k-1` });
    expect(item.gsi1pk).toBeUndefined();
    expect(s.bumps).toEqual([{ due: START + 2000 + 8000, now: START + 2000 }]);
    // The kid is free again: registering it anew (to any application) replaces the tombstone.
    await s.service.registerKey(two.client_id, { jwk: { ...publicJwk(keyPair()), kid: 'k-1' } }, ADMIN);
    expect((await s.service.getApplication(two.client_id)).keys.map((k) => k.kid)).toEqual(['k-1']);
  });
});

describe('plans', () => {
  it('are created in staging without a cache invalidation, then published, deprecated and closed', async () => {
    const s = await setup();
    const plan = await s.service.createPlan({ name: 'gold', autoValidate: true, routes: ['GET /orders/*'] }, ADMIN);
    expect(plan).toEqual({ plan_id: 'id-0001', name: 'gold', status: 'staging', routes: ['GET /orders/*'], auto_validate: true, created_at: new Date(START).toISOString(), updated_at: new Date(START).toISOString() });
    expect(s.bumps).toEqual([]);
    expect(await s.service.transitionPlan(plan.plan_id, 'publish', ADMIN)).toMatchObject({ status: 'published', routes: ['GET /orders/*'] });
    expect(await s.service.transitionPlan(plan.plan_id, 'deprecate', ADMIN)).toMatchObject({ status: 'deprecated' });
    expect(await s.service.transitionPlan(plan.plan_id, 'close', ADMIN)).toMatchObject({ status: 'closed', closed_subscriptions: 0 });
    expect(s.bumps).toHaveLength(3);
    expect((await s.service.getPlan(plan.plan_id)).status).toBe('closed');
    expect((await s.service.createPlan({ name: 'open', autoValidate: false }, ADMIN)).routes).toBeNull();
  });

  it.each([
    ['publish', 'published', 'Plan "id-0001" is published: only a staging plan can be published.'],
    ['deprecate', 'staging', 'Plan "id-0001" is staging: only a published plan can be deprecated.'],
    ['close', 'closed', 'Plan "id-0001" is closed: only a staging, published or deprecated plan can be closed.'],
    ['publish', 'closed', 'Plan "id-0001" is closed: only a staging plan can be published.'],
    ['deprecate', 'deprecated', 'Plan "id-0001" is deprecated: only a published plan can be deprecated.'],
  ] as const)('%s on a %s plan is a 409 naming its state', async (action, status, message) => {
    const s = await setup();
    await s.service.createPlan({ name: 'gold', autoValidate: false }, ADMIN);
    const path = { staging: [], published: ['publish'], deprecated: ['publish', 'deprecate'], closed: ['close'] }[status] as ('publish' | 'deprecate' | 'close')[];
    for (const step of path) await s.service.transitionPlan('id-0001', step, ADMIN);
    s.bumps.length = 0;
    const err = await conflict(s.service.transitionPlan('id-0001', action, ADMIN));
    expect(err).toMatchObject({ message, state: status });
    expect(s.bumps).toEqual([]);
  });

  it('refuses route restrictions unless the deployment caches authorizer answers per route', async () => {
    const s = await setup({ routeRestrictedPlans: false });
    const err = await conflict(s.service.createPlan({ name: 'gold', autoValidate: false, routes: ['GET /orders'] }, ADMIN));
    expect(err.message).toBe(ROUTE_RESTRICTION_MESSAGE);
    expect(err.message).toContain('-c routeRestrictedPlans=true');
    expect((await s.service.createPlan({ name: 'all', autoValidate: false }, ADMIN)).status).toBe('staging');
    await expect(s.service.transitionPlan('nope', 'publish', ADMIN)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('subscriptions', () => {
  it('are pending until accepted on a plan without auto_validate; only the acceptance invalidates the cache', async () => {
    const s = await setup();
    const { clientId, planId } = await withPlan(s);
    const sub = await s.service.subscribe(clientId, planId, ADMIN);
    expect(sub).toEqual({ subscription_id: expect.any(String), client_id: clientId, plan_id: planId, status: 'pending', created_at: new Date(START).toISOString(), updated_at: new Date(START).toISOString() });
    expect(s.bumps).toEqual([]);
    expect(await s.service.transitionSubscription(sub.subscription_id, 'accept', ADMIN)).toMatchObject({ status: 'accepted' });
    expect(s.bumps).toHaveLength(1);
    expect((await s.service.getApplication(clientId)).subscriptions).toEqual([{ subscription_id: sub.subscription_id, plan_id: planId, status: 'accepted', created_at: sub.created_at }]);
  });

  it('are accepted at once on an auto_validate plan, with a cache invalidation', async () => {
    const s = await setup();
    const { clientId, planId } = await withPlan(s, { autoValidate: true });
    expect(await s.service.subscribe(clientId, planId, ADMIN)).toMatchObject({ status: 'accepted' });
    expect(s.bumps).toEqual([{ due: START + 8000, now: START }]);
  });

  it.each(['staging', 'deprecated', 'closed'] as const)('a %s plan takes no new subscription (409 naming its state)', async (status) => {
    const s = await setup();
    const { clientId, planId } = await withPlan(s, { status });
    const err = await conflict(s.service.subscribe(clientId, planId, ADMIN));
    expect(err).toMatchObject({ state: status, message: `Plan "${planId}" is ${status}: only a published plan takes new subscriptions.` });
    expect((await s.service.getApplication(clientId)).subscriptions).toEqual([]);
  });

  it('a suspended application cannot subscribe (409 naming its state); unknown ids are 404s', async () => {
    const s = await setup();
    const { clientId, planId } = await withPlan(s);
    await s.service.setApplicationStatus(clientId, 'suspend', ADMIN);
    const err = await conflict(s.service.subscribe(clientId, planId, ADMIN));
    expect(err).toMatchObject({ state: 'suspended', message: `Application "${clientId}" is suspended: only an active application can subscribe.` });
    await expect(s.service.subscribe('nobody', planId, ADMIN)).rejects.toThrow('No application has the client_id "nobody".');
    await s.service.setApplicationStatus(clientId, 'resume', ADMIN);
    await expect(s.service.subscribe(clientId, 'no-plan', ADMIN)).rejects.toThrow('No plan has the id "no-plan".');
    await expect(s.service.transitionSubscription('no-sub', 'close', ADMIN)).rejects.toBeInstanceOf(NotFoundError);
  });

  it.each([
    ['accept', 'accepted', 'only a pending subscription can be accepted'],
    ['reject', 'accepted', 'only a pending subscription can be rejected'],
    ['accept', 'rejected', 'only a pending subscription can be accepted'],
    ['close', 'rejected', 'only a pending or accepted subscription can be closed'],
    ['close', 'closed', 'only a pending or accepted subscription can be closed'],
    ['accept', 'closed', 'only a pending subscription can be accepted'],
  ] as const)('%s on a subscription that is %s: a 409 naming its state', async (action, status, rule) => {
    const s = await setup();
    const { clientId, planId } = await withPlan(s);
    const { subscription_id: id } = await s.service.subscribe(clientId, planId, ADMIN);
    const path = { accepted: ['accept'], rejected: ['reject'], closed: ['close'] }[status] as ('accept' | 'reject' | 'close')[];
    for (const step of path) await s.service.transitionSubscription(id, step, ADMIN);
    s.bumps.length = 0;
    const err = await conflict(s.service.transitionSubscription(id, action, ADMIN));
    expect(err).toMatchObject({ state: status, message: `Subscription "${id}" is ${status}: ${rule}.` });
    expect(s.bumps).toEqual([]);
  });

  it('rejecting and closing invalidate the cache and free the place for a new subscription', async () => {
    const s = await setup();
    const { clientId, planId } = await withPlan(s);
    const first = await s.service.subscribe(clientId, planId, ADMIN);
    const second = await conflict(s.service.subscribe(clientId, planId, ADMIN));
    expect(second).toMatchObject({ state: 'pending', message: expect.stringContaining(`has a pending subscription to plan "${planId}" already (${first.subscription_id})`) });
    expect(await s.service.transitionSubscription(first.subscription_id, 'reject', ADMIN)).toMatchObject({ status: 'rejected' });
    const again = await s.service.subscribe(clientId, planId, ADMIN);
    await s.service.transitionSubscription(again.subscription_id, 'accept', ADMIN);
    expect(await conflict(s.service.subscribe(clientId, planId, ADMIN))).toMatchObject({ state: 'accepted' });
    expect(await s.service.transitionSubscription(again.subscription_id, 'close', ADMIN)).toMatchObject({ status: 'closed' });
    expect((await s.service.subscribe(clientId, planId, ADMIN)).status).toBe('pending');
    expect(s.bumps).toHaveLength(3);
    expect((await s.service.getApplication(clientId)).subscriptions.map((x) => x.status)).toEqual(['rejected', 'closed', 'pending']);
  });

  it('a deprecated plan keeps its accepted subscribers, refuses new ones and accepts no pending one', async () => {
    const s = await setup();
    const { clientId, planId } = await withPlan(s);
    const kept = await s.service.subscribe(clientId, planId, ADMIN);
    await s.service.transitionSubscription(kept.subscription_id, 'accept', ADMIN);
    const other = await s.service.createApplication({ name: 'late', companyId: 'acme' }, ADMIN);
    const waiting = await s.service.subscribe(other.client_id, planId, ADMIN);
    await s.service.transitionPlan(planId, 'deprecate', ADMIN);
    expect((await s.service.getSubscription(kept.subscription_id)).status).toBe('accepted');
    const third = await s.service.createApplication({ name: 'new', companyId: 'acme' }, ADMIN);
    expect(await conflict(s.service.subscribe(third.client_id, planId, ADMIN))).toMatchObject({ state: 'deprecated' });
    expect(await conflict(s.service.transitionSubscription(waiting.subscription_id, 'accept', ADMIN))).toMatchObject({
      state: 'deprecated',
      message: `Plan "${planId}" is deprecated: a subscription can be accepted only while its plan is published.`,
    });
    expect((await s.service.transitionSubscription(waiting.subscription_id, 'reject', ADMIN)).status).toBe('rejected');
  });

  it('closing a plan closes its pending and accepted subscriptions, page by page, and leaves the others', async () => {
    const s = await setup({ pageSize: 2 });
    const { clientId, planId } = await withPlan(s);
    const subs = [await s.service.subscribe(clientId, planId, ADMIN)];
    await s.service.transitionSubscription(subs[0].subscription_id, 'reject', ADMIN);
    for (let i = 0; i < 4; i++) {
      const app = await s.service.createApplication({ name: `a${i}`, companyId: 'acme' }, ADMIN);
      const sub = await s.service.subscribe(app.client_id, planId, ADMIN);
      if (i % 2 === 0) await s.service.transitionSubscription(sub.subscription_id, 'accept', ADMIN);
      subs.push(sub);
    }
    s.bumps.length = 0;
    s.clock.advance(5000);
    expect(await s.service.transitionPlan(planId, 'close', ADMIN)).toMatchObject({ status: 'closed', closed_subscriptions: 4 });
    const statuses = await Promise.all(subs.map(async (x) => (await s.service.getSubscription(x.subscription_id)).status));
    expect(statuses).toEqual(['rejected', 'closed', 'closed', 'closed', 'closed']);
    // One invalidation for the whole close, after every subscription's change was written.
    expect(s.bumps).toEqual([{ due: START + 5000 + 8000, now: START + 5000 }]);
    const feed = await createChangeFeed(db.client, s.tableName).since(START + 4999);
    expect(feed.filter((c) => c.kind === 'subscription').length).toBe(4);
    expect(feed.some((c) => c.kind === 'plan')).toBe(true);
  });

  it('of two concurrent transitions of one subscription, one wins and the other is a 409', async () => {
    const s = await setup();
    const { clientId, planId } = await withPlan(s);
    const { subscription_id: id } = await s.service.subscribe(clientId, planId, ADMIN);
    const results = await Promise.allSettled([s.service.transitionSubscription(id, 'accept', ADMIN), s.service.transitionSubscription(id, 'reject', ADMIN)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(ConflictError);
    const final = (await s.service.getSubscription(id)).status;
    expect(['accepted', 'rejected']).toContain(final);
    expect(lost.reason.state).toBe(final);
  });

  it('of two concurrent subscriptions of one application to one plan, one is created', async () => {
    const s = await setup();
    const { clientId, planId } = await withPlan(s);
    const results = await Promise.allSettled([s.service.subscribe(clientId, planId, ADMIN), s.service.subscribe(clientId, planId, ADMIN), s.service.subscribe(clientId, planId, ADMIN)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof ConflictError)).toBe(true);
    expect((await s.service.getApplication(clientId)).subscriptions).toHaveLength(1);
  });

  it('a reservation left by a failed creation blocks for a minute, then is taken over', async () => {
    const s = await setup();
    const { clientId, planId } = await withPlan(s);
    await s.store.claimLive(planId, clientId, 'never-written', new Date(START).toISOString());
    expect((await conflict(s.service.subscribe(clientId, planId, ADMIN))).message).toContain('is being created right now');
    s.clock.advance(ABANDONED_CLAIM_MS + 1);
    expect((await s.service.subscribe(clientId, planId, ADMIN)).status).toBe('pending');
  });

  it('a reservation whose release failed is taken over at once: its subscription is no longer live', async () => {
    const failing = { release: true };
    const s = await setup({
      wrapStore: (store): ApplicationStore => ({
        ...store,
        releaseLive: async (...args) => {
          if (failing.release) throw new Error('network down');
          return store.releaseLive(...args);
        },
      }),
    });
    const { clientId, planId } = await withPlan(s);
    const first = await s.service.subscribe(clientId, planId, ADMIN);
    await s.service.transitionSubscription(first.subscription_id, 'close', ADMIN);
    expect(s.warnings).toEqual(['subscription reservation not released']);
    expect((await s.service.subscribe(clientId, planId, ADMIN)).status).toBe('pending');
  });

  it('a subscription created while its plan is being closed is closed too, and answered with a 409', async () => {
    let service!: Awaited<ReturnType<typeof setup>>['service'];
    const s = await setup({
      // The plan is closed between the subscription's checks and its write (the sweep cannot see it yet).
      wrapStore: (store): ApplicationStore => ({
        ...store,
        putSubscription: async (record, ms) => {
          await service.transitionPlan(record.plan_id, 'close', ADMIN);
          return store.putSubscription(record, ms);
        },
      }),
    });
    service = s.service;
    const { clientId, planId } = await withPlan(s, { autoValidate: true });
    expect(await conflict(s.service.subscribe(clientId, planId, ADMIN))).toMatchObject({ state: 'closed' });
    const [sub] = (await s.service.getApplication(clientId)).subscriptions;
    expect(sub.status).toBe('closed');
  });
});

describe('the change feed', () => {
  it('carries every application item write, each as the kind the directory drops', async () => {
    const s = await setup();
    const { clientId, planId } = await withPlan(s);
    await s.service.registerKey(clientId, { jwk: { ...publicJwk(keyPair()), kid: 'k-9' } }, ADMIN);
    const sub = await s.service.subscribe(clientId, planId, ADMIN);
    const kinds = (await createChangeFeed(db.client, s.tableName).since(START - 1)).map((c) => c.kind).sort();
    expect(kinds).toEqual(['application', 'client_key', 'plan', 'subscription']);
    const change = (await createChangeFeed(db.client, s.tableName).since(START - 1)).find((c) => c.kind === 'subscription');
    expect(change).toEqual({ kind: 'subscription', pk: `SUB#${sub.subscription_id}`, changedAtMs: START, subscriptionId: sub.subscription_id, clientId, planId });
    // The live guard is not a change: nothing reads it but the admin routes.
    const guard = await db.client.send(new GetItemCommand({ TableName: s.tableName, Key: { pk: { S: `LIVESUB#${planId}#${clientId}` }, sk: { S: 'LIVESUB' } } }));
    expect(guard.Item?.gsi3pk).toBeUndefined();
    expect(guard.Item?.subscription_id?.S).toBe(sub.subscription_id);
  });
});
