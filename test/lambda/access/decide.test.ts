/**
 * decide(): the Lambda authorizer's pipeline over its three token kinds, with real crypto and real sources
 * injected: the application service and the authorizer's directory on a local DynamoDB (dynalite), the
 * revocation state on the same change feed, an outside identity provider on 127.0.0.1 (its JWK Set fetched
 * over HTTP), this stack's own keys (HS256, minted by the registry service). Only Moesif governance is a
 * stand-in (it records what it is asked), and every clock is one hand-moved clock.
 */
import { SignJWT, type JWTPayload } from 'jose';
import { decide, type AccessDeps } from '../../../lambda/access/decide';
import { KeySourceUnavailableError } from '../../../lambda/jwt/key-source';
import { createOutsideIssuers } from '../../../lambda/jwt/outside-tokens';
import { parseTrustedIssuers } from '../../../lambda/jwt/trusted-issuers';
import type { GovernanceSource, GovernanceSubject, GovernanceVerdict } from '../../../lambda/moesif/governance';
import { createApplicationDirectory } from '../../../lambda/registry/application-directory';
import { createChangeFeed } from '../../../lambda/registry/changes';
import { createRevocationState } from '../../../lambda/registry/revocation-state';
import { createRegistryService } from '../../../lambda/registry/service';
import { createRegistryStore } from '../../../lambda/registry/store';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { closedPortUrl, countingClient, LocalDynamoDb } from '../../support/dynamodb';
import { idpKey, LocalIdp, signWith, type IdpKey } from '../../support/idp-server';
import { ADMIN, applications, keyPair, publicJwk, type ClientKeyPair } from '../registry/application-fixture';
import { clock, JWT, MAX_LIFETIME, signingRing } from '../registry/fixture';

const db = new LocalDynamoDb();
const idp = new LocalIdp();
let idpKeys: { signing: IdpKey; stranger: IdpKey };

beforeAll(async () => {
  await Promise.all([db.start(), idp.start()]);
  idpKeys = { signing: await idpKey('RS256'), stranger: await idpKey('RS256') };
});
afterAll(() => Promise.all([db.stop(), idp.stop()]));

/** A DynamoDB client that reaches nothing (one attempt): the registry is down. */
async function deadDynamoDb(): Promise<DynamoDBClient> {
  return new DynamoDBClient({ endpoint: await closedPortUrl(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
}

const REFRESH_MS = 5000;
const FACTS = { verb: 'GET', route: '/orders/42', ip: '203.0.113.9', headers: { 'user-agent': 'jest' } };

/** A governance source that records what it is asked and blocks the companies listed. */
function governance(blocked: string[] = []) {
  const asked: GovernanceSubject[] = [];
  const source: GovernanceSource = {
    async check(subject): Promise<GovernanceVerdict> {
      asked.push(subject);
      return blocked.includes(subject.companyId ?? '')
        ? { allow: false, reason: 'blocked', ruleId: 'rule-overdue', detail: 'company_in_cohort', stale: false }
        : { allow: true, reason: 'not_blocked', stale: false };
    },
    refresh: async () => true,
    fetches: 0,
    notModified: 0,
    failures: 0,
  };
  return { asked, source };
}

async function setup(options: { cacheOff?: boolean; governance?: GovernanceSource; clientTokenMaxLifetimeSeconds?: number; directoryClient?: DynamoDBClient } = {}) {
  const c = clock();
  const apps = await applications(db, { now: c.now });
  const ring = await signingRing();
  // This stack's own keys, on the same table (the key routes of key-admin).
  const keys = createRegistryService({ store: createRegistryStore(db.client, apps.tableName), jwt: JWT, signer: async () => ring.signer, refreshSeconds: 5, now: c.now });
  const revocations = createRevocationState({ feed: createChangeFeed(db.client, apps.tableName), refreshMs: REFRESH_MS, failMode: 'closed', maxLifetimeSeconds: MAX_LIFETIME, now: c.now });
  const reads = countingClient(options.directoryClient ?? db.client);
  const directory = createApplicationDirectory({ client: reads, tableName: apps.tableName, now: c.now, changes: revocations });
  idp.reset();
  idp.keys = [idpKeys.signing.jwk];
  const outside = createOutsideIssuers(parseTrustedIssuers([{ issuer: idp.issuer, audience: JWT.audience, companyIdClaim: 'org' }]), { now: c.now });
  const revocationChecks = jest.spyOn(revocations, 'check');
  const ownKeys = { get: async () => ring, refresh: async () => false, fetches: 0 };
  const deps: AccessDeps = {
    own: { ...JWT, algorithm: 'HS256', clockToleranceSeconds: 0, acceptPortalTokens: false },
    ownKeys,
    outside,
    directory,
    revocations,
    governance: options.governance,
    clientTokenMaxLifetimeSeconds: options.clientTokenMaxLifetimeSeconds ?? 300,
    cacheOff: options.cacheOff ?? false,
    now: () => new Date(c.t),
  };
  const ask = (token: string | undefined, routeKey = 'GET /orders/{id}') => decide({ token, routeKey, facts: FACTS }, deps);
  /** Past one refresh interval: every authorizer has read the change feed since. */
  const settle = () => c.advance(REFRESH_MS);
  return { ...apps, clock: c, keys, ownKeys, revocations, directory, reads, revocationChecks, ask, settle };
}
type Setup = Awaited<ReturnType<typeof setup>>;

/** An active application (of company `acme`) with a registered ES256 key and an accepted subscription to a published plan. */
async function subscribed(s: Setup, options: { clientId?: string; routes?: string[]; companyId?: string } = {}) {
  const clientId = options.clientId ?? 'orders-app';
  await s.service.createApplication({ name: 'orders', companyId: options.companyId ?? 'acme', clientId }, ADMIN);
  const pair = keyPair('ES256');
  const { kid } = await s.service.registerKey(clientId, { jwk: publicJwk(pair) }, ADMIN);
  const { plan_id: planId } = await s.service.createPlan({ name: 'gold', autoValidate: true, routes: options.routes }, ADMIN);
  await s.service.transitionPlan(planId, 'publish', ADMIN);
  const { subscription_id: subscriptionId } = await s.service.subscribe(clientId, planId, ADMIN);
  return { clientId, kid, pair, planId, subscriptionId };
}

/** A client-signed token as an application makes it (iss = sub = client id, five minutes), with `claims` overriding. */
function clientToken(s: Setup, pair: ClientKeyPair, kid: string, clientId: string, claims: JWTPayload = {}): Promise<string> {
  const iat = Math.floor(s.clock.t / 1000);
  const payload: JWTPayload = { iss: clientId, sub: clientId, aud: JWT.audience, iat, exp: iat + 300, ...claims };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  return new SignJWT(payload).setProtectedHeader({ alg: pair.alg, kid, typ: 'JWT' }).sign(pair.privateKey);
}

/** An access token of the outside IdP for the application `clientId` (its `client_id` claim). */
function outsideToken(s: Setup, clientId: string, claims: JWTPayload = {}, key = idpKeys.signing): Promise<string> {
  const iat = Math.floor(s.clock.t / 1000);
  return signWith(key, { iss: idp.issuer, aud: JWT.audience, sub: 'user-7', client_id: clientId, iat, exp: iat + 3600, jti: 'idp-tok-1', ...claims });
}

/** An application for the IdP's client `clientId`: no key of its own (its tokens are the IdP's), subscribed. */
async function idpApplication(s: Setup, clientId = 'idp-client-1', routes?: string[]) {
  await s.service.createApplication({ name: 'mobile', companyId: 'acme', clientId }, ADMIN);
  const { plan_id: planId } = await s.service.createPlan({ name: 'silver', autoValidate: true, routes }, ADMIN);
  await s.service.transitionPlan(planId, 'publish', ADMIN);
  const { subscription_id: subscriptionId } = await s.service.subscribe(clientId, planId, ADMIN);
  return { clientId, planId, subscriptionId };
}

describe('allowed: each kind with the context it passes on', () => {
  it('an own key: user, company and key id from its claims, nothing of an application', async () => {
    const s = await setup();
    const { issued, record } = await s.keys.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, ADMIN);
    expect(await s.ask(issued.apikey)).toEqual({ allow: true, kind: 'own', context: { userId: 'u-1', companyId: 'c-1', keyId: record.key_id } });
  });

  it('a client-signed token: the application is the user, its company_id the company, its jti the key id, with its plan', async () => {
    const s = await setup();
    const { clientId, kid, pair, planId } = await subscribed(s);
    const token = await clientToken(s, pair, kid, clientId, { jti: 'req-1' });
    expect(await s.ask(token)).toEqual({ allow: true, kind: 'client', context: { userId: clientId, companyId: 'acme', keyId: 'req-1', clientId, planId } });
    // No jti, no keyId (never an empty or made-up one).
    const bare = await s.ask(await clientToken(s, pair, kid, clientId));
    expect(bare).toEqual({ allow: true, kind: 'client', context: { userId: clientId, companyId: 'acme', clientId, planId } });
  });

  it('an outside IdP token: its user, the company from its company claim, else the application’s company_id', async () => {
    const s = await setup();
    const { clientId, planId } = await idpApplication(s);
    expect(await s.ask(await outsideToken(s, clientId, { org: 'globex' }))).toEqual({
      allow: true,
      kind: 'outside',
      context: { userId: 'user-7', companyId: 'globex', keyId: 'idp-tok-1', clientId, planId },
    });
    expect(await s.ask(await outsideToken(s, clientId))).toEqual({ allow: true, kind: 'outside', context: { userId: 'user-7', companyId: 'acme', keyId: 'idp-tok-1', clientId, planId } });
    // Discovery and the JWK Set once; the cached set verifies the second token.
    expect([idp.count('/.well-known/openid-configuration'), idp.count('/jwks')]).toEqual([1, 1]);
  });

  it('a warm lookup costs no DynamoDB call: the directory answers from memory until a change or its TTL', async () => {
    const s = await setup();
    const { clientId, kid, pair } = await subscribed(s);
    const token = await clientToken(s, pair, kid, clientId);
    expect(await s.ask(token)).toMatchObject({ allow: true });
    // Cold: key, application, subscriptions, plan.
    expect(s.reads.calls).toEqual(['GetItem', 'GetItem', 'Query', 'GetItem']);
    for (let i = 0; i < 20; i++) expect(await s.ask(token)).toMatchObject({ allow: true });
    expect(s.reads.calls).toHaveLength(4);
  });
});

describe('refused, with a reason code', () => {
  it('unknown_application: an outside token whose client id claim names no application', async () => {
    const s = await setup();
    expect(await s.ask(await outsideToken(s, 'nobody'))).toEqual({ allow: false, kind: 'outside', reason: 'unknown_application', detail: 'nobody' });
  });

  it('application_suspended: both kinds, from the next refresh on; resuming restores them', async () => {
    const s = await setup();
    const app = await subscribed(s);
    const idpApp = await idpApplication(s);
    const client = () => clientToken(s, app.pair, app.kid, app.clientId);
    const outside = () => outsideToken(s, idpApp.clientId);
    expect(await s.ask(await client())).toMatchObject({ allow: true });
    expect(await s.ask(await outside())).toMatchObject({ allow: true });
    await s.service.setApplicationStatus(app.clientId, 'suspend', ADMIN);
    await s.service.setApplicationStatus(idpApp.clientId, 'suspend', ADMIN);
    s.settle();
    expect(await s.ask(await client())).toEqual({ allow: false, kind: 'client', reason: 'application_suspended', detail: 'suspended' });
    expect(await s.ask(await outside())).toEqual({ allow: false, kind: 'outside', reason: 'application_suspended', detail: idpApp.clientId });
    await s.service.setApplicationStatus(app.clientId, 'resume', ADMIN);
    await s.service.setApplicationStatus(idpApp.clientId, 'resume', ADMIN);
    s.settle();
    expect(await s.ask(await client())).toMatchObject({ allow: true });
    expect(await s.ask(await outside())).toMatchObject({ allow: true });
  });

  it('no_subscription: none, a pending one, a rejected one', async () => {
    const s = await setup();
    await s.service.createApplication({ name: 'a', companyId: 'acme', clientId: 'waiting' }, ADMIN);
    const pair = keyPair();
    const { kid } = await s.service.registerKey('waiting', { jwk: publicJwk(pair) }, ADMIN);
    const token = () => clientToken(s, pair, kid, 'waiting');
    expect(await s.ask(await token())).toEqual({ allow: false, kind: 'client', reason: 'no_subscription', detail: 'waiting' });
    const { plan_id: planId } = await s.service.createPlan({ name: 'manual', autoValidate: false }, ADMIN);
    await s.service.transitionPlan(planId, 'publish', ADMIN);
    const { subscription_id: id } = await s.service.subscribe('waiting', planId, ADMIN);
    s.settle();
    expect(await s.ask(await token())).toMatchObject({ allow: false, reason: 'no_subscription' });
    await s.service.transitionSubscription(id, 'reject', ADMIN);
    s.settle();
    expect(await s.ask(await token())).toMatchObject({ allow: false, reason: 'no_subscription' });
  });

  it('route_not_allowed: the plan’s routes decide, for client and outside tokens alike', async () => {
    const s = await setup();
    const app = await subscribed(s, { routes: ['GET /orders/*'] });
    const idpApp = await idpApplication(s, 'idp-client-1', ['GET /orders/*']);
    const client = await clientToken(s, app.pair, app.kid, app.clientId);
    const outside = await outsideToken(s, idpApp.clientId);
    expect(await s.ask(client, 'GET /orders/{id}')).toMatchObject({ allow: true, context: { planId: app.planId } });
    expect(await s.ask(client, 'DELETE /orders/{id}')).toEqual({ allow: false, kind: 'client', reason: 'route_not_allowed', detail: app.clientId });
    expect(await s.ask(outside, 'GET /orders/{id}')).toMatchObject({ allow: true, context: { planId: idpApp.planId } });
    expect(await s.ask(outside, 'GET /admin')).toEqual({ allow: false, kind: 'outside', reason: 'route_not_allowed', detail: idpApp.clientId });
  });

  it('a closed plan grants nothing (even to a subscription its close sweep missed); a deprecated one still does', async () => {
    const s = await setup();
    const app = await subscribed(s);
    const token = () => clientToken(s, app.pair, app.kid, app.clientId);
    await s.service.transitionPlan(app.planId, 'deprecate', ADMIN);
    s.settle();
    expect(await s.ask(await token())).toMatchObject({ allow: true, context: { planId: app.planId } });
    await s.service.transitionPlan(app.planId, 'close', ADMIN);
    s.settle();
    expect(await s.ask(await token())).toMatchObject({ allow: false, reason: 'no_subscription' });

    // A plan closed with its subscription still accepted (a sweep that missed it): the plan's status decides.
    const other = await subscribed(s, { clientId: 'other-app' });
    const closed = await s.store.setPlanStatus(other.planId, ['published'], 'closed', { at: new Date(s.clock.t).toISOString(), changedAtMs: s.clock.t, by: ADMIN.arn });
    expect(closed?.status).toBe('closed');
    expect((await s.store.getSubscription(other.subscriptionId))?.status).toBe('accepted');
    s.settle();
    expect(await s.ask(await clientToken(s, other.pair, other.kid, other.clientId))).toMatchObject({ allow: false, reason: 'no_subscription' });
  });

  it('unknown_kid: a removed key; the application’s other key still works', async () => {
    const s = await setup();
    const app = await subscribed(s);
    const second = keyPair('RS256');
    const { kid: secondKid } = await s.service.registerKey(app.clientId, { jwk: publicJwk(second) }, ADMIN);
    s.settle();
    expect(await s.ask(await clientToken(s, app.pair, app.kid, app.clientId))).toMatchObject({ allow: true });
    await s.service.removeKey(app.clientId, app.kid, ADMIN);
    s.settle();
    expect(await s.ask(await clientToken(s, app.pair, app.kid, app.clientId))).toEqual({ allow: false, kind: 'client', reason: 'unknown_kid' });
    expect(await s.ask(await clientToken(s, second, secondKid, app.clientId))).toMatchObject({ allow: true });
  });

  it('wrong_audience: a client token or an outside token for another API', async () => {
    const s = await setup();
    const app = await subscribed(s);
    const idpApp = await idpApplication(s);
    expect(await s.ask(await clientToken(s, app.pair, app.kid, app.clientId, { aud: 'other-api' }))).toEqual({ allow: false, kind: 'client', reason: 'wrong_audience' });
    expect(await s.ask(await outsideToken(s, idpApp.clientId, { aud: 'other-api' }))).toEqual({ allow: false, kind: 'outside', reason: 'wrong_audience' });
  });

  it('lifetime_exceeded: exp − iat above clientTokenMaxLifetimeSeconds, even when exp is near; iat is required', async () => {
    const s = await setup();
    const app = await subscribed(s);
    const now = Math.floor(s.clock.t / 1000);
    const made200sAgo = await clientToken(s, app.pair, app.kid, app.clientId, { iat: now - 200, exp: now + 200 });
    const farExp = await clientToken(s, app.pair, app.kid, app.clientId, { iat: now, exp: now + 400 });
    const noIat = await clientToken(s, app.pair, app.kid, app.clientId, { iat: undefined });
    expect(await s.ask(made200sAgo)).toEqual({ allow: false, kind: 'client', reason: 'lifetime_exceeded' });
    expect(await s.ask(farExp)).toEqual({ allow: false, kind: 'client', reason: 'lifetime_exceeded' });
    expect(await s.ask(noIat)).toEqual({ allow: false, kind: 'client', reason: 'missing_claim', detail: 'iat' });
    // The limit is the setting, not a constant: the same tokens pass under a longer one.
    const lenient = await setup({ clientTokenMaxLifetimeSeconds: 600 });
    const again = await subscribed(lenient);
    const t = Math.floor(lenient.clock.t / 1000);
    expect(await lenient.ask(await clientToken(lenient, again.pair, again.kid, again.clientId, { iat: t - 200, exp: t + 200 }))).toMatchObject({ allow: true });
    expect(await lenient.ask(await clientToken(lenient, again.pair, again.kid, again.clientId, { iat: t, exp: t + 400 }))).toMatchObject({ allow: true });
  });

  it('an outside token signed by a key not in its issuer’s JWK Set: unknown_kid (after one forced refetch), or bad_signature under a listed kid', async () => {
    const s = await setup();
    const idpApp = await idpApplication(s);
    expect(await s.ask(await outsideToken(s, idpApp.clientId))).toMatchObject({ allow: true });
    expect(idp.count('/jwks')).toBe(1);
    expect(await s.ask(await outsideToken(s, idpApp.clientId, {}, idpKeys.stranger))).toEqual({ allow: false, kind: 'outside', reason: 'unknown_kid' });
    // An unknown kid may be a rotation: refetched once, then rate-limited.
    expect(idp.count('/jwks')).toBe(2);
    expect(await s.ask(await outsideToken(s, idpApp.clientId, {}, idpKeys.stranger))).toMatchObject({ allow: false, reason: 'unknown_kid' });
    expect(idp.count('/jwks')).toBe(2);
    const impostor = await signWith(idpKeys.stranger, { iss: idp.issuer, aud: JWT.audience, sub: 'user-7', client_id: idpApp.clientId, iat: Math.floor(s.clock.t / 1000), exp: Math.floor(s.clock.t / 1000) + 60 }, { kid: idpKeys.signing.kid });
    expect(await s.ask(impostor)).toEqual({ allow: false, kind: 'outside', reason: 'bad_signature' });
  });

  it('iss routes only: a client token claiming our issuer goes to own verification and fails there, without a directory read', async () => {
    const s = await setup();
    const app = await subscribed(s);
    const asOurs = await clientToken(s, app.pair, app.kid, app.clientId, { iss: JWT.issuer });
    expect(await s.ask(asOurs)).toEqual({ allow: false, kind: 'own', reason: 'alg_not_allowed', detail: 'ES256' });
    // No `iss` at all is ours too (portal keys), and fails the same way.
    expect(await s.ask(await clientToken(s, app.pair, app.kid, app.clientId, { iss: undefined }))).toMatchObject({ allow: false, kind: 'own' });
    expect(s.reads.calls).toEqual([]);
    // Claiming the trusted issuer: that issuer's JWK Set alone decides, and it does not hold the client's key.
    const asIdp = await clientToken(s, app.pair, app.kid, app.clientId, { iss: idp.issuer, client_id: app.clientId });
    expect(await s.ask(asIdp)).toEqual({ allow: false, kind: 'outside', reason: 'alg_not_allowed', detail: 'ES256' });
    expect(s.reads.calls).toEqual([]);
  });

  it('wrong_issuer: an application’s key never vouches for another application', async () => {
    const s = await setup();
    const a = await subscribed(s, { clientId: 'app-a' });
    const b = await subscribed(s, { clientId: 'app-b', companyId: 'globex' });
    expect(await s.ask(await clientToken(s, b.pair, b.kid, b.clientId))).toMatchObject({ allow: true, context: { clientId: 'app-b', companyId: 'globex' } });
    expect(await s.ask(await clientToken(s, a.pair, a.kid, 'app-b'))).toEqual({ allow: false, kind: 'client', reason: 'wrong_issuer' });
    // Right iss, wrong sub.
    expect(await s.ask(await clientToken(s, a.pair, a.kid, 'app-a', { sub: 'app-b' }))).toEqual({ allow: false, kind: 'client', reason: 'wrong_subject' });
  });
});

describe('revocations apply to own tokens only', () => {
  it('a revoked own key and a company watermark refuse own tokens; the same company’s client and outside tokens pass, unconsulted', async () => {
    const s = await setup();
    const app = await subscribed(s);
    const idpApp = await idpApplication(s);
    const { issued, record } = await s.keys.mint({ userId: 'u-1', companyId: 'acme' }, undefined, ADMIN);
    const other = await s.keys.mint({ userId: 'u-2', companyId: 'globex' }, undefined, ADMIN);
    // Tokens made before the watermark below.
    const client = await clientToken(s, app.pair, app.kid, app.clientId);
    const outside = await outsideToken(s, idpApp.clientId);
    s.clock.advance(1000);
    await s.keys.revoke(other.record.key_id, ADMIN);
    await s.keys.revokeIssuedBefore('company', 'acme', ADMIN);
    // And the client application's own id as a user watermark: client tokens are not the registry's keys.
    await s.keys.revokeIssuedBefore('user', app.clientId, ADMIN);
    s.settle();

    s.revocationChecks.mockClear();
    expect(await s.ask(issued.apikey)).toEqual({ allow: false, kind: 'own', reason: 'revoked', keyId: record.key_id });
    expect(await s.ask(other.issued.apikey)).toEqual({ allow: false, kind: 'own', reason: 'revoked', keyId: other.record.key_id });
    expect(s.revocationChecks).toHaveBeenCalledTimes(2);
    expect(await s.ask(client)).toMatchObject({ allow: true, kind: 'client', context: { companyId: 'acme' } });
    expect(await s.ask(outside)).toMatchObject({ allow: true, kind: 'outside', context: { companyId: 'acme' } });
    expect(s.revocationChecks).toHaveBeenCalledTimes(2);
  });
});

describe('outages: decide() never throws, it refuses with a reason code', () => {
  it('the registry unreachable: client and outside tokens are refused (keys_unavailable, registry_unavailable)', async () => {
    const dead = await deadDynamoDb();
    try {
      const s = await setup({ directoryClient: dead });
      const app = await subscribed(s);
      const idpApp = await idpApplication(s);
      await expect(s.ask(await clientToken(s, app.pair, app.kid, app.clientId))).resolves.toEqual({ allow: false, kind: 'client', reason: 'keys_unavailable', detail: 'registry' });
      await expect(s.ask(await outsideToken(s, idpApp.clientId))).resolves.toEqual({ allow: false, kind: 'outside', reason: 'registry_unavailable', detail: idpApp.clientId });
    } finally {
      dead.destroy();
    }
  });

  it('this stack’s keys unreadable: own tokens are refused (keys_unavailable)', async () => {
    const s = await setup();
    const { issued } = await s.keys.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, ADMIN);
    s.ownKeys.get = async () => {
      throw new KeySourceUnavailableError('GetSecretValue failed: InternalServiceError');
    };
    await expect(s.ask(issued.apikey)).resolves.toEqual({ allow: false, kind: 'own', reason: 'keys_unavailable', detail: 'signing_keys' });
  });
});

describe('Moesif governance', () => {
  it('is asked with the identity only while API Gateway caches answers, with the request facts only when the cache is off', async () => {
    for (const cacheOff of [false, true]) {
      const g = governance();
      const s = await setup({ governance: g.source, cacheOff });
      const app = await subscribed(s);
      const idpApp = await idpApplication(s);
      const { issued } = await s.keys.mint({ userId: 'u-1', companyId: 'c-1' }, undefined, ADMIN);
      await s.ask(issued.apikey);
      await s.ask(await clientToken(s, app.pair, app.kid, app.clientId));
      await s.ask(await outsideToken(s, idpApp.clientId, { org: 'globex' }));
      const request = cacheOff ? FACTS : undefined;
      expect(g.asked).toEqual([
        { userId: 'u-1', companyId: 'c-1', request },
        { userId: app.clientId, companyId: 'acme', request },
        { userId: 'user-7', companyId: 'globex', request },
      ]);
    }
  });

  it('a block refuses a client token (reason governance, naming the client); a token refused before is never sent to it', async () => {
    const g = governance(['acme']);
    const s = await setup({ governance: g.source });
    const app = await subscribed(s);
    expect(await s.ask(await clientToken(s, app.pair, app.kid, app.clientId, { jti: 'req-9' }))).toEqual({
      allow: false,
      kind: 'client',
      reason: 'governance',
      governance: { allow: false, reason: 'blocked', ruleId: 'rule-overdue', detail: 'company_in_cohort', stale: false },
      keyId: 'req-9',
      clientId: app.clientId,
    });
    expect(g.asked).toHaveLength(1);
    await s.ask(await clientToken(s, app.pair, app.kid, app.clientId, { aud: 'other-api' }));
    await s.ask(await outsideToken(s, 'nobody'));
    expect(g.asked).toHaveLength(1);
  });
});
