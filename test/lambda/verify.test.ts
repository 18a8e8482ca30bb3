import { createHmac, generateKeyPairSync } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import type { Algorithm } from '../../lambda/jwt/algorithms';
import { buildKeyRing, generateJwk, publicJwks, type SigningRing as KeyRing } from '../../lambda/jwt/jwk-set';
import { extractToken, verifyToken, type VerifyOptions } from '../../lambda/jwt/verify';

const NOW = new Date('2026-11-23T12:00:00Z');
const nowS = Math.floor(NOW.getTime() / 1000);

function options(alg: Algorithm, extra: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    algorithm: alg,
    issuer: 'https://api.example.com',
    audience: 'jwt-api',
    userIdField: 'sub',
    companyIdField: 'org_id',
    clockToleranceSeconds: 30,
    maxLifetimeSeconds: 3600,
    currentDate: NOW,
    ...extra,
  };
}

async function ringFor(alg: Algorithm): Promise<KeyRing> {
  return buildKeyRing({ keys: [await generateJwk(alg)] }, alg);
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function sign(ring: KeyRing, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ sub: 'user-1', org_id: 'acme', iss: 'https://api.example.com', aud: 'jwt-api', jti: 'key-1', ...claims })
    .setProtectedHeader({ alg: ring.signer.alg, kid: ring.signer.kid, typ: 'JWT', ...header })
    .setIssuedAt(nowS - 60)
    .setExpirationTime((claims.exp as number | undefined) ?? nowS + 3600)
    .sign(ring.signer.signingKey);
}

describe('verifyToken', () => {
  let rs: KeyRing;
  let hs: KeyRing;
  beforeAll(async () => {
    rs = await ringFor('RS256');
    hs = await ringFor('HS256');
  });

  it('accepts a valid token and returns user, company and key id', async () => {
    const result = await verifyToken(await sign(rs), rs, options('RS256'));
    expect(result).toMatchObject({ ok: true, userId: 'user-1', companyId: 'acme', keyId: 'key-1', kid: rs.signer.kid });
  });

  it.each([
    ['an expired token', { exp: nowS - 31 }, 'expired'],
    ['a token whose nbf is in the future', { nbf: nowS + 120 }, 'not_yet_valid'],
    ['a wrong iss', { iss: 'https://evil.example.com' }, 'wrong_issuer'],
    ['a wrong aud', { aud: 'other-api' }, 'wrong_audience'],
    ['a missing company claim', { org_id: undefined }, 'missing_claim'],
    ['a missing user claim', { sub: undefined }, 'missing_claim'],
    ['a missing iss', { iss: undefined }, 'missing_claim'],
  ])('rejects %s', async (_name, claims, reason) => {
    const result = await verifyToken(await sign(rs, claims as JWTPayload), rs, options('RS256'));
    expect(result).toMatchObject({ ok: false, reason });
  });

  it('allows an expiry within the clock tolerance', async () => {
    const result = await verifyToken(await sign(rs, { exp: nowS - 10 }), rs, options('RS256'));
    expect(result.ok).toBe(true);
  });

  it('rejects a tampered payload (signature no longer matches)', async () => {
    const [h, , s] = (await sign(rs)).split('.');
    const forged = `${h}.${b64({ sub: 'admin', org_id: 'acme', iss: 'https://api.example.com', aud: 'jwt-api', exp: nowS + 3600 })}.${s}`;
    expect(await verifyToken(forged, rs, options('RS256'))).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('rejects alg "none"', async () => {
    const token = `${b64({ alg: 'none', kid: rs.signer.kid })}.${b64({ sub: 'u', org_id: 'c', iss: 'https://api.example.com', aud: 'jwt-api', exp: nowS + 60 })}.`;
    expect(await verifyToken(token, rs, options('RS256'))).toMatchObject({ ok: false, reason: 'alg_not_allowed' });
  });

  it('rejects a token signed with HS256 using the RSA public key', async () => {
    const publicJwk = publicJwks({ keys: [{ ...(await generateJwk('RS256')) }] }).keys[0];
    const pem = rs.signer.verifyKey.export({ format: 'pem', type: 'spki' }) as string;
    const head = b64({ alg: 'HS256', kid: rs.signer.kid, typ: 'JWT' });
    const body = b64({ sub: 'u', org_id: 'c', iss: 'https://api.example.com', aud: 'jwt-api', exp: nowS + 60 });
    for (const secret of [pem, JSON.stringify(publicJwk)]) {
      const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
      expect(await verifyToken(`${head}.${body}.${sig}`, rs, options('RS256'))).toMatchObject({ ok: false, reason: 'alg_not_allowed' });
    }
  });

  // The real algorithm-confusion attack: HMAC keyed with the exact bytes of OUR public key as anyone can
  // fetch it (the JWKS document, the one JWK, its PEM and DER), naming our kid.
  it.each(['RS256', 'ES256'] as const)('rejects HS256 keyed with our own published %s public key, in every spelling', async (alg) => {
    const ours = await generateJwk(alg);
    const ring = buildKeyRing({ keys: [ours] }, alg);
    const published = publicJwks({ keys: [ours] });
    const secrets = [
      JSON.stringify(published),
      JSON.stringify(published.keys[0]),
      ring.signer.verifyKey.export({ format: 'pem', type: 'spki' }) as string,
      ring.signer.verifyKey.export({ format: 'der', type: 'spki' }),
    ];
    const body = b64({ sub: 'u', org_id: 'c', iss: 'https://api.example.com', aud: 'jwt-api', exp: nowS + 60 });
    for (const header of [{ alg: 'HS256', kid: ours.kid, typ: 'JWT' }, { alg: 'HS256' }]) {
      const head = b64(header);
      for (const secret of secrets) {
        const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
        const refused = { ok: false, reason: 'alg_not_allowed', detail: 'HS256' };
        expect(verifyToken(`${head}.${body}.${sig}`, ring, options(alg))).toEqual(refused);
        expect(verifyToken(`${head}.${body}.${sig}`, ring, options(alg, { acceptPortalTokens: true }))).toEqual(refused);
      }
    }
  });

  it('rejects a token signed by another key that reuses our kid', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = await new SignJWT({ sub: 'u', org_id: 'c' })
      .setProtectedHeader({ alg: 'RS256', kid: rs.signer.kid })
      .setIssuer('https://api.example.com')
      .setAudience('jwt-api')
      .setExpirationTime(nowS + 60)
      .sign(privateKey);
    expect(await verifyToken(token, rs, options('RS256'))).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a token of another algorithm than the pinned one', async () => {
    expect(await verifyToken(await sign(hs), rs, options('RS256'))).toMatchObject({ ok: false, reason: 'alg_not_allowed' });
  });

  it.each(['garbage', 'a.b.c', '', 'eyJhbGciOiJSUzI1NiJ9..', '....'])('rejects garbage %p without throwing', async (token) => {
    const result = await verifyToken(token, rs, options('RS256'));
    expect(result.ok).toBe(false);
  });

  it('rejects a token without kid unless portal tokens are accepted', async () => {
    const token = await new SignJWT({ sub: 'u', org_id: 'c', iss: 'https://api.example.com', aud: 'jwt-api' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(nowS + 60)
      .sign(hs.signer.signingKey);
    expect(await verifyToken(token, hs, options('HS256'))).toMatchObject({ ok: false, reason: 'kid_missing' });
    expect(await verifyToken(token, hs, options('HS256', { acceptPortalTokens: true }))).toMatchObject({ ok: true, userId: 'u' });
  });

  it('rejects an unknown kid', async () => {
    expect(await verifyToken(await sign(rs, {}, { kid: 'nope' }), rs, options('RS256'))).toMatchObject({ ok: false, reason: 'unknown_kid' });
  });

  it('verifies with any key of the set (rotation overlap)', async () => {
    const old = await generateJwk('ES256');
    const fresh = await generateJwk('ES256');
    const oldRing = buildKeyRing({ keys: [old] }, 'ES256');
    const rotated = buildKeyRing({ keys: [fresh, old] }, 'ES256');
    expect(await verifyToken(await sign(oldRing), rotated, options('ES256'))).toMatchObject({ ok: true });
    expect(await verifyToken(await sign(rotated), rotated, options('ES256'))).toMatchObject({ ok: true, kid: fresh.kid });
  });

  it('reads custom user and company claims', async () => {
    const token = await sign(rs, { customer_id: 'cust-9', tenant: 't-1' });
    const result = await verifyToken(token, rs, options('RS256', { userIdField: 'customer_id', companyIdField: 'tenant' }));
    expect(result).toMatchObject({ ok: true, userId: 'cust-9', companyId: 't-1' });
  });
});

describe('extractToken', () => {
  it.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer   abc.def.ghi', 'abc.def.ghi'],
    ['abc.def.ghi', 'abc.def.ghi'],
    ['  abc.def.ghi  ', 'abc.def.ghi'],
    ['Bearer', 'Bearer'],
    ['Basic dXNlcjpwYXNz extra', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%p → %p', (header, token) => {
    expect(extractToken(header)).toBe(token);
  });
});
