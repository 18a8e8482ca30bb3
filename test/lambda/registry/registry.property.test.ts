/**
 * The key registry's records and the authorizer's revocation state against a model, over random histories of
 * mints, revocations, rolls (with a grace), watermarks, Moesif portal tokens and clock moves (fast-check).
 * Each run is a fresh registry table on dynalite with the real service writing it, and the authorizer's real
 * revocation state reading its change feed through a client that counts calls; one hand-moved clock drives both.
 *
 * Model: per key its user, company, name, created_at, iat, exp, revoked_at, replaces, replaced_by; per user and
 * company its watermark (epoch s); the portal tokens (no jti; iat or none, read as 0). Writing it out:
 *   revoke(k) at t     revoked_at := t unless revoked_at <= t (then nothing changes); unknown k → 404
 *   roll(k, g) at t    unknown → 404; replaced, revoked_at set, or expired → 409; else a new key (same user,
 *                      company, name and lifetime) and k gets revoked_at := t + g, replaced_by := new
 *   watermark(x) at t  mark(x) := ⌊t/1000⌋; and the keys of x created in [⌊t/1000⌋·1000, t] that are not revoked
 *                      at t get revoked_at := t (they share the watermark's iat, so `iat < mark` would pass them);
 *                      other keys' records are untouched, but read as revoked (below)
 *   covered(k)         the latest mark m of k's user or company with ⌊created/1000⌋ < m and m·1000 < exp (a key
 *                      issued before it that had not expired by then); the view names it (watermark_not_before)
 *   status(k, t)       revoked if revoked_at <= t or covered(k), else expired if exp <= t, else active; roll(k)
 *                      of a covered key is a 409 (it would hand back what a revoke-all took)
 *
 * Invariants, checked after every step:
 *   R1  (revocation state) every token minted so far that is not expired verifies, and the state refuses it ⇔
 *       the model as of the state's last load says it is revoked at t: revoked_at(jti) <= t, or
 *       iat < mark(user), or iat < mark(company), counting only marks with (mark + max lifetime + 1 day)·1000 >=
 *       the load's time (older ones are forgotten: every token issued before them has expired). The state loads
 *       at the first check once refreshMs has passed since its last load, so after a refresh (any clock move of
 *       refreshMs or more) this is the model as it is now, and before it the state answers exactly as of that
 *       load, never staler. An expired token is refused by verification (exp <= t) and never reaches the state.
 *   R2  (calls) the authorizer side makes exactly the loads predicted above, each one DynamoDB Query, so at most
 *       one call per refresh interval however many checks it answers.
 *   R3  (outcomes) each admin call answers what the model predicts: ok, 404 or 409; revoke's `changed` and view,
 *       the roll's new key (id, expiry, replaces, claims), the watermark's not_before and revokedKeys count.
 *   R4  (records) get(k) is the model's view of k (status, revoked_at, replaces, replaced_by; exactly those
 *       fields, so never the token); a listing by user or company, with or without a status filter and with a
 *       small `limit`, followed through `next`, yields exactly the model's keys, newest first, each once; and
 *       no item of the table holds any token.
 * get and list are commands too, so they run at random moments (during a grace, right after an expiry). Every
 * run ends with a refresh, portal keys at each watermark's edge (iat one second before it, and in its second),
 * a DELETE of every key still in its grace, a sweep of every key and every listing, a key's expiry to the
 * millisecond (its last moment and its first expired one), then moves the clock by the maximum lifetime and by
 * a day more, checking portal keys without iat each time (the forgetting of watermarks).
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { createChangeFeed } from '../../../lambda/registry/changes';
import { STATUSES, type KeyStatus, type KeyView } from '../../../lambda/registry/keys';
import { createRevocationState } from '../../../lambda/registry/revocation-state';
import type { Scope } from '../../../lambda/registry/schema';
import { ConflictError, NotFoundError } from '../../../lambda/registry/service';
import { countingClient, LocalDynamoDb } from '../../support/dynamodb';
import { clock, MAX_LIFETIME, PORTAL, portalToken, registry, signingRing, subjectOf } from './fixture';

const RUNS = 40;
const MAX_STEPS = 30;
// REGISTRY_PROPERTY_SEED explores other histories; the default keeps runs reproducible.
const SEED = Number(process.env.REGISTRY_PROPERTY_SEED ?? 20261202);
const REFRESH_MS = 5000;

const USERS = ['u-0', 'u-1', 'u-2'];
const COMPANIES = ['c-0', 'c-1'];
const NAMES = [undefined, 'deploy', 'ci'];
const UNKNOWN = 'no-such-key';
const HOUR = 3_600_000;
const DAY = 86_400_000;

/**
 * A key by its index among the keys minted so far (taken modulo their number); 'rolled' for the key rolled last
 * (so that DELETEs during a grace and second rolls happen), the newest key if none was; null for an unknown id.
 */
type KeyRef = number | 'rolled' | null;
type Command =
  | { op: 'mint'; user: number; company: number; name: number; life: number | undefined }
  | { op: 'revoke'; key: KeyRef }
  | { op: 'roll'; key: KeyRef; grace: number }
  | { op: 'watermark'; scope: Scope; id: number | 'newest' }
  /** `age`: how many seconds before now the portal says it issued the key (its iat); null for no iat. */
  | { op: 'portal'; user: number; company: number; age: number | null }
  | { op: 'advance'; ms: number | 'next second' }
  | { op: 'get'; key: KeyRef }
  | { op: 'list'; scope: Scope; id: number; status: KeyStatus | undefined; limit: number };

const user = fc.nat({ max: USERS.length - 1 });
const company = fc.nat({ max: COMPANIES.length - 1 });
const keyRef: fc.Arbitrary<KeyRef> = fc.oneof({ weight: 6, arbitrary: fc.nat() }, { weight: 3, arbitrary: fc.constant('rolled' as const) }, { weight: 2, arbitrary: fc.constant(null) });
const scopeId = fc.oneof(fc.record({ scope: fc.constant('user' as const), id: user }), fc.record({ scope: fc.constant('company' as const), id: company }));
const mintArb = fc.record({
  op: fc.constant('mint' as const),
  user,
  company,
  name: fc.nat({ max: NAMES.length - 1 }),
  // The maximum (30 days), lifetimes that end within a run, and odd ones.
  life: fc.oneof(fc.constant(undefined), fc.constant(90), fc.constant(3600), fc.integer({ min: 1, max: 600 })),
});
const advanceMs: fc.Arbitrary<number | 'next second'> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) }, // same millisecond
  { weight: 2, arbitrary: fc.constant('next second' as const) }, // to its first millisecond: iat + 1, the edge of a watermark
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 999 }) }, // same second, often
  { weight: 2, arbitrary: fc.integer({ min: 1000, max: REFRESH_MS - 1 }) }, // within the refresh interval
  { weight: 3, arbitrary: fc.constant(REFRESH_MS) },
  { weight: 3, arbitrary: fc.integer({ min: REFRESH_MS + 1, max: 600_000 }) }, // past short graces and lifetimes
  { weight: 2, arbitrary: fc.constantFrom(HOUR, HOUR + 1, DAY) }, // past a 1 h grace, past a 1 h key
  { weight: 1, arbitrary: fc.constantFrom(30 * DAY, 31 * DAY) }, // to and past the maximum lifetime: state pruned
);
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: mintArb },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('revoke' as const), key: keyRef }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('roll' as const), key: keyRef, grace: fc.oneof(fc.constant(0), fc.constant(3600), fc.integer({ min: 1, max: 600 })) }) },
  {
    weight: 3,
    // Often of the newest token's user or company: a watermark right after a mint (same or next second) is the edge.
    arbitrary: fc.tuple(scopeId, fc.nat({ max: 3 })).map(([s, pick]) => ({ op: 'watermark' as const, scope: s.scope, id: pick ? ('newest' as const) : s.id })),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('portal' as const), user, company, age: fc.oneof(fc.constant(null), fc.constantFrom(0, 1, 1), fc.integer({ min: 2, max: 600 })) }),
  },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: advanceMs }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('get' as const), key: keyRef }) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(scopeId, fc.constantFrom(undefined, 'active' as const, 'revoked' as const, 'expired' as const), fc.integer({ min: 1, max: 3 }))
      .map(([s, status, limit]) => ({ op: 'list' as const, ...s, status, limit })),
  },
);
/** A few mints first (else most early commands name no key), then anything. */
const historyArb = fc
  .tuple(fc.array(mintArb, { minLength: 1, maxLength: 5 }), fc.array(commandArb, { minLength: 1, maxLength: MAX_STEPS - 5, size: 'max' }))
  .map(([mints, rest]): Command[] => [...mints, ...rest]);

type Cause = 'delete' | 'roll' | 'watermark';
interface Key {
  id: string;
  user: string;
  company: string;
  name?: string;
  createdMs: number;
  iat: number;
  life: number;
  expMs: number;
  revokedAtMs?: number;
  /** What set revoked_at: a DELETE, a roll (grace), or a watermark's same-second revocation by id. */
  cause?: Cause;
  replaces?: string;
  replacedBy?: string;
  token: string;
}
interface Portal {
  user: string;
  company: string;
  iat?: number;
  expMs: number;
  token: string;
}
/** What the revocation state can know: revoked_at by key id, and the watermarks. */
interface Revocations {
  keys: Map<string, number>;
  marks: Record<Scope, Map<string, number>>;
}
interface Model {
  keys: Key[];
  portals: Portal[];
  marks: Record<Scope, Map<string, number>>;
  /** Whose token was minted last. */
  newest?: { user: string; company: string };
  /** The revocation state's predicted loads: when the last one was, what it read, how many so far. */
  loadedAt?: number;
  firstLoadAt?: number;
  loaded?: Revocations;
  loads: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const sec = (ms: number) => Math.floor(ms / 1000);
const idOf = (scope: Scope, i: number) => (scope === 'user' ? USERS : COMPANIES)[i];
/** A watermark's user or company: by index, or that of the newest token (a key or a portal key). */
function markId(m: Model, scope: Scope, id: number | 'newest'): string {
  if (id !== 'newest') return idOf(scope, id);
  return m.newest ? (scope === 'user' ? m.newest.user : m.newest.company) : idOf(scope, 0);
}
/** The id the service gives the next key: the registry is told to number them (1, 2, …) in minting order. */
const nextId = (m: Model) => `k-${String(m.keys.length + 1).padStart(3, '0')}`;
const ofScope = (k: Key, scope: Scope, id: string) => (scope === 'user' ? k.user : k.company) === id;

/** The latest watermark of k's user or company issued after k and before k expired (the model's covered(k)). */
function coveredBy(k: Key, m: Model): number | undefined {
  const marks = [m.marks.user.get(k.user), m.marks.company.get(k.company)].filter((x): x is number => x !== undefined && sec(k.createdMs) < x && x * 1000 < k.expMs);
  return marks.length ? Math.max(...marks) : undefined;
}

function statusOf(k: Key, now: number, m: Model): KeyStatus {
  if (k.revokedAtMs !== undefined && k.revokedAtMs <= now) return 'revoked';
  if (coveredBy(k, m) !== undefined) return 'revoked';
  return k.expMs <= now ? 'expired' : 'active';
}

/** What GET /keys/{id} should answer for `k` at `now`, written out field by field. */
function viewOf(k: Key, now: number, kid: string, m: Model): KeyView {
  const mark = coveredBy(k, m);
  return {
    key_id: k.id,
    user_id: k.user,
    company_id: k.company,
    name: k.name ?? null,
    kid,
    created_at: iso(k.createdMs),
    expires_at: iso(k.expMs),
    status: statusOf(k, now, m),
    ...(k.revokedAtMs !== undefined ? { revoked_at: iso(k.revokedAtMs) } : {}),
    ...(mark !== undefined ? { watermark_not_before: iso(mark * 1000) } : {}),
    ...(k.replaces !== undefined ? { replaces: k.replaces } : {}),
    ...(k.replacedBy !== undefined ? { replaced_by: k.replacedBy } : {}),
  };
}

/**
 * What the state holds after a load at `now`. A watermark is forgotten once every token issued before it has
 * expired (notBefore + the maximum lifetime + a day, as its item's TTL): from then on only a token without
 * `iat` (a portal key issued since, as far as anyone can tell) would notice, and it is accepted.
 */
function revocationsOf(m: Model, now: number): Revocations {
  const keys = new Map<string, number>();
  for (const k of m.keys) if (k.revokedAtMs !== undefined) keys.set(k.id, k.revokedAtMs);
  const live = (marks: Map<string, number>) => new Map([...marks].filter(([, notBefore]) => (notBefore + MAX_LIFETIME + DAY / 1000) * 1000 >= now));
  return { keys, marks: { user: live(m.marks.user), company: live(m.marks.company) } };
}

/** Whether revocations `r` refuse a token (its jti, user, company, iat) at `now`. */
function refuses(r: Revocations, t: { jti?: string; user: string; company: string; iat?: number }, now: number): boolean {
  const revokedAt = t.jti !== undefined ? r.keys.get(t.jti) : undefined;
  const iat = t.iat ?? 0;
  return (revokedAt !== undefined && revokedAt <= now) || iat < (r.marks.user.get(t.user) ?? -Infinity) || iat < (r.marks.company.get(t.company) ?? -Infinity);
}

const db = new LocalDynamoDb();
let kid: string;
beforeAll(async () => {
  await db.start();
  kid = (await signingRing()).signer.kid;
});
afterAll(() => db.stop());

async function system() {
  const c = clock();
  let serial = 0;
  const reg = await registry(db, { now: c.now, newKeyId: () => `k-${String(++serial).padStart(3, '0')}` });
  const counted = countingClient(db.client);
  const state = createRevocationState({ feed: createChangeFeed(counted, reg.tableName), refreshMs: REFRESH_MS, failMode: 'closed', maxLifetimeSeconds: MAX_LIFETIME, now: c.now });
  return { ...reg, clock: c, counted, state };
}
type System = Awaited<ReturnType<typeof system>>;

const stats = {
  runs: 0,
  steps: 0,
  outcomes: {} as Record<string, number>,
  checks: 0,
  refused: 0,
  causes: {} as Record<string, number>,
  /** Checks made while the state had not seen the latest change, whose verdict the latest change would flip. */
  staleDiffer: 0,
  expiredRefused: 0,
  refusedByOldMark: 0,
  /** Checks at a watermark's edge, by scope: iat one second before the mark (refused), or in its second (accepted). */
  edges: {} as Record<string, number>,
  gets: 0,
  listings: 0,
  pages: 0,
  listed: {} as Record<string, number>,
  loads: 0,
};
const count = (bag: Record<string, number>, key: string) => (bag[key] = (bag[key] ?? 0) + 1);

/** A key's model entry from its reference, or undefined for the unknown id. */
function keyAt(m: Model, ref: KeyRef): Key | undefined {
  if (ref === null || m.keys.length === 0) return undefined;
  if (ref === 'rolled') return m.keys.findLast((k) => k.replacedBy !== undefined) ?? m.keys[m.keys.length - 1];
  return m.keys[ref % m.keys.length];
}

async function outcome<T>(run: () => Promise<T>): Promise<{ ok: T } | { status: 404 | 409 }> {
  try {
    return { ok: await run() };
  } catch (err) {
    if (err instanceof NotFoundError) return { status: 404 };
    if (err instanceof ConflictError) return { status: 409 };
    throw err;
  }
}

/** A Moesif portal key, minted outside the registry (iat as given, or none), with an hour to live from now. */
async function addPortal(m: Model, user: string, company: string, iat: number | undefined, now: number): Promise<void> {
  const token = await portalToken(user, company, now, iat);
  m.portals.push({ user, company, iat, expMs: (sec(now) + 3600) * 1000, token });
  m.newest = m.portals[m.portals.length - 1];
}

/** Runs one command against the service and the model; asserts R3 and R4 for what it answers. */
async function step(s: System, m: Model, c: Command, label: object): Promise<void> {
  const now = s.clock.t;
  switch (c.op) {
    case 'mint': {
      const [u, co, name] = [USERS[c.user], COMPANIES[c.company], NAMES[c.name]];
      const { issued, record } = await s.service.mint({ userId: u, companyId: co, ...(c.life !== undefined ? { expiresInSeconds: c.life } : {}) }, name, PORTAL);
      const life = c.life ?? MAX_LIFETIME;
      const k: Key = { id: nextId(m), user: u, company: co, name, createdMs: now, iat: sec(now), life, expMs: (sec(now) + life) * 1000, token: issued.apikey };
      expect({ ...label, issued: { key_id: issued.key_id, expires_at: issued.expires_at }, record }).toEqual({
        ...label,
        issued: { key_id: k.id, expires_at: iso(k.expMs) },
        record: { key_id: k.id, user_id: u, company_id: co, ...(name !== undefined ? { name } : {}), kid, created_at: iso(now), expires_at: iso(k.expMs), minter: PORTAL.arn },
      });
      m.keys.push(k);
      m.newest = k;
      count(stats.outcomes, 'mint ok');
      return;
    }
    case 'revoke': {
      const k = keyAt(m, c.key);
      const got = await outcome(() => s.service.revoke(k?.id ?? UNKNOWN, PORTAL));
      if (!k) {
        expect({ ...label, got }).toEqual({ ...label, got: { status: 404 } });
        count(stats.outcomes, 'revoke 404');
        return;
      }
      const changed = !(k.revokedAtMs !== undefined && k.revokedAtMs <= now);
      const inGrace = changed && k.revokedAtMs !== undefined;
      if (changed) Object.assign(k, { revokedAtMs: now, cause: 'delete' });
      expect({ ...label, got }).toEqual({ ...label, got: { ok: { key: viewOf(k, now, kid, m), changed } } });
      count(stats.outcomes, inGrace ? 'revoke ok (during a grace)' : changed ? 'revoke ok' : 'revoke unchanged');
      return;
    }
    case 'roll': {
      const k = keyAt(m, c.key);
      const expectedId = nextId(m);
      const got = await outcome(() => s.service.roll(k?.id ?? UNKNOWN, c.grace, PORTAL));
      const status = !k ? 404 : k.replacedBy !== undefined || k.revokedAtMs !== undefined || k.expMs <= now || coveredBy(k, m) !== undefined ? 409 : undefined;
      if (!k || status !== undefined) {
        expect({ ...label, got }).toEqual({ ...label, got: { status } });
        count(stats.outcomes, `roll ${status}`);
        return;
      }
      const expMs = (sec(now) + k.life) * 1000;
      const next: Key = { id: expectedId, user: k.user, company: k.company, name: k.name, createdMs: now, iat: sec(now), life: k.life, expMs, replaces: k.id, token: '' };
      expect({ ...label, got: 'ok' in got ? { ...got.ok, issued: { ...got.ok.issued, apikey: '…' } } : got }).toEqual({
        ...label,
        got: { issued: { apikey: '…', token_type: 'Bearer', key_id: next.id, expires_at: iso(expMs), replaces: k.id } },
      });
      next.token = (got as { ok: { issued: { apikey: string } } }).ok.issued.apikey;
      expect(await subjectOf(next.token, now)).toEqual({ keyId: next.id, userId: next.user, companyId: next.company, iat: next.iat });
      Object.assign(k, { revokedAtMs: now + c.grace * 1000, cause: 'roll', replacedBy: next.id });
      m.keys.push(next);
      m.newest = next;
      count(stats.outcomes, c.grace === 0 ? 'roll ok (no grace)' : 'roll ok (grace)');
      return;
    }
    case 'watermark': {
      const id = markId(m, c.scope, c.id);
      const mark = sec(now);
      let revokedKeys = 0;
      for (const k of m.keys) {
        if (ofScope(k, c.scope, id) && k.createdMs >= mark * 1000 && k.createdMs <= now && statusOf(k, now, m) !== 'revoked') {
          Object.assign(k, { revokedAtMs: now, cause: 'watermark' });
          revokedKeys++;
        }
      }
      m.marks[c.scope].set(id, Math.max(m.marks[c.scope].get(id) ?? -Infinity, mark));
      const got = await s.service.revokeIssuedBefore(c.scope, id, PORTAL);
      expect({ ...label, got }).toEqual({ ...label, got: { notBefore: iso(m.marks[c.scope].get(id)! * 1000), revokedKeys } });
      count(stats.outcomes, revokedKeys ? 'watermark ok (same-second keys revoked)' : 'watermark ok');
      return;
    }
    case 'portal':
      await addPortal(m, USERS[c.user], COMPANIES[c.company], c.age === null ? undefined : sec(now) - c.age, now);
      count(stats.outcomes, 'portal');
      return;
    case 'advance':
      s.clock.advance(c.ms === 'next second' ? 1000 - (now % 1000) : c.ms);
      return;
    case 'get': {
      const k = keyAt(m, c.key);
      const got = await outcome(() => s.service.get(k?.id ?? UNKNOWN));
      expect({ ...label, got }).toEqual({ ...label, got: k ? { ok: viewOf(k, now, kid, m) } : { status: 404 } });
      stats.gets++;
      return;
    }
    case 'list':
      await checkListing(s, m, c.scope, idOf(c.scope, c.id), c.status, c.limit, label);
      return;
  }
}

/** R4 for one listing: every page through `next`, against the model's keys newest first. */
async function checkListing(s: System, m: Model, scope: Scope, id: string, status: KeyStatus | undefined, limit: number, label: object): Promise<void> {
  const now = s.clock.t;
  const expected = m.keys
    .filter((k) => ofScope(k, scope, id))
    .sort((a, b) => (`${iso(a.createdMs)}#${a.id}` < `${iso(b.createdMs)}#${b.id}` ? 1 : -1))
    .map((k) => viewOf(k, now, kid, m))
    .filter((v) => status === undefined || v.status === status);
  const total = m.keys.filter((k) => ofScope(k, scope, id)).length;
  const got: KeyView[] = [];
  let next: string | undefined;
  let pages = 0;
  do {
    const page = await s.service.list({ scope, id, status, limit, ...(next !== undefined ? { next } : {}) });
    got.push(...page.keys);
    next = page.next;
    pages++;
  } while (next !== undefined && pages <= total + 1);
  const listing = { scope, id, status, limit };
  // Each page holds `limit` keys before filtering, so the walk ends within ⌊total / limit⌋ + 1 pages.
  expect({ ...label, listing, got, endedWithin: pages <= Math.floor(total / limit) + 1 }).toEqual({ ...label, listing, got: expected, endedWithin: true });
  stats.listings++;
  stats.pages += pages;
  if (expected.length) count(stats.listed, status ?? 'any');
}

/** R1 and R2 at the current time: the state's load (if due), then every token. */
async function checkTokens(s: System, m: Model, label: object): Promise<void> {
  const now = s.clock.t;
  if (m.loadedAt === undefined || now - m.loadedAt >= REFRESH_MS) {
    m.loadedAt = now;
    m.firstLoadAt ??= now;
    m.loaded = revocationsOf(m, now);
    m.loads++;
  }
  // Someone the registry never heard of: the check that refreshes when a refresh is due.
  await expect(s.state.check({ userId: 'nobody', companyId: 'no-company', iat: sec(now) })).resolves.toEqual({ revoked: false });
  const current = revocationsOf(m, now);
  const tokens = [
    ...m.keys.map((k) => ({ jti: k.id, user: k.user, company: k.company, iat: k.iat, expMs: k.expMs, token: k.token, key: k as Key | undefined })),
    ...m.portals.map((p) => ({ ...p, jti: undefined, key: undefined })),
  ];
  for (const t of tokens) {
    const subject = await subjectOf(t.token, now).catch((err: Error) => err.message);
    if (t.expMs <= now) {
      expect({ ...label, jti: t.jti, subject }).toEqual({ ...label, jti: t.jti, subject: 'token refused: expired' });
      stats.expiredRefused++;
      continue;
    }
    const refused = refuses(m.loaded!, t, now);
    const verdict = await s.state.check(subject as Exclude<typeof subject, string>);
    expect({ ...label, jti: t.jti, user: t.user, company: t.company, iat: t.iat, verdict }).toEqual({
      ...label,
      jti: t.jti,
      user: t.user,
      company: t.company,
      iat: t.iat,
      verdict: refused ? { revoked: true, reason: 'revoked' } : { revoked: false },
    });
    stats.checks++;
    if (refused !== refuses(current, t, now)) stats.staleDiffer++;
    if (refused) {
      stats.refused++;
      const cause = t.key?.revokedAtMs !== undefined && t.key.revokedAtMs <= now ? t.key.cause! : t.jti ? 'watermark (iat)' : `portal ${t.iat === undefined ? 'without iat' : 'with iat'}`;
      count(stats.causes, cause);
      // A portal key without iat refused by watermarks kept only for their last day (older than the maximum lifetime).
      const newest = Math.max(m.loaded!.marks.user.get(t.user) ?? -Infinity, m.loaded!.marks.company.get(t.company) ?? -Infinity);
      if (cause === 'portal without iat' && (newest + MAX_LIFETIME) * 1000 < now) stats.refusedByOldMark++;
    }
    // The watermark's edge: a token of the second just before a mark (refused by it alone) or of the mark's own second.
    for (const scope of ['user', 'company'] as const) {
      const mark = m.loaded!.marks[scope].get(scope === 'user' ? t.user : t.company);
      const other = refuses({ ...m.loaded!, marks: { ...m.loaded!.marks, [scope]: new Map() } }, t, now);
      if (mark !== undefined && t.iat !== undefined && !other && t.iat - mark >= -1 && t.iat - mark <= 0) count(stats.edges, `${scope}: iat = mark${t.iat === mark ? '' : ' - 1'}`);
    }
  }
  // R2: exactly the predicted loads, each one Query: at most one call per refresh interval since the first.
  expect({ ...label, calls: s.counted.calls }).toEqual({ ...label, calls: Array(m.loads).fill('Query') });
  expect(m.loads).toBeLessThanOrEqual(1 + Math.floor((now - m.firstLoadAt!) / REFRESH_MS));
}

/**
 * The end of a run: a refresh; the watermarks' edges; a DELETE of every key in its grace; every key read, every
 * listing walked, no token in the table; a key's expiry to the millisecond; then the pruning.
 */
async function sweep(s: System, m: Model): Promise<void> {
  s.clock.advance(REFRESH_MS);
  const label = { step: 'sweep' };
  await checkTokens(s, m, label);
  // Each watermark's edge: portal keys of the second before it and of its own second, for a party that no other
  // watermark names (so that mark alone decides).
  for (const scope of ['user', 'company'] as const) {
    for (const [id, mark] of m.marks[scope]) {
      for (const iat of [mark - 1, mark]) await addPortal(m, scope === 'user' ? id : 'u-none', scope === 'company' ? id : 'c-none', iat, s.clock.t);
    }
  }
  await checkTokens(s, m, { step: 'sweep: edges' });
  // A DELETE during a grace the state has read already: the key's revocation moves earlier there too.
  const inGrace = m.keys.filter((k) => k.replacedBy !== undefined && k.revokedAtMs! > s.clock.t);
  for (const k of inGrace) await step(s, m, { op: 'revoke', key: m.keys.indexOf(k) }, { step: 'sweep: delete in grace' });
  s.clock.advance(REFRESH_MS);
  await checkTokens(s, m, { step: 'sweep: delete in grace' });
  for (const k of m.keys) await step(s, m, { op: 'get', key: m.keys.indexOf(k) }, label);
  await step(s, m, { op: 'get', key: null }, label);
  for (const id of USERS) await checkListing(s, m, 'user', id, undefined, 4, label);
  // Every key is in one company's listing: those, with each filter.
  for (const id of COMPANIES) for (const status of [undefined, ...STATUSES]) await checkListing(s, m, 'company', id, status, 4, label);
  const items = JSON.stringify((await db.client.send(new ScanCommand({ TableName: s.tableName }))).Items);
  const leaked = [...m.keys, ...m.portals].filter((t) => items.includes(t.token.split('.')[2]));
  expect(leaked.map((t) => ('id' in t ? t.id : 'portal'))).toEqual([]);

  // An expiry to the millisecond (a revoked key's if there is one, so the state's entry for it is at stake): the
  // key's last moment, with a load then, and its first expired one.
  const ahead = m.keys.filter((k) => k.expMs - s.clock.t >= REFRESH_MS);
  const probe = ahead.filter((k) => k.revokedAtMs !== undefined && k.revokedAtMs < k.expMs).concat(ahead).sort((a, b) => a.expMs - b.expMs)[0];
  if (probe) {
    for (const [n, to] of [probe.expMs - 1, probe.expMs].entries()) {
      s.clock.advance(to - s.clock.t);
      await checkTokens(s, m, { step: `sweep: expiry ${n}` });
      await step(s, m, { op: 'get', key: m.keys.indexOf(probe) }, { step: `sweep: expiry ${n}` });
    }
  }

  // The pruning's edge, whatever watermarks the run left: the maximum lifetime later, then a day more, portal
  // keys without iat for every user and company (the only tokens a forgotten watermark would let through).
  for (const [n, ms] of [MAX_LIFETIME * 1000, DAY].entries()) {
    s.clock.advance(ms);
    for (const u of USERS) for (const co of COMPANIES) await addPortal(m, u, co, undefined, s.clock.t);
    await checkTokens(s, m, { step: `epilogue ${n}` });
  }
}

describe('key registry records and revocations against the model (fast-check)', () => {
  it(`agree after every step of ${RUNS} random histories of up to ${MAX_STEPS} steps`, async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, async (commands) => {
        stats.runs++;
        const s = await system();
        const m: Model = { keys: [], portals: [], marks: { user: new Map(), company: new Map() }, loads: 0 };
        for (const [i, c] of commands.entries()) {
          stats.steps++;
          const label = { step: i, command: c, t: iso(s.clock.t) };
          await step(s, m, c, label);
          await checkTokens(s, m, label);
        }
        await sweep(s, m);
        stats.loads += m.loads;
      }),
      { numRuns: RUNS, seed: SEED },
    );
    if (process.env.REGISTRY_PROPERTY_STATS) process.stderr.write(`${JSON.stringify(stats)}\n`);
    // Not vacuous: every outcome and every cause of refusal occurred, stale verdicts mattered, listings had keys.
    expect(stats.runs).toBe(RUNS);
    expect(stats.steps).toBeGreaterThan(RUNS * 10);
    expect(Object.keys(stats.outcomes).sort()).toEqual(
      [
        ...['mint ok', 'portal', 'revoke 404', 'revoke ok', 'revoke ok (during a grace)', 'revoke unchanged'],
        ...['roll 404', 'roll 409', 'roll ok (grace)', 'roll ok (no grace)', 'watermark ok', 'watermark ok (same-second keys revoked)'],
      ].sort(),
    );
    expect(Object.keys(stats.causes).sort()).toEqual(['delete', 'portal with iat', 'portal without iat', 'roll', 'watermark', 'watermark (iat)']);
    expect(stats.refused).toBeGreaterThan(stats.checks / 20);
    expect(stats.refused).toBeLessThan(stats.checks);
    expect(stats.staleDiffer).toBeGreaterThan(0);
    expect(stats.expiredRefused).toBeGreaterThan(0);
    expect(stats.refusedByOldMark).toBeGreaterThan(0);
    expect(Object.keys(stats.edges).sort()).toEqual(['company: iat = mark', 'company: iat = mark - 1', 'user: iat = mark', 'user: iat = mark - 1']);
    expect(Object.keys(stats.listed).sort()).toEqual(['active', 'any', 'expired', 'revoked']);
  }, 120_000);
});
