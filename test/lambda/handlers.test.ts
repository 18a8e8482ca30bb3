import { decodeJwt, decodeProtectedHeader, jwtVerify, createLocalJWKSet } from 'jose';
import type { Algorithm } from '../../lambda/jwt/algorithms';
import { generateJwk, publicJwks } from '../../lambda/jwt/jwk-set';
import { authorizerEvent, getEvent, issueEvent } from '../support/events';
import { loadFunctions, localRegistry, TEST_ISSUER } from '../support/functions';
import { LocalSecretsManager, useLocalAws } from '../support/secrets-server';

const sm = new LocalSecretsManager();
const registry = localRegistry();
const ISSUER = TEST_ISSUER;

beforeAll(async () => useLocalAws('SECRETS_MANAGER', await sm.start()));
afterAll(() => sm.stop());
afterEach(() => {
  sm.failWith = undefined;
});

async function load(alg: Algorithm, env: Record<string, string> = {}, secret?: string) {
  const stored = await sm.putKeySet(`s-${Math.random()}`, secret ?? JSON.stringify({ keys: [await generateJwk(alg)] }), alg);
  return { arn: stored.arn, publicArn: stored.publicArn, ...loadFunctions({ ...stored.env, KEY_REGISTRY_TABLE: await registry.table(), JWT_ALGORITHM: alg, JWT_USER_ID_FIELD: 'customer_id', JWT_EXPIRES_IN: '30d', ...env }) };
}

function body(res: { body?: string }): any {
  return JSON.parse(res.body ?? 'null');
}

describe('issue-key handler', () => {
  it('mints a JWT with the configured claims, header and lifetime', async () => {
    const { issue } = await load('ES256');
    const before = Math.floor(Date.now() / 1000);
    const res = await issue(issueEvent({ user_id: 'u-1', company_id: 'c-1', expires_in: '1h' }));
    expect(res.statusCode).toBe(201);
    const out = body(res);
    const header = decodeProtectedHeader(out.apikey);
    const claims = decodeJwt(out.apikey);
    expect(header).toEqual({ alg: 'ES256', kid: expect.any(String), typ: 'JWT' });
    expect(claims).toEqual({ customer_id: 'u-1', org_id: 'c-1', iss: ISSUER, aud: 'jwt-api', jti: out.key_id, iat: expect.any(Number), exp: expect.any(Number) });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(out.expires_at).toBe(new Date(claims.exp! * 1000).toISOString());
  });

  it('uses the configured maximum when no lifetime is asked for', async () => {
    const { issue } = await load('HS256');
    const claims = decodeJwt(body(await issue(issueEvent({ user_id: 'u', company_id: 'c' }))).apikey);
    expect(claims.exp! - claims.iat!).toBe(30 * 86400);
  });

  it.each([
    ['not JSON', '{oops', 'body'],
    ['a JSON array', '[]', 'body'],
    ['no user_id', { company_id: 'c' }, 'user_id'],
    ['a numeric user_id', { user_id: 7, company_id: 'c' }, 'user_id'],
    ['no company_id', { user_id: 'u' }, 'company_id'],
    ['a padded company_id', { user_id: 'u', company_id: ' c' }, 'company_id'],
    ['a lifetime over the maximum', { user_id: 'u', company_id: 'c', expires_in: '31d' }, 'expires_in'],
    ['a negative lifetime', { user_id: 'u', company_id: 'c', expires_in: -5 }, 'expires_in'],
    ['an unparseable lifetime', { user_id: 'u', company_id: 'c', expires_in: 'soon' }, 'expires_in'],
  ])('answers 400 naming the field for %s', async (_name, input, field) => {
    const { issue } = await load('HS256');
    const res = await issue(issueEvent(input));
    expect(res.statusCode).toBe(400);
    expect(body(res)).toMatchObject({ error: 'invalid_request', field });
  });

  it('answers 503 without a stack trace when Secrets Manager is unreachable', async () => {
    const { issue } = await load('HS256');
    sm.failWith = 500;
    const res = await issue(issueEvent({ user_id: 'u', company_id: 'c' }));
    expect(res.statusCode).toBe(503);
    expect(res.body).not.toMatch(/at .*\.ts|Error:/);
  });

  it('answers 500 with a request id, not a stack trace, when the secret is not a key set', async () => {
    const { issue } = await load('RS256', {}, '{"keys": "nope"}');
    const res = await issue(issueEvent({ user_id: 'u', company_id: 'c' }));
    expect(res.statusCode).toBe(500);
    expect(body(res)).toEqual({ error: 'internal_error', message: 'The key could not be issued.', requestId: 'req-2' });
  });

  it('refuses callers outside the configured minter roles', async () => {
    const { issue } = await load('HS256', { KEY_MINTER_ROLE_ARNS: 'arn:aws:iam::123456789012:role/service/portal-backend' });
    const ok = await issue(issueEvent({ user_id: 'u', company_id: 'c' }, 'arn:aws:sts::123456789012:assumed-role/portal-backend/s1'));
    const other = await issue(issueEvent({ user_id: 'u', company_id: 'c' }, 'arn:aws:sts::123456789012:assumed-role/intern/s1'));
    const otherAccount = await issue(issueEvent({ user_id: 'u', company_id: 'c' }, 'arn:aws:sts::999999999999:assumed-role/portal-backend/s1'));
    expect([ok.statusCode, other.statusCode, otherAccount.statusCode]).toEqual([201, 403, 403]);
  });
});

describe('authorizer handler', () => {
  it('caches the key set at module scope', async () => {
    const { issue, authorize } = await load('RS256');
    const token = body(await issue(issueEvent({ user_id: 'u', company_id: 'c' }))).apikey;
    const before = sm.calls.GetSecretValue ?? 0;
    for (let i = 0; i < 5; i++) expect((await authorize(authorizerEvent(`Bearer ${token}`))).isAuthorized).toBe(true);
    expect((sm.calls.GetSecretValue ?? 0) - before).toBe(1);
  });

  it('denies (never throws) when Secrets Manager is down', async () => {
    const { authorize } = await load('HS256');
    sm.failWith = 503;
    await expect(authorize(authorizerEvent('Bearer a.b.c'))).resolves.toEqual({ isAuthorized: false });
  });

  it('denies (never throws) when its environment is broken', async () => {
    const { authorize } = await load('HS256', { JWT_ALGORITHM: 'HS1' });
    await expect(authorize(authorizerEvent('Bearer a.b.c'))).resolves.toEqual({ isAuthorized: false });
  });

  it('denies a missing or empty Authorization header', async () => {
    const { authorize } = await load('HS256');
    await expect(authorize(authorizerEvent(undefined))).resolves.toEqual({ isAuthorized: false });
    await expect(authorize(authorizerEvent(''))).resolves.toEqual({ isAuthorized: false });
  });

  it('picks up a rotated key when a token names a kid it has not seen', async () => {
    const { publicArn, authorize } = await load('ES256');
    const warm = await authorize(authorizerEvent('Bearer x.y.z'));
    expect(warm.isAuthorized).toBe(false);
    // Rotation publishes a new key; a fresh issuer signs with it before the authorizer cache expires.
    const fresh = await generateJwk('ES256');
    const previous = JSON.parse(sm.current(publicArn)!).keys;
    sm.put(publicArn.split(':secret:')[1].replace(/-AbCdEf$/, ''), JSON.stringify({ keys: [publicJwks({ keys: [fresh] }).keys[0], ...previous] }));
    const { SignJWT, importJWK } = await import('jose');
    const token = await new SignJWT({ customer_id: 'u', org_id: 'c' })
      .setProtectedHeader({ alg: 'ES256', kid: fresh.kid })
      .setIssuer(ISSUER)
      .setAudience('jwt-api')
      .setExpirationTime('1h')
      .sign(await importJWK(fresh, 'ES256'));
    await expect(authorize(authorizerEvent(`Bearer ${token}`))).resolves.toMatchObject({ isAuthorized: true });
  });
});

describe('discovery handler', () => {
  it('publishes the public parts of asymmetric keys only', async () => {
    const { discovery, arn, issue } = await load('RS256');
    const res = await discovery(getEvent('/.well-known/jwks.json'));
    expect(res.statusCode).toBe(200);
    const jwks = body(res);
    const stored = JSON.parse(sm.current(arn)!).keys[0];
    expect(jwks.keys).toEqual([{ kty: 'RSA', n: stored.n, e: stored.e, kid: stored.kid, alg: 'RS256', use: 'sig' }]);
    // What it publishes verifies what the issuer mints.
    const token = body(await issue(issueEvent({ user_id: 'u', company_id: 'c' }))).apikey;
    await expect(jwtVerify(token, createLocalJWKSet(jwks), { issuer: ISSUER, audience: 'jwt-api' })).resolves.toBeDefined();
  });

  it('publishes an empty set for HMAC keys', async () => {
    const { discovery } = await load('HS512');
    expect(body(await discovery(getEvent('/.well-known/jwks.json')))).toEqual({ keys: [] });
  });

  it('serves the OpenID configuration naming this issuer and its JWKS', async () => {
    const { discovery } = await load('RS256');
    const res = await discovery(getEvent('/.well-known/openid-configuration'));
    expect(body(res)).toMatchObject({ issuer: ISSUER, jwks_uri: `${ISSUER}/.well-known/jwks.json`, id_token_signing_alg_values_supported: ['RS256'] });
  });
});
