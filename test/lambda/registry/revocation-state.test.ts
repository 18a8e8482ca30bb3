import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createChangeFeed, type Change, type ChangeFeed } from '../../../lambda/registry/changes';
import { applyChanges, createRevocationState, emptySnapshot, isRevoked, pruneSnapshot, type RevocationStateOptions } from '../../../lambda/registry/revocation-state';
import { changeSortKey, feedTime } from '../../../lambda/registry/schema';
import { closedPortUrl, countingClient, LocalDynamoDb } from '../../support/dynamodb';
import { clock, MAX_LIFETIME, PORTAL, portalToken, registry, START, subjectOf } from './fixture';

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
const USER = { userId: 'u-1', companyId: 'c-1' };

/** A registry on a fresh table and a revocation state reading it through a counted client that can go down. */
async function setup(overrides: Partial<RevocationStateOptions> = {}) {
  const c = clock();
  const reg = await registry(db, { now: c.now });
  const counted = countingClient(db.client);
  const network = { down: false };
  const feed = createChangeFeed({ send: ((cmd: never) => (network.down ? deadClient.send(cmd) : counted.send(cmd))) as DynamoDBClient['send'] }, reg.tableName);
  const returned: number[] = [];
  const watched: ChangeFeed = {
    since: async (ms) => {
      const changes = await feed.since(ms);
      returned.push(changes.length);
      return changes;
    },
    get calls() {
      return feed.calls;
    },
  };
  const state = createRevocationState({ feed: watched, refreshMs: REFRESH_MS, failMode: 'closed', maxLifetimeSeconds: MAX_LIFETIME, now: c.now, ...overrides });
  return { ...reg, clock: c, state, counted, network, returned };
}

describe('revocation decision (pure)', () => {
  const key = (keyId: string, revokedAtMs: number): Change => ({ kind: 'key', pk: `KEY#${keyId}`, changedAtMs: START, keyId, revokedAtMs, expiresAtMs: START + 3_600_000 });

  it('refuses a revoked key from its revoked_at on, not before (a roll grace)', () => {
    const s = emptySnapshot();
    applyChanges(s, [key('k-1', START + 60_000)]);
    expect(isRevoked(s, { ...USER, keyId: 'k-1', iat: 1 }, START + 59_999)).toBe(false);
    expect(isRevoked(s, { ...USER, keyId: 'k-1', iat: 1 }, START + 60_000)).toBe(true);
    expect(isRevoked(s, { ...USER, keyId: 'k-2', iat: 1 }, START + 60_000)).toBe(false);
  });

  it('refuses tokens issued before the user or company watermark; a missing iat counts as 0', () => {
    const s = emptySnapshot();
    applyChanges(s, [
      { kind: 'user', pk: 'WATERMARK#USER#u-1', changedAtMs: START, id: 'u-1', notBefore: 1000 },
      { kind: 'company', pk: 'WATERMARK#COMPANY#c-2', changedAtMs: START, id: 'c-2', notBefore: 2000 },
    ]);
    expect(isRevoked(s, { userId: 'u-1', companyId: 'c-1', iat: 999 }, START)).toBe(true);
    expect(isRevoked(s, { userId: 'u-1', companyId: 'c-1', iat: 1000 }, START)).toBe(false);
    expect(isRevoked(s, { userId: 'u-1', companyId: 'c-1' }, START)).toBe(true);
    expect(isRevoked(s, { userId: 'u-9', companyId: 'c-2', iat: 1999 }, START)).toBe(true);
    expect(isRevoked(s, { userId: 'u-9', companyId: 'c-2', iat: 2000 }, START)).toBe(false);
    expect(isRevoked(s, { userId: 'u-9', companyId: 'c-9' }, START)).toBe(false);
  });

  it('applies repeated and stale changes without undoing newer ones', () => {
    const s = emptySnapshot();
    applyChanges(s, [key('k-1', START + 60_000), key('k-1', START), key('k-1', START + 60_000)]);
    expect(s.keys.get('k-1')?.revokedAtMs).toBe(START);
    applyChanges(s, [
      { kind: 'user', pk: 'p', changedAtMs: 2, id: 'u-1', notBefore: 2000 },
      { kind: 'user', pk: 'p', changedAtMs: 1, id: 'u-1', notBefore: 1000 },
    ]);
    expect(s.users.get('u-1')).toBe(2000);
  });

  it('forgets a key a day after it expired and a watermark once the tokens before it expired', () => {
    const s = emptySnapshot();
    applyChanges(s, [key('k-1', START), { kind: 'company', pk: 'p', changedAtMs: START, id: 'c-1', notBefore: START / 1000 }]);
    pruneSnapshot(s, START + 3_600_000 + 86_400_000, MAX_LIFETIME);
    expect([s.keys.size, s.companies.size]).toEqual([1, 1]);
    pruneSnapshot(s, START + 3_600_000 + 86_400_000 + 1, MAX_LIFETIME);
    expect([s.keys.size, s.companies.size]).toEqual([0, 1]);
    pruneSnapshot(s, START + (MAX_LIFETIME + 86_400) * 1000 + 1, MAX_LIFETIME);
    expect(s.companies.size).toBe(0);
  });
});

describe('revocation state on the registry (dynalite)', () => {
  it('loads revocations and watermarks on a cold start and refuses the tokens they name', async () => {
    const { service, state, clock: c } = await setup();
    const revoked = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    const kept = await service.mint({ userId: 'u-2', companyId: 'c-2' }, undefined, PORTAL);
    c.advance(1000);
    await service.revoke(revoked.record.key_id, PORTAL);
    await service.revokeIssuedBefore('company', 'c-3', PORTAL);
    c.advance(1000);
    const portal = await portalToken('u-3', 'c-3', c.t);
    await expect(state.check(await subjectOf(revoked.issued.apikey, c.t))).resolves.toEqual({ revoked: true, reason: 'revoked' });
    await expect(state.check(await subjectOf(kept.issued.apikey, c.t))).resolves.toEqual({ revoked: false });
    await expect(state.check(await subjectOf(portal, c.t))).resolves.toEqual({ revoked: true, reason: 'revoked' });
    expect(state.calls).toBe(1);
  });

  it('ignores changes older than the longest token lifetime plus a day on a cold start', async () => {
    const { store, state, counted } = await setup();
    const old = START - (MAX_LIFETIME + 86_400) * 1000;
    await store.putWatermark({ scope: 'user', id: 'u-old', notBefore: old / 1000 }, old - 1, 0, PORTAL.arn);
    await store.putWatermark({ scope: 'user', id: 'u-new', notBefore: old / 1000 + 10 }, old + 1, 0, PORTAL.arn);
    await state.refresh();
    expect(counted.calls).toEqual(['Query']);
    await expect(state.check({ userId: 'u-old', companyId: 'c', iat: 0 })).resolves.toEqual({ revoked: false });
    await expect(state.check({ userId: 'u-new', companyId: 'c', iat: 0 })).resolves.toEqual({ revoked: true, reason: 'revoked' });
  });

  it('sees a revocation at the first check after the refresh interval, and not before', async () => {
    const { service, state, clock: c } = await setup();
    const { issued, record } = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    const subject = await subjectOf(issued.apikey, c.t);
    await expect(state.check(subject)).resolves.toEqual({ revoked: false });
    c.advance(1000);
    await service.revoke(record.key_id, PORTAL);
    c.advance(REFRESH_MS - 1001);
    await expect(state.check(subject)).resolves.toEqual({ revoked: false });
    c.advance(1);
    await expect(state.check(subject)).resolves.toEqual({ revoked: true, reason: 'revoked' });
    expect(state.calls).toBe(2);
  });

  it('refreshes incrementally: only what changed since the last refresh, less a 30 s overlap', async () => {
    const { service, state, clock: c, counted, returned } = await setup();
    for (let i = 0; i < 20; i++) await service.revokeIssuedBefore('user', `old-${i}`, PORTAL);
    c.advance(60_000);
    await state.refresh();
    const coldLoadAt = c.t;
    c.advance(2000);
    await service.revokeIssuedBefore('user', 'new', PORTAL);
    c.advance(REFRESH_MS);
    await state.check({ userId: 'new', companyId: 'c', iat: 0 });
    expect(returned).toEqual([20, 1]);
    expect(counted.calls).toEqual(['Query', 'Query']);
    await expect(state.check({ userId: 'new', companyId: 'c', iat: 0 })).resolves.toEqual({ revoked: true, reason: 'revoked' });
    await expect(state.check({ userId: 'old-7', companyId: 'c', iat: 0 })).resolves.toEqual({ revoked: true, reason: 'revoked' });
    const since = (input: Record<string, unknown>) => (input.ExpressionAttributeValues as Record<string, { S: string }>)[':since'].S;
    expect(counted.inputs.map(since)).toEqual([feedTime(coldLoadAt - (MAX_LIFETIME + 86_400) * 1000), feedTime(coldLoadAt - 30_000)]);
  });

  it('catches a change that reaches the index late, within the 30 s overlap', async () => {
    const { store, state, clock: c } = await setup();
    await state.refresh();
    // Written (by a writer's clock) before the load but visible only after it: index lag or clock skew.
    await store.putWatermark({ scope: 'user', id: 'late', notBefore: c.t / 1000 }, c.t - 29_000, 0, PORTAL.arn);
    await store.putWatermark({ scope: 'user', id: 'too-late', notBefore: c.t / 1000 }, c.t - 31_000, 0, PORTAL.arn);
    c.advance(REFRESH_MS);
    await expect(state.check({ userId: 'late', companyId: 'c', iat: 0 })).resolves.toEqual({ revoked: true, reason: 'revoked' });
    await expect(state.check({ userId: 'too-late', companyId: 'c', iat: 0 })).resolves.toEqual({ revoked: false });
  });

  it('makes at most one DynamoDB call per refresh interval in a warm container, whatever the request rate', async () => {
    const { service, state, clock: c, counted } = await setup();
    const { issued } = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    const subject = await subjectOf(issued.apikey, c.t);
    // 12,000 checks over 60 s: 200 requests a second.
    for (let i = 0; i < 12_000; i++) {
      await state.check(subject);
      c.advance(5);
    }
    expect(counted.calls.length).toBe(state.calls);
    expect(state.calls).toBe(60_000 / REFRESH_MS);
    expect(counted.calls.every((name) => name === 'Query')).toBe(true);
  });

  it('shares one refresh between concurrent checks (single flight)', async () => {
    const { state } = await setup();
    await Promise.all(Array.from({ length: 50 }, () => state.check({ userId: 'u', companyId: 'c', iat: 1 })));
    expect(state.calls).toBe(1);
  });

  it('keeps the last state while DynamoDB is unreachable, retries after a back-off, and catches up', async () => {
    const errors: boolean[] = [];
    const { service, state, clock: c, network } = await setup({ onError: (_err, { cold }) => errors.push(cold) });
    const a = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    const b = await service.mint({ userId: 'u-2', companyId: 'c-2' }, undefined, PORTAL);
    await service.revoke(a.record.key_id, PORTAL);
    const [subjectA, subjectB] = [await subjectOf(a.issued.apikey, c.t), await subjectOf(b.issued.apikey, c.t)];
    await expect(state.check(subjectA)).resolves.toEqual({ revoked: true, reason: 'revoked' });
    network.down = true;
    c.advance(REFRESH_MS);
    await service.revoke(b.record.key_id, PORTAL);
    const callsBefore = state.calls;
    for (let i = 0; i < 1000; i++) {
      await expect(state.check(subjectA)).resolves.toEqual({ revoked: true, reason: 'revoked' });
      c.advance(1);
    }
    // One failed attempt, then the back-off (the refresh interval): no call per request during the outage.
    expect(state.calls - callsBefore).toBe(1);
    expect(errors).toEqual([false]);
    await expect(state.check(subjectB)).resolves.toEqual({ revoked: false });
    network.down = false;
    c.advance(REFRESH_MS);
    await expect(state.check(subjectB)).resolves.toEqual({ revoked: true, reason: 'revoked' });
  });

  it('fails closed on a cold start without state by default, with a back-off between attempts', async () => {
    const { state, clock: c, network } = await setup();
    network.down = true;
    for (let i = 0; i < 100; i++) {
      await expect(state.check({ userId: 'u', companyId: 'c', iat: 1 })).resolves.toEqual({ revoked: true, reason: 'revocation_state_unavailable' });
      c.advance(10);
    }
    expect(state.calls).toBe(1);
    expect(state.loadedAt).toBeUndefined();
    network.down = false;
    c.advance(REFRESH_MS);
    await expect(state.check({ userId: 'u', companyId: 'c', iat: 1 })).resolves.toEqual({ revoked: false });
    expect(state.loadedAt).toBe(c.t);
  });

  it('allows, saying so, on a cold start without state when the fail mode is open', async () => {
    const errors: unknown[] = [];
    const { state, network } = await setup({ failMode: 'open', onError: (_e, context) => errors.push(context) });
    network.down = true;
    await expect(state.check({ userId: 'u', companyId: 'c', iat: 1 })).resolves.toEqual({ revoked: false, reason: 'revocation_state_unavailable' });
    expect(errors).toEqual([{ cold: true, failMode: 'open' }]);
  });

  it('reads every page of the feed when one overflows', async () => {
    const { service, tableName } = await setup();
    for (let i = 0; i < 5; i++) await service.revokeIssuedBefore('company', `c-${i}`, PORTAL);
    const feed = createChangeFeed(db.client, tableName, { pageSize: 2 });
    expect((await feed.since(0)).map((c) => (c.kind === 'company' ? c.id : c.kind)).sort()).toEqual(['c-0', 'c-1', 'c-2', 'c-3', 'c-4']);
    expect(feed.calls).toBe(3);
  });

  it('forgets revocations once the tokens they concern have expired', async () => {
    const { service, state, clock: c } = await setup();
    const { record } = await service.mint({ userId: 'u-1', companyId: 'c-1', expiresInSeconds: 3600 }, undefined, PORTAL);
    await service.revoke(record.key_id, PORTAL);
    await service.revokeIssuedBefore('user', 'u-2', PORTAL);
    await state.refresh();
    expect(state.size).toBe(2);
    c.advance((3600 + 86_400) * 1000 + 1);
    await state.refresh();
    expect(state.size).toBe(1);
    c.advance((MAX_LIFETIME + 86_400) * 1000);
    await state.refresh();
    expect(state.size).toBe(0);
  });

  it('skips feed items that are not changes it understands', async () => {
    const { tableName } = await setup();
    const { PutItemCommand } = await import('@aws-sdk/client-dynamodb');
    await db.client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'PLAN#p-1' }, sk: { S: 'PLAN' }, gsi3pk: { S: 'CHANGES' }, gsi3sk: { S: changeSortKey(START, 'PLAN#p-1') } } }));
    await db.client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'KEY#broken' }, sk: { S: 'KEY' }, gsi3pk: { S: 'CHANGES' }, gsi3sk: { S: changeSortKey(START, 'KEY#broken') } } }));
    await expect(createChangeFeed(db.client, tableName).since(0)).resolves.toEqual([]);
  });
});
