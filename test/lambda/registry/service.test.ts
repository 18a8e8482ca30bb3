import { decodeJwt } from 'jose';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { InputError } from '../../../lambda/jwt/issue';
import { createChangeFeed } from '../../../lambda/registry/changes';
import { encodeNext } from '../../../lambda/registry/cursor';
import { createRevocationState } from '../../../lambda/registry/revocation-state';
import { ConflictError, NotFoundError } from '../../../lambda/registry/service';
import { RegistryUnavailableError } from '../../../lambda/registry/store';
import { countingClient } from '../../support/dynamodb';
import { LocalDynamoDb } from '../../support/dynamodb';
import { clock, MAX_LIFETIME, PORTAL, portalToken, registry, subjectOf } from './fixture';

const db = new LocalDynamoDb();
beforeAll(() => db.start());
afterAll(() => db.stop());

async function setup() {
  const c = clock();
  const bumps: { due: number; now: number }[] = [];
  const reg = await registry(db, { now: c.now, scheduleBump: async (due, now) => void bumps.push({ due, now }) });
  const state = createRevocationState({ feed: createChangeFeed(db.client, reg.tableName), refreshMs: 5000, failMode: 'closed', maxLifetimeSeconds: MAX_LIFETIME, now: c.now });
  return { ...reg, clock: c, bumps, state };
}

async function scanTable(tableName: string) {
  return (await db.client.send(new ScanCommand({ TableName: tableName }))).Items ?? [];
}

describe('minting records the key', () => {
  it('writes the record (never the token) with its indexes and a TTL a day past expiry', async () => {
    const { service, tableName, clock: c } = await setup();
    const { issued } = await service.mint({ userId: 'u-1', companyId: 'c-1', expiresInSeconds: 3600 }, 'ci deploy', PORTAL);
    const items = await scanTable(tableName);
    expect(items).toHaveLength(1);
    const claims = decodeJwt(issued.apikey);
    expect(items[0]).toEqual({
      pk: { S: `KEY#${issued.key_id}` },
      sk: { S: 'KEY' },
      key_id: { S: issued.key_id },
      user_id: { S: 'u-1' },
      company_id: { S: 'c-1' },
      name: { S: 'ci deploy' },
      kid: { S: expect.any(String) },
      created_at: { S: new Date(c.t).toISOString() },
      expires_at: { S: issued.expires_at },
      minter: { S: PORTAL.arn },
      gsi1pk: { S: 'USER#u-1' },
      gsi1sk: { S: `${new Date(c.t).toISOString()}#${issued.key_id}` },
      gsi2pk: { S: 'COMPANY#c-1' },
      gsi2sk: { S: `${new Date(c.t).toISOString()}#${issued.key_id}` },
      ttl: { N: String(claims.exp! + 86_400) },
    });
    expect(claims.jti).toBe(issued.key_id);
    expect(JSON.stringify(items)).not.toContain(issued.apikey.split('.')[2]);
  });

  it('never overwrites a record: a key whose id is taken is not returned', async () => {
    const c = clock();
    const { service, tableName } = await registry(db, { now: c.now, newKeyId: () => 'same-id' });
    const first = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    await expect(service.mint({ userId: 'u-2', companyId: 'c-2' }, undefined, PORTAL)).rejects.toBeInstanceOf(RegistryUnavailableError);
    const items = await scanTable(tableName);
    expect(items.map((i) => [i.key_id.S, i.user_id.S])).toEqual([[first.record.key_id, 'u-1']]);
  });

  it('lists keys by user and by company, newest first', async () => {
    const { service, clock: c } = await setup();
    const ids: string[] = [];
    for (const [user, company] of [['u-1', 'c-1'], ['u-2', 'c-1'], ['u-1', 'c-2']]) {
      ids.push((await service.mint({ userId: user, companyId: company }, undefined, PORTAL)).issued.key_id);
      c.advance(1000);
    }
    const byUser = await service.list({ scope: 'user', id: 'u-1', limit: 25 });
    const byCompany = await service.list({ scope: 'company', id: 'c-1', limit: 25 });
    expect(byUser.keys.map((k) => k.key_id)).toEqual([ids[2], ids[0]]);
    expect(byCompany.keys.map((k) => k.key_id)).toEqual([ids[1], ids[0]]);
    expect(byUser.keys[1]).toEqual({ key_id: ids[0], user_id: 'u-1', company_id: 'c-1', name: null, kid: expect.any(String), created_at: expect.any(String), expires_at: expect.any(String), status: 'active' });
    expect(byUser.next).toBeUndefined();
  });
});

describe('listing', () => {
  it('pages with limit and next, and refuses a cursor of another listing or a tampered one', async () => {
    const { service, clock: c } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.unshift((await service.mint({ userId: 'u-1', companyId: 'c-1' }, `k${i}`, PORTAL)).issued.key_id);
      c.advance(10);
    }
    const seen: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const page = await service.list({ scope: 'user', id: 'u-1', limit: 2, next });
      seen.push(...page.keys.map((k) => k.key_id));
      next = page.next;
      pages++;
    } while (next);
    expect(seen).toEqual(ids);
    expect(pages).toBeGreaterThanOrEqual(3);

    const first = await service.list({ scope: 'user', id: 'u-1', limit: 2 });
    const cursor = JSON.parse(Buffer.from(first.next!, 'base64url').toString());
    const tampered = [
      'not base64!',
      Buffer.from('{"pk":').toString('base64url'),
      encodeNext({ ...Object.fromEntries(Object.entries(cursor).map(([k, v]) => [k, { S: v as string }])), gsi1pk: { S: 'USER#u-2' } }),
      encodeNext({ ...Object.fromEntries(Object.entries(cursor).map(([k, v]) => [k, { S: v as string }])), extra: { S: 'x' } }),
      Buffer.from(JSON.stringify({ ...cursor, pk: 'WATERMARK#USER#u-1' })).toString('base64url'),
      Buffer.from(JSON.stringify({ ...cursor, pk: `KEZ#${cursor.pk.slice(4)}` })).toString('base64url'),
    ];
    for (const bad of tampered) {
      await expect(service.list({ scope: 'user', id: 'u-1', limit: 2, next: bad })).rejects.toMatchObject({ field: 'next' });
    }
    // The user's cursor is not the company listing's either.
    await expect(service.list({ scope: 'company', id: 'c-1', limit: 2, next: first.next })).rejects.toBeInstanceOf(InputError);
  });

  it('filters a page by status: active, revoked, expired', async () => {
    const { service, clock: c } = await setup();
    const short = await service.mint({ userId: 'u-1', companyId: 'c-1', expiresInSeconds: 60 }, undefined, PORTAL);
    const revoked = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    const active = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    await service.revoke(revoked.issued.key_id, PORTAL);
    c.advance(61_000);
    const ids = async (status: 'active' | 'revoked' | 'expired') => (await service.list({ scope: 'user', id: 'u-1', limit: 25, status })).keys.map((k) => k.key_id);
    expect(await ids('active')).toEqual([active.issued.key_id]);
    expect(await ids('revoked')).toEqual([revoked.issued.key_id]);
    expect(await ids('expired')).toEqual([short.issued.key_id]);
  });
});

describe('get and revoke', () => {
  it('reads one key, or 404 for an unknown id', async () => {
    const { service } = await setup();
    const { issued } = await service.mint({ userId: 'u-1', companyId: 'c-1' }, 'n', PORTAL);
    await expect(service.get(issued.key_id)).resolves.toMatchObject({ key_id: issued.key_id, name: 'n', status: 'active' });
    await expect(service.get('nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('revokes once: a second DELETE answers the same revoked_at and schedules nothing; unknown is 404', async () => {
    const { service, clock: c, bumps, tableName } = await setup();
    const { issued } = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    c.advance(1000);
    const first = await service.revoke(issued.key_id, PORTAL);
    expect(first).toMatchObject({ changed: true, key: { status: 'revoked', revoked_at: new Date(c.t).toISOString() } });
    expect(bumps).toEqual([{ due: c.t + 8000, now: c.t }]);
    await expect(service.revoke(issued.key_id, PORTAL)).resolves.toMatchObject({ changed: false });
    c.advance(1000);
    const again = await service.revoke(issued.key_id, PORTAL);
    expect(again).toMatchObject({ changed: false, key: { revoked_at: first.key.revoked_at } });
    expect(bumps).toHaveLength(1);
    await expect(service.revoke('unknown', PORTAL)).rejects.toBeInstanceOf(NotFoundError);
    // A DELETE of an unknown id creates nothing.
    expect((await scanTable(tableName)).map((i) => i.pk.S)).toEqual([`KEY#${issued.key_id}`]);
  });

  it('answers with a warning, not an error, when the cache invalidation cannot be scheduled', async () => {
    const c = clock();
    const warnings: string[] = [];
    const { service } = await registry(db, { now: c.now, scheduleBump: async () => Promise.reject(new Error('queue down')), onWarning: (m) => warnings.push(m) });
    const { issued } = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    const out = await service.revoke(issued.key_id, PORTAL);
    expect(out.key.status).toBe('revoked');
    expect(out.warning).toMatch(/cache/);
    expect(warnings).toEqual(['authorizer cache invalidation not scheduled']);
  });
});

describe('roll', () => {
  it('with no grace: a new key for the same user, company and name; the old one is revoked now', async () => {
    const { service, clock: c, bumps, state } = await setup();
    const old = await service.mint({ userId: 'u-1', companyId: 'c-1', expiresInSeconds: 7200 }, 'deploy', PORTAL);
    c.advance(60_000);
    const { issued } = await service.roll(old.issued.key_id, 0, PORTAL);
    expect(issued).toEqual({ apikey: expect.any(String), token_type: 'Bearer', key_id: expect.any(String), expires_at: new Date(Math.floor(c.t / 1000) * 1000 + 7_200_000).toISOString(), replaces: old.issued.key_id });
    expect(decodeJwt(issued.apikey)).toMatchObject({ sub: 'u-1', org_id: 'c-1', jti: issued.key_id });
    await expect(service.get(issued.key_id)).resolves.toMatchObject({ name: 'deploy', status: 'active', replaces: old.issued.key_id });
    await expect(service.get(old.issued.key_id)).resolves.toMatchObject({ status: 'revoked', replaced_by: issued.key_id, revoked_at: new Date(c.t).toISOString() });
    expect(bumps).toEqual([{ due: c.t + 8000, now: c.t }]);
    await expect(state.check(await subjectOf(old.issued.apikey, c.t))).resolves.toEqual({ revoked: true, reason: 'revoked' });
    await expect(state.check(await subjectOf(issued.apikey, c.t))).resolves.toEqual({ revoked: false });
  });

  it('with a grace: the old key works until the grace ends, then is refused; the bump is scheduled for then', async () => {
    const { service, clock: c, bumps, state } = await setup();
    const old = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    const rolledAt = c.t;
    await service.roll(old.issued.key_id, 3600, PORTAL);
    expect(bumps).toEqual([{ due: rolledAt + 3_600_000 + 8000, now: rolledAt }]);
    const subject = await subjectOf(old.issued.apikey, c.t);
    await expect(service.get(old.issued.key_id)).resolves.toMatchObject({ status: 'active', revoked_at: new Date(rolledAt + 3_600_000).toISOString() });
    await expect(state.check(subject)).resolves.toEqual({ revoked: false });
    c.advance(3_600_000 - 1);
    await expect(state.check(subject)).resolves.toEqual({ revoked: false });
    c.advance(1);
    await expect(state.check(subject)).resolves.toEqual({ revoked: true, reason: 'revoked' });
    await expect(service.get(old.issued.key_id)).resolves.toMatchObject({ status: 'revoked' });
  });

  it('a DELETE during the grace revokes at once', async () => {
    const { service, clock: c } = await setup();
    const old = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    await service.roll(old.issued.key_id, 3600, PORTAL);
    c.advance(1000);
    await expect(service.revoke(old.issued.key_id, PORTAL)).resolves.toMatchObject({ changed: true, key: { status: 'revoked', revoked_at: new Date(c.t).toISOString() } });
  });

  it('refuses to roll a revoked, expired or already rolled key (409), or an unknown one (404)', async () => {
    const { service, clock: c, tableName } = await setup();
    const revoked = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    const expiring = await service.mint({ userId: 'u-1', companyId: 'c-1', expiresInSeconds: 10 }, undefined, PORTAL);
    const rolled = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    await service.revoke(revoked.issued.key_id, PORTAL);
    const replacement = await service.roll(rolled.issued.key_id, 600, PORTAL);
    c.advance(11_000);
    await expect(service.roll(revoked.issued.key_id, 0, PORTAL)).rejects.toThrow(/is revoked/);
    await expect(service.roll(expiring.issued.key_id, 0, PORTAL)).rejects.toThrow(/is expired/);
    await expect(service.roll(rolled.issued.key_id, 0, PORTAL)).rejects.toThrow(new ConflictError(`Key "${rolled.issued.key_id}" was rolled already: its replacement is "${replacement.issued.key_id}".`));
    await expect(service.roll('unknown', 0, PORTAL)).rejects.toBeInstanceOf(NotFoundError);
    expect(await scanTable(tableName)).toHaveLength(4);
  });

  it('refuses a revoked key after one read, signing and writing nothing', async () => {
    const c = clock();
    const counted = countingClient(db.client);
    const { service } = await registry(db, { now: c.now, client: counted });
    const { record } = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    await service.revoke(record.key_id, PORTAL);
    counted.calls.length = 0;
    await expect(service.roll(record.key_id, 0, PORTAL)).rejects.toBeInstanceOf(ConflictError);
    expect(counted.calls).toEqual(['GetItem']);
  });

  it('removes the new record and returns no key when the old one is revoked in between', async () => {
    const c = clock();
    const reg = await registry(db, { now: c.now });
    const old = await reg.service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    // A concurrent DELETE lands between the roll's read and its conditional write.
    const store = reg.store;
    const scheduleReplacement = store.scheduleReplacement;
    store.scheduleReplacement = async (...args) => {
      await store.revokeKey(old.issued.key_id, new Date(c.t).toISOString(), c.t, PORTAL.arn);
      return scheduleReplacement(...args);
    };
    await expect(reg.service.roll(old.issued.key_id, 0, PORTAL)).rejects.toBeInstanceOf(ConflictError);
    expect((await scanTable(reg.tableName)).map((i) => i.pk.S)).toEqual([`KEY#${old.issued.key_id}`]);
  });
});

describe('revocations by user or company (watermark)', () => {
  it('refuses every key issued to the user before now, portal keys without jti included; later keys work at once', async () => {
    const { service, clock: c, state, bumps } = await setup();
    const before = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    const otherUser = await service.mint({ userId: 'u-2', companyId: 'c-1' }, undefined, PORTAL);
    const portal = await portalToken('u-1', 'c-9', c.t, Math.floor(c.t / 1000));
    const portalNoIat = await portalToken('u-1', 'c-9', c.t);
    c.advance(5000);
    const out = await service.revokeIssuedBefore('user', 'u-1', PORTAL);
    expect(out).toEqual({ notBefore: new Date(Math.floor(c.t / 1000) * 1000).toISOString(), revokedKeys: 0 });
    expect(bumps).toEqual([{ due: c.t + 8000, now: c.t }]);
    c.advance(1000);
    const after = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    const check = async (token: string) => (await state.check(await subjectOf(token, c.t))).revoked;
    expect(await check(before.issued.apikey)).toBe(true);
    expect(await check(portal)).toBe(true);
    expect(await check(portalNoIat)).toBe(true);
    expect(await check(otherUser.issued.apikey)).toBe(false);
    expect(await check(after.issued.apikey)).toBe(false);
  });

  it('refuses every key issued to the company before now, whatever the user', async () => {
    const { service, clock: c, state } = await setup();
    const a = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    const b = await service.mint({ userId: 'u-2', companyId: 'c-1' }, undefined, PORTAL);
    const other = await service.mint({ userId: 'u-3', companyId: 'c-2' }, undefined, PORTAL);
    c.advance(2000);
    await service.revokeIssuedBefore('company', 'c-1', PORTAL);
    c.advance(1000);
    const after = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    const revoked = async (token: string) => (await state.check(await subjectOf(token, c.t))).revoked;
    expect([await revoked(a.issued.apikey), await revoked(b.issued.apikey), await revoked(other.issued.apikey), await revoked(after.issued.apikey)]).toEqual([true, true, false, false]);
  });

  it('lists, shows and refuses to roll a key a watermark refuses: revoked, naming the watermark; later keys stay active', async () => {
    const { service, clock: c } = await setup();
    const before = await service.mint({ userId: 'u-1', companyId: 'c-1' }, 'ci', PORTAL);
    const otherUser = await service.mint({ userId: 'u-2', companyId: 'c-1' }, undefined, PORTAL);
    c.advance(3000);
    const { notBefore } = await service.revokeIssuedBefore('company', 'c-1', PORTAL);
    c.advance(1000);
    const after = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);

    await expect(service.get(before.record.key_id)).resolves.toMatchObject({ status: 'revoked', watermark_not_before: notBefore });
    expect(await service.get(before.record.key_id)).not.toHaveProperty('revoked_at');
    await expect(service.get(after.record.key_id)).resolves.not.toHaveProperty('watermark_not_before');
    const listed = async (status: 'active' | 'revoked') => (await service.list({ scope: 'user', id: 'u-1', status, limit: 10 })).keys.map((k) => k.key_id);
    expect(await listed('revoked')).toEqual([before.record.key_id]);
    expect(await listed('active')).toEqual([after.record.key_id]);
    expect((await service.list({ scope: 'company', id: 'c-1', status: 'revoked', limit: 10 })).keys.map((k) => k.key_id).sort()).toEqual([before.record.key_id, otherUser.record.key_id].sort());
    await expect(service.roll(before.record.key_id, 0, PORTAL)).rejects.toThrow(new ConflictError(`Key "${before.record.key_id}" is revoked by a watermark (POST /revocations): only an active key can be rolled.`));
    await expect(service.roll(after.record.key_id, 0, PORTAL)).resolves.toMatchObject({ issued: { replaces: after.record.key_id } });
  });

  it('revokes by id the keys minted earlier in the watermark’s own second, and not those minted after it', async () => {
    const { service, clock: c, state } = await setup();
    c.advance(200);
    const sameSecond = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    c.advance(500);
    const sameMillisecond = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    const out = await service.revokeIssuedBefore('user', 'u-1', PORTAL);
    expect(out.revokedKeys).toBe(2);
    await expect(service.get(sameMillisecond.record.key_id)).resolves.toMatchObject({ status: 'revoked' });
    c.advance(100);
    const afterSameSecond = await service.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, PORTAL);
    expect(decodeJwt(sameSecond.issued.apikey).iat).toBe(decodeJwt(afterSameSecond.issued.apikey).iat);
    await expect(state.check(await subjectOf(sameSecond.issued.apikey, c.t))).resolves.toEqual({ revoked: true, reason: 'revoked' });
    await expect(state.check(await subjectOf(afterSameSecond.issued.apikey, c.t))).resolves.toEqual({ revoked: false });
  });

  it('never moves a watermark back', async () => {
    const { store } = await setup();
    await expect(store.putWatermark({ scope: 'user', id: 'u-1', notBefore: 2000 }, 2_000_000, 0, PORTAL.arn)).resolves.toBe(2000);
    await expect(store.putWatermark({ scope: 'user', id: 'u-1', notBefore: 1000 }, 1_000_000, 0, PORTAL.arn)).resolves.toBe(2000);
    await expect(store.putWatermark({ scope: 'user', id: 'u-1', notBefore: 3000 }, 3_000_000, 0, PORTAL.arn)).resolves.toBe(3000);
  });

  it('gives the watermark a TTL of its time plus the longest token lifetime plus a day', async () => {
    const { service, clock: c, tableName } = await setup();
    await service.revokeIssuedBefore('company', 'c-1', PORTAL);
    const [item] = await scanTable(tableName);
    const second = Math.floor(c.t / 1000);
    expect(item).toMatchObject({ pk: { S: 'WATERMARK#COMPANY#c-1' }, sk: { S: 'WATERMARK' }, company_id: { S: 'c-1' }, not_before: { N: String(second) }, ttl: { N: String(second + MAX_LIFETIME + 86_400) }, gsi3pk: { S: 'CHANGES' } });
  });
});
