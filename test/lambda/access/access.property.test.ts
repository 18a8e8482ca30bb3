/**
 * The authorizer's access decision against a model, over random admin histories (fast-check). Each run is a
 * fresh registry table on dynalite with the real application service writing it and the authorizer's real
 * revocation state, application directory and decide() reading it; one hand-moved clock drives them all.
 *
 * Invariant, checked after every step once one refresh interval has passed, for every application a ∈ A,
 * every key slot k of a, and every route r ∈ ROUTES, for a fresh token a signs with k:
 *
 *   allow(a, k, r)  ⇔  active(a) ∧ registered(k, a) ∧ ∃ s ∈ subs(a): accepted(s) ∧ plan(s) ∈ {published, deprecated} ∧ r ∈ routes(plan(s))
 *
 * and when allowed, the plan passed on is that of the oldest such subscription; when refused, the reason names
 * the first condition that fails, in this order: the key (unknown_kid), the application (application_suspended),
 * a usable subscription (no_subscription), the route (route_not_allowed).
 * The model also predicts each admin call's outcome (done, 404, 409), so the histories it walks are the ones
 * the service walks.
 */
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { decide, type AccessDeps } from '../../../lambda/access/decide';
import type { OutsideIssuers } from '../../../lambda/jwt/outside-tokens';
import { createApplicationDirectory } from '../../../lambda/registry/application-directory';
import { createChangeFeed } from '../../../lambda/registry/changes';
import { createRevocationState } from '../../../lambda/registry/revocation-state';
import { ConflictError, NotFoundError } from '../../../lambda/registry/service';
import { LocalDynamoDb } from '../../support/dynamodb';
import { ADMIN, applications, keyPair, publicJwk, type ClientKeyPair } from '../registry/application-fixture';
import { clock, JWT, MAX_LIFETIME, signingRing } from '../registry/fixture';

const RUNS = 30;
const MAX_STEPS = 40;
const SEED = 20261123;
const REFRESH_MS = 5000;

const APPS = 2;
const SLOTS = 2;
const ROUTES = ['GET /orders/{id}', 'DELETE /orders/{id}', 'GET /reports'] as const;
/** A plan's route restriction, and the routes above it allows (written out by hand, not computed by routeAllowed). */
const ROUTE_CHOICES: { routes?: string[]; allows: readonly boolean[] }[] = [
  { routes: undefined, allows: [true, true, true] },
  { routes: ['GET /orders/*'], allows: [true, false, false] },
  { routes: ['ANY /orders/**'], allows: [true, true, false] },
  { routes: ['GET /reports'], allows: [false, false, true] },
];

type Command =
  | { op: 'createApp' | 'suspend' | 'resume'; app: number }
  | { op: 'registerKey' | 'removeKey'; app: number; slot: number }
  | { op: 'createPlan'; choice: number; auto: boolean }
  | { op: 'publish' | 'deprecate' | 'closePlan'; plan: number }
  | { op: 'subscribe'; app: number; plan: number }
  | { op: 'accept' | 'reject' | 'closeSub'; sub: number };

const app = fc.nat({ max: APPS - 1 });
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('createApp' as const), app }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('registerKey' as const), app, slot: fc.nat({ max: SLOTS - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('removeKey' as const), app, slot: fc.nat({ max: SLOTS - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('suspend' as const, 'resume' as const), app }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('createPlan' as const), choice: fc.nat({ max: ROUTE_CHOICES.length - 1 }), auto: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('publish' as const, 'deprecate' as const, 'closePlan' as const), plan: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('subscribe' as const), app, plan: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('accept' as const, 'reject' as const, 'closeSub' as const), sub: fc.nat() }) },
);

/**
 * A history: a short build-up drawn from the constructive calls (so that applications get keys and
 * subscriptions to published plans often enough for allows to occur), then any calls at all.
 */
const buildArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('createApp' as const), app }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('registerKey' as const), app, slot: fc.nat({ max: SLOTS - 1 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('createPlan' as const), choice: fc.nat({ max: ROUTE_CHOICES.length - 1 }), auto: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('publish' as const), plan: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('subscribe' as const), app, plan: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('accept' as const), sub: fc.nat() }) },
);
const BUILD_STEPS = 16;
const BUILD_ORDER: Command['op'][] = ['createApp', 'registerKey', 'createPlan', 'publish', 'subscribe', 'accept'];
const historyArb = fc
  .tuple(fc.array(buildArb, { minLength: 6, maxLength: BUILD_STEPS, size: 'max' }), fc.array(commandArb, { minLength: 1, maxLength: MAX_STEPS - BUILD_STEPS, size: 'max' }))
  // The build-up in dependency order (applications, keys, plans, publishing, subscribing, accepting), else most
  // of it would be 404s and 409s; order within a kind stays as drawn.
  .map(([build, rest]) => [...[...build].sort((x, y) => BUILD_ORDER.indexOf(x.op) - BUILD_ORDER.indexOf(y.op)), ...rest]);

type PlanStatus = 'staging' | 'published' | 'deprecated' | 'closed';
type SubStatus = 'pending' | 'accepted' | 'rejected' | 'closed';
interface Model {
  apps: Map<number, 'active' | 'suspended'>;
  /** `${app}/${slot}` of the registered keys. */
  keys: Set<string>;
  plans: { id: string; status: PlanStatus; choice: number; auto: boolean }[];
  /** In creation order (the clock moves between steps, so also in created_at order). */
  subs: { id: string; app: number; plan: number; status: SubStatus }[];
}
type Outcome = 'done' | 'not_found' | 'conflict';

/** The outcome the admin call should have, from the model alone. */
function predict(m: Model, c: Command): Outcome {
  const status = 'app' in c ? m.apps.get(c.app) : undefined;
  switch (c.op) {
    case 'createApp':
      return status ? 'conflict' : 'done';
    case 'suspend':
      return !status ? 'not_found' : status === 'active' ? 'done' : 'conflict';
    case 'resume':
      return !status ? 'not_found' : status === 'suspended' ? 'done' : 'conflict';
    case 'registerKey':
      return !status ? 'not_found' : m.keys.has(`${c.app}/${c.slot}`) ? 'conflict' : 'done';
    case 'removeKey':
      return m.keys.has(`${c.app}/${c.slot}`) ? 'done' : 'not_found';
    case 'createPlan':
      return 'done';
    case 'publish':
      return m.plans[c.plan].status === 'staging' ? 'done' : 'conflict';
    case 'deprecate':
      return m.plans[c.plan].status === 'published' ? 'done' : 'conflict';
    case 'closePlan':
      return m.plans[c.plan].status !== 'closed' ? 'done' : 'conflict';
    case 'subscribe': {
      if (!status) return 'not_found';
      if (status !== 'active' || m.plans[c.plan].status !== 'published') return 'conflict';
      return m.subs.some((s) => s.app === c.app && s.plan === c.plan && (s.status === 'pending' || s.status === 'accepted')) ? 'conflict' : 'done';
    }
    case 'accept':
      return m.subs[c.sub].status === 'pending' && m.plans[m.subs[c.sub].plan].status === 'published' ? 'done' : 'conflict';
    case 'reject':
      return m.subs[c.sub].status === 'pending' ? 'done' : 'conflict';
    case 'closeSub':
      return m.subs[c.sub].status === 'pending' || m.subs[c.sub].status === 'accepted' ? 'done' : 'conflict';
  }
}

/** What the model says the authorizer answers for a token of `a` signed with slot `k`, on route `r`. */
function expected(m: Model, a: number, k: number, r: number): { allow: true; planId: string } | { allow: false; reason: string } {
  if (!m.keys.has(`${a}/${k}`)) return { allow: false, reason: 'unknown_kid' };
  if (m.apps.get(a) !== 'active') return { allow: false, reason: 'application_suspended' };
  const usable = m.subs.filter((s) => s.app === a && s.status === 'accepted' && ['published', 'deprecated'].includes(m.plans[s.plan].status));
  const granting = usable.find((s) => ROUTE_CHOICES[m.plans[s.plan].choice].allows[r]);
  if (granting) return { allow: true, planId: m.plans[granting.plan].id };
  return { allow: false, reason: usable.length ? 'route_not_allowed' : 'no_subscription' };
}

const db = new LocalDynamoDb();
/** Key pairs by app and slot, made once: a slot's key is the same across runs (its kid too). */
let pairs: ClientKeyPair[][];
beforeAll(async () => {
  await db.start();
  pairs = Array.from({ length: APPS }, () => Array.from({ length: SLOTS }, () => keyPair('ES256')));
});
afterAll(() => db.stop());

const clientId = (a: number) => `app-${a}`;
const kidOf = (a: number, k: number) => `key-${a}-${k}`;

async function system() {
  const c = clock();
  const apps = await applications(db, { now: c.now });
  const revocations = createRevocationState({ feed: createChangeFeed(db.client, apps.tableName), refreshMs: REFRESH_MS, failMode: 'closed', maxLifetimeSeconds: MAX_LIFETIME, now: c.now });
  const directory = createApplicationDirectory({ client: db.client, tableName: apps.tableName, now: c.now, changes: revocations });
  const ring = await signingRing();
  const deps: AccessDeps = {
    own: { ...JWT, algorithm: 'HS256', clockToleranceSeconds: 0, acceptPortalTokens: false },
    ownKeys: { get: async () => ring, refresh: async () => false, fetches: 0 },
    outside: new Map() as OutsideIssuers,
    directory,
    revocations,
    clientTokenMaxLifetimeSeconds: 300,
    cacheOff: false,
    now: () => new Date(c.t),
  };
  return { clock: c, service: apps.service, directory, deps };
}

/** Runs the admin call for `c` against the service; answers its outcome and the id it created, if any. */
async function run(s: Awaited<ReturnType<typeof system>>, m: Model, c: Command): Promise<{ outcome: Outcome; id?: string }> {
  const { service } = s;
  try {
    switch (c.op) {
      case 'createApp':
        await service.createApplication({ name: `app ${c.app}`, companyId: `company-${c.app}`, clientId: clientId(c.app) }, ADMIN);
        return { outcome: 'done' };
      case 'suspend':
      case 'resume':
        await service.setApplicationStatus(clientId(c.app), c.op, ADMIN);
        return { outcome: 'done' };
      case 'registerKey':
        await service.registerKey(clientId(c.app), { jwk: { ...publicJwk(pairs[c.app][c.slot]), kid: kidOf(c.app, c.slot) } }, ADMIN);
        return { outcome: 'done' };
      case 'removeKey':
        await service.removeKey(clientId(c.app), kidOf(c.app, c.slot), ADMIN);
        return { outcome: 'done' };
      case 'createPlan': {
        const routes = ROUTE_CHOICES[c.choice].routes;
        return { outcome: 'done', id: (await service.createPlan({ name: `plan ${m.plans.length}`, routes, autoValidate: c.auto }, ADMIN)).plan_id };
      }
      case 'publish':
      case 'deprecate':
        await service.transitionPlan(m.plans[c.plan].id, c.op, ADMIN);
        return { outcome: 'done' };
      case 'closePlan':
        await service.transitionPlan(m.plans[c.plan].id, 'close', ADMIN);
        return { outcome: 'done' };
      case 'subscribe':
        return { outcome: 'done', id: (await service.subscribe(clientId(c.app), m.plans[c.plan].id, ADMIN)).subscription_id };
      case 'accept':
      case 'reject':
        await service.transitionSubscription(m.subs[c.sub].id, c.op, ADMIN);
        return { outcome: 'done' };
      case 'closeSub':
        await service.transitionSubscription(m.subs[c.sub].id, 'close', ADMIN);
        return { outcome: 'done' };
    }
  } catch (err) {
    if (err instanceof ConflictError) return { outcome: 'conflict' };
    if (err instanceof NotFoundError) return { outcome: 'not_found' };
    throw err;
  }
}

/** The model after a call the service did. */
function apply(m: Model, c: Command, id: string | undefined): void {
  switch (c.op) {
    case 'createApp':
      m.apps.set(c.app, 'active');
      break;
    case 'suspend':
      m.apps.set(c.app, 'suspended');
      break;
    case 'resume':
      m.apps.set(c.app, 'active');
      break;
    case 'registerKey':
      m.keys.add(`${c.app}/${c.slot}`);
      break;
    case 'removeKey':
      m.keys.delete(`${c.app}/${c.slot}`);
      break;
    case 'createPlan':
      m.plans.push({ id: id!, status: 'staging', choice: c.choice, auto: c.auto });
      break;
    case 'publish':
      m.plans[c.plan].status = 'published';
      break;
    case 'deprecate':
      m.plans[c.plan].status = 'deprecated';
      break;
    case 'closePlan':
      m.plans[c.plan].status = 'closed';
      // Closing a plan closes its pending and accepted subscriptions.
      for (const sub of m.subs) if (sub.plan === c.plan && (sub.status === 'pending' || sub.status === 'accepted')) sub.status = 'closed';
      break;
    case 'subscribe':
      m.subs.push({ id: id!, app: c.app, plan: c.plan, status: m.plans[c.plan].auto ? 'accepted' : 'pending' });
      break;
    case 'accept':
      m.subs[c.sub].status = 'accepted';
      break;
    case 'reject':
      m.subs[c.sub].status = 'rejected';
      break;
    case 'closeSub':
      m.subs[c.sub].status = 'closed';
      break;
  }
}

/** Plan and subscription indexes taken modulo what exists; undefined when the command refers to nothing yet. */
function resolve(m: Model, c: Command): Command | undefined {
  if ('plan' in c) return m.plans.length ? { ...c, plan: c.plan % m.plans.length } : undefined;
  if ('sub' in c) return m.subs.length ? { ...c, sub: c.sub % m.subs.length } : undefined;
  return c;
}

function token(now: number, a: number, k: number): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({ iss: clientId(a), sub: clientId(a), aud: JWT.audience, iat, exp: iat + 300 }).setProtectedHeader({ alg: 'ES256', kid: kidOf(a, k), typ: 'JWT' }).sign(pairs[a][k].privateKey);
}

describe('access decisions against the model (fast-check)', () => {
  it(`agree after every step of ${RUNS} random admin histories of up to ${MAX_STEPS} steps`, async () => {
    const stats = { runs: 0, steps: 0, skipped: 0, decisions: 0, allowed: 0, outcomes: {} as Record<string, number>, reasons: {} as Record<string, number> };
    await fc.assert(
      fc.asyncProperty(historyArb, async (commands) => {
        stats.runs++;
        const s = await system();
        const m: Model = { apps: new Map(), keys: new Set(), plans: [], subs: [] };
        for (const [step, raw] of commands.entries()) {
          const c = resolve(m, raw);
          if (!c) {
            stats.skipped++;
            continue;
          }
          stats.steps++;
          const predicted = predict(m, c);
          const { outcome, id } = await run(s, m, c);
          expect({ step, command: c, outcome }).toEqual({ step, command: c, outcome: predicted });
          stats.outcomes[outcome] = (stats.outcomes[outcome] ?? 0) + 1;
          if (outcome === 'done') apply(m, c, id);

          s.clock.advance(REFRESH_MS);
          for (let a = 0; a < APPS; a++) {
            for (let k = 0; k < SLOTS; k++) {
              const t = await token(s.clock.t, a, k);
              for (let r = 0; r < ROUTES.length; r++) {
                const decision = await decide({ token: t, routeKey: ROUTES[r], facts: {} }, s.deps);
                const got = decision.allow ? { allow: true, planId: decision.context.planId } : { allow: false, reason: decision.reason };
                expect({ step, command: c, app: a, slot: k, route: ROUTES[r], got }).toEqual({ step, command: c, app: a, slot: k, route: ROUTES[r], got: expected(m, a, k, r) });
                stats.decisions++;
                if (decision.allow) stats.allowed++;
                else stats.reasons[decision.reason] = (stats.reasons[decision.reason] ?? 0) + 1;
              }
            }
          }
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    if (process.env.ACCESS_PROPERTY_STATS) process.stderr.write(`${JSON.stringify(stats)}\n`);
    // Not vacuous: the histories reached every verdict, and the service both did and refused calls.
    expect(stats.runs).toBe(RUNS);
    expect(stats.allowed).toBeGreaterThan(stats.decisions / 50);
    expect(Object.keys(stats.reasons).sort()).toEqual(['application_suspended', 'no_subscription', 'route_not_allowed', 'unknown_kid']);
    expect(Object.keys(stats.outcomes).sort()).toEqual(['conflict', 'done', 'not_found']);
  }, 120_000);
});
