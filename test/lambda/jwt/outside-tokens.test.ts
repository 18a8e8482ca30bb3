/**
 * Tokens of outside identity providers, end to end over HTTP: two local OpenID providers (A and B) on
 * 127.0.0.1 with real keys; tokens signed with jose.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { createOutsideIssuers, verifyOutsideToken, type OutsideIssuers, type OutsideVerifyOptions } from '../../../lambda/jwt/outside-tokens';
import { parseTrustedIssuers } from '../../../lambda/jwt/trusted-issuers';
import { tokenKind } from '../../../lambda/jwt/token-kind';
import { idpKey, LocalIdp, signWith, type IdpKey } from '../../support/idp-server';

const NOW = 1_900_000_000;
let clock = NOW * 1000;
const a = new LocalIdp();
const b = new LocalIdp();
const keys: Record<string, IdpKey> = {};
let issuers: OutsideIssuers;

const opts = (extra: Partial<OutsideVerifyOptions> = {}): OutsideVerifyOptions => ({ currentDate: new Date(clock), clockToleranceSeconds: 30, ...extra });
const claimsFor = (idp: LocalIdp, extra: JWTPayload = {}): JWTPayload => ({
  iss: idp.issuer,
  aud: 'orders-api',
  sub: 'user-1',
  client_id: 'app-1',
  iat: NOW,
  exp: NOW + 3600,
  jti: 'tok-1',
  ...extra,
});

beforeAll(async () => {
  await Promise.all([a.start(), b.start()]);
  const generated = await Promise.all([idpKey('RS256'), idpKey('PS256'), idpKey('ES256'), idpKey('ES384'), idpKey('EdDSA'), idpKey('RS256'), idpKey('RS256', { withAlg: false })]);
  [keys.rs, keys.ps, keys.es, keys.es384, keys.ed, keys.b, keys.noAlg] = generated;
});
afterAll(() => Promise.all([a.stop(), b.stop()]));
beforeEach(() => {
  clock = NOW * 1000;
  a.reset();
  b.reset();
  a.keys = [keys.rs.jwk, keys.ps.jwk, keys.es.jwk, keys.es384.jwk, keys.ed.jwk];
  b.keys = [keys.b.jwk];
  issuers = createOutsideIssuers(
    parseTrustedIssuers([
      // A by discovery, B by an explicit jwksUri.
      { issuer: a.issuer, audience: ['orders-api', 'other-api'], algorithms: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'], companyIdClaim: 'org' },
      { issuer: b.issuer, audience: 'orders-api', jwksUri: `${b.url}/jwks` },
    ]),
    { now: () => clock },
  );
});

describe('accepted tokens', () => {
  it.each(['rs', 'ps', 'es', 'es384', 'ed'])('accepts a token signed with the issuer\'s %s key', async (name) => {
    const token = await signWith(keys[name], claimsFor(a, { org: 'acme' }));
    expect(await verifyOutsideToken(token, issuers, opts())).toEqual({ ok: true, issuer: a.issuer, clientId: 'app-1', userId: 'user-1', companyId: 'acme', keyId: 'tok-1', kid: keys[name].kid });
  });

  it('leaves companyId out when the token has no company claim (the application\'s company is used)', async () => {
    const result = await verifyOutsideToken(await signWith(keys.rs, claimsFor(a)), issuers, opts());
    expect(result).toMatchObject({ ok: true, userId: 'user-1' });
    expect(result).not.toHaveProperty('companyId');
  });

  it('accepts any one of the configured audiences, also inside an aud list', async () => {
    expect(await verifyOutsideToken(await signWith(keys.rs, claimsFor(a, { aud: ['x', 'other-api'] })), issuers, opts())).toMatchObject({ ok: true });
  });

  it('takes client_id as the audience when there is no aud (Amazon Cognito access tokens), as API Gateway does', async () => {
    const cognito = createOutsideIssuers(parseTrustedIssuers([{ issuer: b.issuer, audience: ['orders-api', 'cognito-app-client'], jwksUri: `${b.url}/jwks` }]), { now: () => clock });
    const access = await signWith(keys.b, claimsFor(b, { aud: undefined, client_id: 'cognito-app-client' }));
    expect(await verifyOutsideToken(access, cognito, opts())).toMatchObject({ ok: true, clientId: 'cognito-app-client' });
    // Not when the client_id is not a configured audience, nor when an aud is there and wrong.
    const other = await signWith(keys.b, claimsFor(b, { aud: undefined, client_id: 'someone-else' }));
    expect(await verifyOutsideToken(other, cognito, opts())).toMatchObject({ ok: false, reason: 'missing_claim', detail: 'aud' });
    const wrongAud = await signWith(keys.b, claimsFor(b, { aud: 'elsewhere', client_id: 'cognito-app-client' }));
    expect(await verifyOutsideToken(wrongAud, cognito, opts())).toMatchObject({ ok: false, reason: 'wrong_audience' });
  });

  it('takes the client from azp when there is no client_id', async () => {
    const token = await signWith(keys.rs, claimsFor(a, { client_id: undefined, azp: 'spa-7' }));
    expect(await verifyOutsideToken(token, issuers, opts())).toMatchObject({ ok: true, clientId: 'spa-7' });
  });

  it('reads the configured user, company and client claims', async () => {
    const custom = createOutsideIssuers(parseTrustedIssuers([{ issuer: b.issuer, audience: 'orders-api', jwksUri: `${b.url}/jwks`, userIdClaim: 'oid', companyIdClaim: 'tid', clientIdClaim: 'appid' }]), { now: () => clock });
    const token = await signWith(keys.b, claimsFor(b, { oid: 'u-9', tid: 'tenant-3', appid: 'app-9', client_id: 'ignored' }));
    expect(await verifyOutsideToken(token, custom, opts())).toMatchObject({ ok: true, userId: 'u-9', companyId: 'tenant-3', clientId: 'app-9' });
  });

  it('accepts a token without kid when exactly one key of its algorithm is published', async () => {
    const token = await signWith(keys.b, claimsFor(b), { kid: null });
    expect(await verifyOutsideToken(token, issuers, opts())).toMatchObject({ ok: true });
  });

  it('lets a published key without alg verify the configured RSA algorithm', async () => {
    b.keys = [keys.noAlg.jwk];
    expect(await verifyOutsideToken(await signWith(keys.noAlg, claimsFor(b)), issuers, opts())).toMatchObject({ ok: true });
  });
});

describe('whose key', () => {
  it('refuses a token from an issuer that is not trusted', async () => {
    const token = await signWith(keys.rs, claimsFor(a, { iss: 'https://idp.example.net' }));
    expect(await verifyOutsideToken(token, issuers, opts())).toEqual({ ok: false, reason: 'untrusted_issuer' });
  });

  it('compares iss exactly (a trailing slash is another issuer)', async () => {
    const token = await signWith(keys.rs, claimsFor(a, { iss: `${a.issuer}/` }));
    expect(await verifyOutsideToken(token, issuers, opts())).toEqual({ ok: false, reason: 'untrusted_issuer' });
  });

  it('refuses a key of issuer A presented with the iss of issuer B, though both sets are loaded', async () => {
    await verifyOutsideToken(await signWith(keys.rs, claimsFor(a)), issuers, opts());
    await verifyOutsideToken(await signWith(keys.b, claimsFor(b)), issuers, opts());
    const token = await signWith(keys.rs, claimsFor(b), { alg: 'RS256' });
    expect(await verifyOutsideToken(token, issuers, opts())).toEqual({ ok: false, reason: 'unknown_kid' });
  });

  it('refuses A\'s key under B\'s iss even when it claims a kid B publishes', async () => {
    const token = await signWith(keys.rs, claimsFor(b), { kid: keys.b.kid });
    expect(await verifyOutsideToken(token, issuers, opts())).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a token with no iss', async () => {
    expect(await verifyOutsideToken(await signWith(keys.rs, claimsFor(a, { iss: undefined })), issuers, opts())).toEqual({ ok: false, reason: 'missing_claim', detail: 'iss' });
  });

  it('refuses an algorithm the issuer is not configured for, before fetching any key', async () => {
    const token = await signWith(keys.es, claimsFor(b), { alg: 'ES256' });
    expect(await verifyOutsideToken(token, issuers, opts())).toEqual({ ok: false, reason: 'alg_not_allowed', detail: 'ES256' });
    expect(b.count('/jwks')).toBe(0);
  });

  it('refuses HS256 signed with the issuer\'s public key as the HMAC secret', async () => {
    const secret = Buffer.from(JSON.stringify(keys.b.jwk));
    const token = await new SignJWT(claimsFor(b)).setProtectedHeader({ alg: 'HS256', kid: keys.b.kid }).sign(secret);
    expect(await verifyOutsideToken(token, issuers, opts())).toMatchObject({ ok: false, reason: 'alg_not_allowed' });
  });

  it('refuses alg none', async () => {
    const body = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const token = `${body({ alg: 'none', kid: keys.b.kid })}.${body(claimsFor(b))}.`;
    expect(await verifyOutsideToken(token, issuers, opts())).toMatchObject({ ok: false, reason: 'alg_not_allowed' });
  });

  it('refuses a header alg the named key does not serve (an RSA kid with ES256)', async () => {
    const token = await signWith(keys.es, claimsFor(a), { kid: keys.rs.kid });
    expect(await verifyOutsideToken(token, issuers, opts())).toEqual({ ok: false, reason: 'unknown_kid' });
  });

  it('refuses a forged signature', async () => {
    const forger = await idpKey('RS256', { kid: keys.b.kid });
    expect(await verifyOutsideToken(await signWith(forger, claimsFor(b)), issuers, opts())).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a kid-less token when several keys of its algorithm are published', async () => {
    b.keys = [keys.b.jwk, keys.noAlg.jwk];
    expect(await verifyOutsideToken(await signWith(keys.b, claimsFor(b), { kid: null }), issuers, opts())).toEqual({ ok: false, reason: 'kid_missing' });
  });

  it('refuses a crit header', async () => {
    const token = await new SignJWT(claimsFor(b)).setProtectedHeader({ alg: 'RS256', kid: keys.b.kid, crit: ['ext'], ext: 1 }).sign(keys.b.privateKey, { crit: { ext: true } });
    expect(await verifyOutsideToken(token, issuers, opts())).toEqual({ ok: false, reason: 'crit_not_supported' });
  });
});

describe('the issuer\'s keys over time', () => {
  it('accepts a rotated-in key after one refetch', async () => {
    expect(await verifyOutsideToken(await signWith(keys.b, claimsFor(b)), issuers, opts())).toMatchObject({ ok: true });
    const next = await idpKey('RS256');
    b.keys = [next.jwk, keys.b.jwk];
    expect(await verifyOutsideToken(await signWith(next, claimsFor(b)), issuers, opts())).toMatchObject({ ok: true, kid: next.kid });
    expect(b.count('/jwks')).toBe(2);
  });

  it('fetches at most once per 10 s for a flood of 1,000 tokens with random kids', async () => {
    await verifyOutsideToken(await signWith(keys.b, claimsFor(b)), issuers, opts());
    const tokens = await Promise.all(Array.from({ length: 1000 }, (_, i) => signWith(keys.b, claimsFor(b), { kid: `random-${i}-${Math.random()}` })));
    const verdicts = [];
    for (const token of tokens) {
      clock += 25; // 1,000 tokens over 25 s
      verdicts.push(await verifyOutsideToken(token, issuers, opts({ currentDate: new Date(NOW * 1000) })));
    }
    expect(verdicts.every((v) => !v.ok && v.reason === 'unknown_kid')).toBe(true);
    // The first load, then one per started 10 s window: 0-10, 10-20, 20-25 s.
    expect(b.count('/jwks')).toBeLessThanOrEqual(1 + 3);
    expect(b.count('/jwks')).toBeGreaterThanOrEqual(2);
  });

  it('serves the stale set during an outage, then refuses after maxStale; cold it refuses', async () => {
    const token = await signWith(keys.b, claimsFor(b, { exp: NOW + 86_400 }));
    expect(await verifyOutsideToken(token, issuers, opts())).toMatchObject({ ok: true });
    b.status = 503;
    clock += 600_000 + 3_600_000 - 1;
    expect(await verifyOutsideToken(token, issuers, opts())).toMatchObject({ ok: true });
    clock += 1;
    expect(await verifyOutsideToken(token, issuers, opts())).toEqual({ ok: false, reason: 'keys_unavailable', detail: 'jwks_http_status' });

    const cold = createOutsideIssuers(parseTrustedIssuers([{ issuer: b.issuer, audience: 'orders-api', jwksUri: `${b.url}/jwks` }]), { now: () => clock });
    expect(await verifyOutsideToken(token, cold, opts())).toEqual({ ok: false, reason: 'keys_unavailable', detail: 'jwks_http_status' });
  });

  it('answers within the timeout when the issuer never answers', async () => {
    b.hang = true;
    const slow = createOutsideIssuers(parseTrustedIssuers([{ issuer: b.issuer, audience: 'orders-api' }]), { now: () => clock, timeoutMs: 300 });
    const started = performance.now();
    expect(await verifyOutsideToken(await signWith(keys.b, claimsFor(b)), slow, opts())).toEqual({ ok: false, reason: 'keys_unavailable', detail: 'jwks_timeout' });
    expect(performance.now() - started).toBeLessThan(300 + 250);
  });

  it('reads discovery once for many tokens', async () => {
    for (let i = 0; i < 5; i++) expect(await verifyOutsideToken(await signWith(keys.rs, claimsFor(a)), issuers, opts())).toMatchObject({ ok: true });
    expect(a.count('/.well-known/openid-configuration')).toBe(1);
    expect(a.count('/jwks')).toBe(1);
  });
});

describe('claims', () => {
  it.each<[string, JWTPayload, object]>([
    ['expired', { exp: NOW - 31 }, { reason: 'expired' }],
    ['without exp', { exp: undefined }, { reason: 'missing_claim', detail: 'exp' }],
    ['with a fractional exp', { exp: NOW + 60.5 }, { reason: 'bad_claim', detail: 'exp' }],
    ['not yet valid', { nbf: NOW + 31 }, { reason: 'not_yet_valid' }],
    ['issued in the future', { iat: NOW + 31 }, { reason: 'issued_in_future' }],
    ['expiring beyond the ceiling', { exp: NOW + 86_400 + 31 }, { reason: 'lifetime_exceeded' }],
    ['for another audience', { aud: 'billing-api' }, { reason: 'wrong_audience' }],
    ['without aud', { aud: undefined }, { reason: 'missing_claim', detail: 'aud' }],
    ['without a client claim', { client_id: undefined }, { reason: 'missing_claim', detail: 'client_id' }],
    ['with an unsafe client id', { client_id: 'app"1' }, { reason: 'bad_claim', detail: 'client_id' }],
    ['with a client id that is a number', { client_id: 7 }, { reason: 'bad_claim', detail: 'client_id' }],
    ['with an unsafe user id', { sub: 'u\n1' }, { reason: 'bad_claim', detail: 'sub' }],
    ['without sub', { sub: undefined }, { reason: 'missing_claim', detail: 'sub' }],
    ['with an unsafe company id', { org: 'acme\u202e' }, { reason: 'bad_claim', detail: 'org' }],
    ['with an unsafe jti', { jti: 'a\\b' }, { reason: 'bad_claim', detail: 'jti' }],
  ])('refuses a token %s', async (_name, extra, problem) => {
    const token = await signWith(keys.rs, claimsFor(a, extra));
    expect(await verifyOutsideToken(token, issuers, opts())).toEqual({ ok: false, ...problem });
  });

  it('honours a configured lifetime ceiling', async () => {
    const token = await signWith(keys.rs, claimsFor(a, { exp: NOW + 7200 }));
    expect(await verifyOutsideToken(token, issuers, opts({ maxLifetimeSeconds: 3600 }))).toMatchObject({ ok: false, reason: 'lifetime_exceeded' });
  });

  it('refuses nothing-tokens without touching the network', async () => {
    expect(await verifyOutsideToken(undefined, issuers, opts())).toEqual({ ok: false, reason: 'no_token' });
    expect(await verifyOutsideToken('a.b', issuers, opts())).toEqual({ ok: false, reason: 'malformed' });
    expect(a.count('/jwks') + b.count('/jwks')).toBe(0);
  });

  it('refuses a token whose signature segment is padded (one token, one spelling)', async () => {
    const token = await signWith(keys.b, claimsFor(b));
    expect(await verifyOutsideToken(`${token}=`, issuers, opts())).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('routing by the unverified iss', () => {
  const own = 'https://api.example.com';
  const unsigned = (payload: object) => `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;

  it('sends each token to one verifier', () => {
    const trusted = new Set([a.issuer]);
    expect(tokenKind(unsigned({ iss: own }), own, trusted)).toBe('own');
    expect(tokenKind(unsigned({ sub: 'portal-user' }), own, trusted)).toBe('own');
    expect(tokenKind('garbage', own, trusted)).toBe('own');
    expect(tokenKind(unsigned({ iss: a.issuer }), own, trusted)).toBe('outside');
    expect(tokenKind(unsigned({ iss: 'app-1', sub: 'app-1' }), own, trusted)).toBe('client');
  });
});

it('refuses a token signed by an RSA key under 2048 bits that the issuer publishes', async () => {
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  b.keys = [{ ...(small.publicKey.export({ format: 'jwk' }) as object), kid: 'small', alg: 'RS256' }];
  // Signed with node:crypto: jose refuses to sign with so small a key.
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ alg: 'RS256', kid: 'small' })}.${b64(claimsFor(b))}`;
  const token = `${input}.${sign('sha256', Buffer.from(input), small.privateKey).toString('base64url')}`;
  expect(await verifyOutsideToken(token, issuers, opts())).toEqual({ ok: false, reason: 'unknown_kid' });
});
