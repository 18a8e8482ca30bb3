/**
 * The outside review's findings on the key path, one test per defect class (issue: deploy-safe rotation and
 * a hardened key path). Real keys and real signatures throughout.
 */
import { CompactSign } from 'jose';
import { generateJwk, buildKeyRing, thumbprint, jwkFromSharedSecret, PLAIN_SECRET_KID, parseKeySet, type SigningRing } from '../../../lambda/jwt/jwk-set';
import { MAX_TOKEN_LENGTH } from '../../../lambda/jwt/compact';
import { extractToken, verifyToken, type VerifyOptions } from '../../../lambda/jwt/verify';
import { idProblem } from '../../../lambda/shared/ids';
import { authorizerEvent, issueEvent } from '../../support/events';
import { loadFunctions, localRegistry } from '../../support/functions';
import { LocalSecretsManager, useLocalAws } from '../../support/secrets-server';

const NOW = 1_900_000_000;
const ISSUER = 'https://api.example.com';
let ring: SigningRing;
beforeAll(async () => {
  ring = buildKeyRing({ keys: [await generateJwk('ES256')] }, 'ES256', NOW);
});

function opts(extra: Partial<VerifyOptions> = {}): VerifyOptions {
  return { algorithm: 'ES256', issuer: ISSUER, audience: 'jwt-api', userIdField: 'sub', companyIdField: 'org_id', clockToleranceSeconds: 30, maxLifetimeSeconds: 7 * 86_400, currentDate: new Date(NOW * 1000), ...extra };
}

/** Signs the payload text as given, so it can hold what JSON.stringify cannot write (1e309). */
async function signText(payload: string, header: Record<string, unknown> = {}): Promise<string> {
  return new CompactSign(Buffer.from(payload)).setProtectedHeader({ alg: 'ES256', kid: ring.signer.kid, ...header }).sign(ring.signer.signingKey);
}
const claims = (extra: string) => `{"sub":"u-1","org_id":"acme","iss":"${ISSUER}","aud":"jwt-api"${extra}}`;

describe('lifetimes have a ceiling at the gateway too', () => {
  it.each([
    ['an exp of 1e309 (Infinity once parsed)', ',"exp":1e309', 'bad_claim'],
    ['an exp ten years ahead', `,"exp":${NOW + 10 * 365 * 86_400}`, 'lifetime_exceeded'],
    ['an exp just past the configured maximum plus the tolerance', `,"exp":${NOW + 7 * 86_400 + 31}`, 'lifetime_exceeded'],
    ['a fractional exp', `,"exp":${NOW + 60}.5`, 'bad_claim'],
    ['an exp written as a string', `,"exp":"${NOW + 60}"`, 'bad_claim'],
    ['a non-integer nbf', `,"exp":${NOW + 60},"nbf":1e309`, 'bad_claim'],
    ['an iat in the future beyond the tolerance', `,"exp":${NOW + 600},"iat":${NOW + 31}`, 'issued_in_future'],
    ['a jti that is a number', `,"exp":${NOW + 60},"jti":42`, 'bad_claim'],
    ['a jti that is an object', `,"exp":${NOW + 60},"jti":{"id":"k"}`, 'bad_claim'],
  ])('refuses %s', async (_name, extra, reason) => {
    expect(verifyToken(await signText(claims(extra)), ring, opts())).toMatchObject({ ok: false, reason });
  });

  it('refuses the same ten-year key in portal mode', async () => {
    const token = await signText(`{"sub":"u","org_id":"c","exp":${NOW + 10 * 365 * 86_400}}`);
    expect(verifyToken(token, ring, opts({ acceptPortalTokens: true }))).toMatchObject({ ok: false, reason: 'lifetime_exceeded' });
  });

  it('accepts the edges: exp at the maximum plus tolerance, iat within the tolerance, jti a string', async () => {
    const token = await signText(claims(`,"exp":${NOW + 7 * 86_400 + 30},"iat":${NOW + 30},"jti":"key-1"`));
    expect(verifyToken(token, ring, opts())).toMatchObject({ ok: true, keyId: 'key-1' });
  });
});

describe('ids that cannot break a log line', () => {
  const unsafe: Array<[string, string]> = [
    ['NUL', 'a\u0000b'],
    ['a newline', 'a\nb'],
    ['an ANSI escape', '\u001b[31mred'],
    ['a lone surrogate', 'a\ud800b'],
    ['a double quote', 'a"b'],
    ['a backslash', 'a\\b'],
    ['a line separator', 'a\u2028b'],
    ['a bidi override', 'a\u202eb'],
  ];

  it.each(unsafe)('defines an id with %s as unsafe', (_name, id) => {
    expect(idProblem(id)).toBeDefined();
  });

  it('keeps printable Unicode ids', () => {
    for (const id of ['Zoë', '李小龍', 'user@example.com', 'acme corp', 'cus_123', '42']) expect(idProblem(id)).toBeUndefined();
  });

  it.each(unsafe)('makes the authorizer refuse a correctly signed key whose user id holds %s', async (_name, id) => {
    const token = await signText(`{"sub":${JSON.stringify(id)},"org_id":"acme","iss":"${ISSUER}","aud":"jwt-api","exp":${NOW + 60}}`);
    expect(verifyToken(token, ring, opts())).toMatchObject({ ok: false, reason: 'bad_claim', detail: 'sub' });
  });

  it('refuses a kid that could break a log line before looking it up', async () => {
    const token = await signText(claims(`,"exp":${NOW + 60}`), { kid: 'a\nb' });
    expect(verifyToken(token, ring, opts())).toMatchObject({ ok: false, reason: 'malformed', detail: 'kid' });
  });

  describe('at minting', () => {
    const sm = new LocalSecretsManager();
    const registry = localRegistry();
    let issue: ReturnType<typeof loadFunctions>['issue'];
    let authorize: ReturnType<typeof loadFunctions>['authorize'];
    beforeAll(async () => {
      useLocalAws('SECRETS_MANAGER', await sm.start());
      const { env } = await sm.putKeySet('ids', JSON.stringify({ keys: [await generateJwk('HS256')] }), 'HS256');
      ({ issue, authorize } = loadFunctions({ ...env, KEY_REGISTRY_TABLE: await registry.table(), JWT_ALGORITHM: 'HS256' }));
    });
    afterAll(() => sm.stop());

    it.each(unsafe)('answers 400 naming the field for a user_id with %s', async (_name, id) => {
      const res = await issue(issueEvent({ user_id: id, company_id: 'acme' }));
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body as string)).toMatchObject({ error: 'invalid_request', field: 'user_id' });
    });

    it('answers 400 for a company_id with a newline, and mints a key for a Unicode id the authorizer then accepts', async () => {
      expect((await issue(issueEvent({ user_id: 'u', company_id: 'acme\nevil' }))).statusCode).toBe(400);
      const res = await issue(issueEvent({ user_id: 'Zoë', company_id: '李小龍' }));
      expect(res.statusCode).toBe(201);
      const { apikey } = JSON.parse(res.body as string);
      await expect(authorize(authorizerEvent(`Bearer ${apikey}`))).resolves.toMatchObject({ isAuthorized: true, context: { userId: 'Zoë', companyId: '李小龍' } });
    });
  });
});

describe('no guessing oracle in an HMAC kid', () => {
  it('gives a generated HMAC key a random kid, not the thumbprint (a SHA-256 of the secret)', async () => {
    const a = await generateJwk('HS256');
    expect(a.kid).not.toBe(await thumbprint({ kty: 'oct', k: a.k }));
    expect(a.kid).not.toBe((await generateJwk('HS256')).kid);
  });

  it('gives an imported shared secret a random kid unless one is given, and a raw stored secret a fixed one', async () => {
    const secret = 'portal-shared-secret-with-enough-bytes-1234';
    const guessable = await thumbprint({ kty: 'oct', k: Buffer.from(secret).toString('base64url') });
    expect((await jwkFromSharedSecret(secret, 'HS256')).kid).not.toBe(guessable);
    expect((await jwkFromSharedSecret(secret, 'HS256', 'portal-kid')).kid).toBe('portal-kid');
    // Every reader of a raw secret agrees on its kid, and the kid says nothing about the secret.
    expect((await parseKeySet(secret, 'HS256')).keys[0].kid).toBe(PLAIN_SECRET_KID);
    expect((await parseKeySet(secret, 'HS256')).keys[0].kid).toBe(PLAIN_SECRET_KID);
  });
});

describe('one token, one spelling; accepted header forms', () => {
  it.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc.def.ghi', 'abc.def.ghi'],
    ['BEARER   abc.def.ghi', 'abc.def.ghi'],
    ['abc.def.ghi', 'abc.def.ghi'],
    ['Basic abc.def.ghi', undefined],
    ['Bearer\tabc.def.ghi', undefined],
    ['Bearer abc.def.ghi extra', undefined],
  ])('reads %p as %p', (header, token) => {
    expect(extractToken(header)).toBe(token);
  });

  it(`refuses a token longer than ${MAX_TOKEN_LENGTH} characters without parsing it`, async () => {
    const token = await signText(claims(`,"exp":${NOW + 60},"pad":"${'x'.repeat(MAX_TOKEN_LENGTH)}"`));
    expect(verifyToken(token, ring, opts())).toEqual({ ok: false, reason: 'too_long' });
  });

  it('refuses a token that names a critical extension', async () => {
    const token = await signText(claims(`,"exp":${NOW + 60}`), { crit: ['b64'], b64: true });
    expect(verifyToken(token, ring, opts())).toEqual({ ok: false, reason: 'crit_not_supported' });
  });
});
