/**
 * The synchronous issuer and thumbprint (node:crypto) against jose, the library they replace: every token
 * issueKey signs is accepted by jose's jwtVerify with the public key, with the same header and claims; every
 * thumbprint equals jose's calculateJwkThumbprint.
 */
import { calculateJwkThumbprint, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { ALGORITHMS } from '../../../lambda/jwt/algorithms';
import { issueKey } from '../../../lambda/jwt/issue';
import { buildKeyRing, generateJwk, publicJwks, thumbprint } from '../../../lambda/jwt/jwk-set';
import { verifyToken } from '../../../lambda/jwt/verify';

const OPTIONS = { issuer: 'https://api.example.com', audience: 'jwt-api', userIdField: 'sub', companyIdField: 'org_id', maxLifetimeSeconds: 3600 };

describe.each(ALGORITHMS)('issueKey with %s', (alg) => {
  it('signs a token jose accepts, with the header and claims it promises', async () => {
    const jwk = await generateJwk(alg);
    const ring = buildKeyRing({ keys: [jwk] }, alg);
    const now = new Date('2026-12-01T10:00:00Z');
    const issued = issueKey({ userId: 'user-42', companyId: 'acme', expiresInSeconds: 600 }, ring.signer, { ...OPTIONS, now, newKeyId: () => 'key-1' });
    const verifyKey = alg.startsWith('HS') ? ring.signer.verifyKey : publicJwks({ keys: [jwk] }).keys[0];
    const { payload, protectedHeader } = await jwtVerify(issued.apikey, verifyKey as never, { algorithms: [alg], issuer: OPTIONS.issuer, audience: OPTIONS.audience, currentDate: now });
    expect(protectedHeader).toEqual({ alg, kid: jwk.kid, typ: 'JWT' });
    expect(payload).toEqual({ sub: 'user-42', org_id: 'acme', iat: now.getTime() / 1000, exp: now.getTime() / 1000 + 600, iss: OPTIONS.issuer, aud: OPTIONS.audience, jti: 'key-1' });
    expect(issued).toEqual({ apikey: expect.any(String), token_type: 'Bearer', key_id: 'key-1', expires_at: '2026-12-01T10:10:00.000Z' });
    expect(decodeProtectedHeader(issued.apikey).kid).toBe(jwk.kid);
    expect(verifyToken(issued.apikey, ring, { ...OPTIONS, algorithm: alg, clockToleranceSeconds: 0, currentDate: now })).toMatchObject({ ok: true, keyId: 'key-1' });
  });
});

describe('thumbprint (RFC 7638)', () => {
  it.each(['RS256', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256'] as const)('equals jose\'s for a %s key, private or public', async (alg) => {
    const jwk = await generateJwk(alg);
    expect(await thumbprint(jwk)).toBe(await calculateJwkThumbprint(jwk as JWK, 'sha256'));
    if (!alg.startsWith('HS')) {
      const pub = publicJwks({ keys: [jwk] }).keys[0];
      expect(await thumbprint(pub)).toBe(await calculateJwkThumbprint(pub, 'sha256'));
    }
  });

  it('matches the RFC 7638 §3.1 example', async () => {
    const n = '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';
    expect(await thumbprint({ kty: 'RSA', n, e: 'AQAB', alg: 'RS256', kid: '2011-04-29' })).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });
});
