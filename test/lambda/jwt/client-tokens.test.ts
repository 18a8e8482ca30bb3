/**
 * Client-signed tokens (Axway Amplify style) and the registration of the public keys that verify them.
 * Real key pairs; tokens signed with jose as a client would.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, type JWK, type JWTPayload } from 'jose';
import { ClientKeyError, publicJwkFromRegistration, type ClientPublicJwk } from '../../../lambda/jwt/client-keys';
import { verifyClientToken, type ClientTokenOptions, type RegisteredClientKey } from '../../../lambda/jwt/client-tokens';
import { thumbprint } from '../../../lambda/jwt/jwk-set';

const NOW = 1_900_000_000;
const AUD = 'https://api.example.com';

interface ClientKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: ClientPublicJwk;
}
const clients: Record<'rs' | 'es' | 'other', ClientKey> = {} as never;
const registry = new Map<string, RegisteredClientKey>();
const lookups: string[] = [];
async function lookupKey(kid: string) {
  lookups.push(kid);
  return registry.get(kid);
}

beforeAll(async () => {
  const rs = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const es = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  clients.rs = { ...rs, jwk: await publicJwkFromRegistration({ pem: rs.publicKey.export({ type: 'spki', format: 'pem' }) as string }) };
  clients.es = { ...es, jwk: await publicJwkFromRegistration({ jwk: es.publicKey.export({ format: 'jwk' }) }) };
  clients.other = { ...other, jwk: await publicJwkFromRegistration({ jwk: { ...other.publicKey.export({ format: 'jwk' }), kid: 'other-key' } }) };
});
beforeEach(() => {
  registry.clear();
  lookups.length = 0;
  registry.set(clients.rs.jwk.kid, { clientId: 'app-rs', jwk: clients.rs.jwk, alg: 'RS256', applicationStatus: 'active' });
  registry.set(clients.es.jwk.kid, { clientId: 'app-es', jwk: clients.es.jwk, alg: 'ES256', applicationStatus: 'active' });
});

const opts = (extra: Partial<ClientTokenOptions> = {}): ClientTokenOptions => ({ audience: AUD, clockToleranceSeconds: 30, currentDate: new Date(NOW * 1000), ...extra });

/** Claims as a client could write them: any JSON, e.g. a numeric sub. */
type Claims = Record<string, unknown>;

function sign(client: ClientKey, claims: Claims, header: { alg?: string; kid?: string | null } = {}): Promise<string> {
  const kid = header.kid === null ? undefined : (header.kid ?? client.jwk.kid);
  return new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: header.alg ?? client.jwk.alg, typ: 'JWT', ...(kid === undefined ? {} : { kid }) }).sign(client.privateKey);
}
const claimsOf = (clientId: string, extra: Claims = {}): Claims => ({ iss: clientId, sub: clientId, aud: AUD, iat: NOW, exp: NOW + 300, jti: 'one-call', ...extra });

describe('verifyClientToken', () => {
  it.each([
    ['RS256', 'rs', 'app-rs'],
    ['ES256', 'es', 'app-es'],
  ] as const)('accepts a %s token of an active application', async (_alg, name, clientId) => {
    const token = await sign(clients[name], claimsOf(clientId));
    expect(await verifyClientToken(token, lookupKey, opts())).toEqual({ ok: true, clientId, kid: clients[name].jwk.kid, keyId: 'one-call' });
    expect(lookups).toEqual([clients[name].jwk.kid]);
  });

  it('accepts an aud list that names this API, and a token without jti', async () => {
    const token = await sign(clients.es, claimsOf('app-es', { aud: ['https://other', AUD], jti: undefined }));
    expect(await verifyClientToken(token, lookupKey, opts())).toEqual({ ok: true, clientId: 'app-es', kid: clients.es.jwk.kid });
  });

  it('accepts a lifetime of exactly the limit and refuses one second more', async () => {
    expect(await verifyClientToken(await sign(clients.es, claimsOf('app-es', { exp: NOW + 300 })), lookupKey, opts())).toMatchObject({ ok: true });
    expect(await verifyClientToken(await sign(clients.es, claimsOf('app-es', { exp: NOW + 301 })), lookupKey, opts())).toEqual({ ok: false, reason: 'lifetime_exceeded' });
  });

  it('refuses a lifetime over the limit even when the token is nearly expired (exp − iat, not exp − now)', async () => {
    const token = await sign(clients.es, claimsOf('app-es', { iat: NOW - 3000, exp: NOW + 60 }));
    expect(await verifyClientToken(token, lookupKey, opts())).toEqual({ ok: false, reason: 'lifetime_exceeded' });
  });

  it('honours a configured clientTokenMaxLifetime', async () => {
    const token = await sign(clients.es, claimsOf('app-es', { exp: NOW + 120 }));
    expect(await verifyClientToken(token, lookupKey, opts({ clientTokenMaxLifetimeSeconds: 60 }))).toMatchObject({ ok: false, reason: 'lifetime_exceeded' });
    expect(await verifyClientToken(token, lookupKey, opts({ clientTokenMaxLifetimeSeconds: 120 }))).toMatchObject({ ok: true });
  });

  it.each<[string, Claims, object]>([
    ['an iss that is not the key\'s client', { iss: 'app-rs' }, { reason: 'wrong_issuer' }],
    ['a sub that is not the key\'s client', { sub: 'app-rs' }, { reason: 'wrong_subject' }],
    ['a sub that is the client id as a number', { sub: 7, iss: '7' }, { reason: 'wrong_issuer' }],
    ['no iss', { iss: undefined }, { reason: 'missing_claim', detail: 'iss' }],
    ['another audience', { aud: 'https://api.example.com/other' }, { reason: 'wrong_audience' }],
    ['no aud', { aud: undefined }, { reason: 'missing_claim', detail: 'aud' }],
    ['no iat', { iat: undefined }, { reason: 'missing_claim', detail: 'iat' }],
    ['no exp', { exp: undefined }, { reason: 'missing_claim', detail: 'exp' }],
    ['an expired exp', { iat: NOW - 300, exp: NOW - 31 }, { reason: 'expired' }],
    ['an iat in the future', { iat: NOW + 31, exp: NOW + 60 }, { reason: 'issued_in_future' }],
    ['an nbf in the future', { nbf: NOW + 31 }, { reason: 'not_yet_valid' }],
    ['an unsafe jti', { jti: 'a\nb' }, { reason: 'bad_claim', detail: 'jti' }],
  ])('refuses a token with %s', async (_name, extra, problem) => {
    const token = await sign(clients.es, claimsOf('app-es', extra));
    expect(await verifyClientToken(token, lookupKey, opts())).toEqual({ ok: false, ...problem });
  });

  it('refuses a sub written as a number even when iss matches a numeric client id', async () => {
    registry.set(clients.es.jwk.kid, { clientId: '7', jwk: clients.es.jwk, alg: 'ES256', applicationStatus: 'active' });
    const token = await sign(clients.es, claimsOf('7', { sub: 7 }));
    expect(await verifyClientToken(token, lookupKey, opts())).toEqual({ ok: false, reason: 'wrong_subject' });
  });

  it('refuses an algorithm other than the registered key\'s', async () => {
    const token = await sign(clients.rs, claimsOf('app-rs'), { alg: 'PS256' });
    expect(await verifyClientToken(token, lookupKey, opts())).toEqual({ ok: false, reason: 'alg_not_allowed', detail: 'PS256' });
    expect(lookups).toEqual([]);
  });

  it('refuses ES256 named with an RS256 key\'s kid', async () => {
    const token = await sign(clients.es, claimsOf('app-rs'), { kid: clients.rs.jwk.kid });
    expect(await verifyClientToken(token, lookupKey, opts())).toEqual({ ok: false, reason: 'alg_not_allowed', detail: 'ES256' });
  });

  it('refuses HS256 signed with the registered public key as the secret', async () => {
    const secret = Buffer.from(JSON.stringify(clients.rs.jwk));
    const token = await new SignJWT(claimsOf('app-rs') as JWTPayload).setProtectedHeader({ alg: 'HS256', kid: clients.rs.jwk.kid }).sign(secret);
    expect(await verifyClientToken(token, lookupKey, opts())).toMatchObject({ ok: false, reason: 'alg_not_allowed' });
  });

  it('refuses a key of a suspended application', async () => {
    registry.set(clients.es.jwk.kid, { ...registry.get(clients.es.jwk.kid)!, applicationStatus: 'suspended' });
    const token = await sign(clients.es, claimsOf('app-es'));
    expect(await verifyClientToken(token, lookupKey, opts())).toEqual({ ok: false, reason: 'application_suspended', detail: 'suspended' });
  });

  it('refuses an unknown kid', async () => {
    const token = await sign(clients.other, claimsOf('app-es'));
    expect(await verifyClientToken(token, lookupKey, opts())).toEqual({ ok: false, reason: 'unknown_kid' });
  });

  it('refuses a token signed by another key under a registered kid', async () => {
    const token = await sign(clients.other, claimsOf('app-es'), { kid: clients.es.jwk.kid });
    expect(await verifyClientToken(token, lookupKey, opts())).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a token without kid, and one whose kid is not a safe id, before any lookup', async () => {
    expect(await verifyClientToken(await sign(clients.es, claimsOf('app-es'), { kid: null }), lookupKey, opts())).toEqual({ ok: false, reason: 'kid_missing' });
    expect(await verifyClientToken(await sign(clients.es, claimsOf('app-es'), { kid: 'a\u0000' }), lookupKey, opts())).toEqual({ ok: false, reason: 'malformed', detail: 'kid' });
    expect(lookups).toEqual([]);
  });

  it('fails closed when the registry cannot be read', async () => {
    const token = await sign(clients.es, claimsOf('app-es'));
    expect(await verifyClientToken(token, () => Promise.reject(new Error('throttled')), opts())).toEqual({ ok: false, reason: 'keys_unavailable', detail: 'registry' });
  });

  it('refuses a registry record whose key does not fit its algorithm', async () => {
    registry.set(clients.es.jwk.kid, { clientId: 'app-es', jwk: clients.rs.jwk, alg: 'ES256', applicationStatus: 'active' });
    const token = await sign(clients.es, claimsOf('app-es'));
    expect(await verifyClientToken(token, lookupKey, opts())).toEqual({ ok: false, reason: 'unknown_kid', detail: 'unusable_key' });
  });
});

describe('publicJwkFromRegistration', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsaJwk = rsa.publicKey.export({ format: 'jwk' }) as JWK;
  const ecJwk = ec.publicKey.export({ format: 'jwk' }) as JWK;

  it('returns the canonical public JWK with its RFC 7638 thumbprint as kid', async () => {
    const jwk = await publicJwkFromRegistration({ jwk: { ...ecJwk, x5c: ['ignored'], ext: true } });
    expect(jwk).toEqual({ kty: 'EC', crv: 'P-256', x: ecJwk.x, y: ecJwk.y, kid: await thumbprint(ecJwk), alg: 'ES256', use: 'sig' });
  });

  it('gives a PEM and the same key as a JWK the same kid, and keeps a given kid', async () => {
    const fromPem = await publicJwkFromRegistration({ pem: rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string });
    const fromPkcs1 = await publicJwkFromRegistration({ pem: rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string });
    const fromJwk = await publicJwkFromRegistration({ jwk: { ...rsaJwk, alg: 'RS256', use: 'sig' } });
    expect(fromPem).toEqual({ kty: 'RSA', n: rsaJwk.n, e: rsaJwk.e, kid: await thumbprint(rsaJwk), alg: 'RS256', use: 'sig' });
    expect(fromPkcs1).toEqual(fromPem);
    expect(fromJwk).toEqual(fromPem);
    expect((await publicJwkFromRegistration({ jwk: { ...rsaJwk, kid: 'laptop-2026' } })).kid).toBe('laptop-2026');
  });

  it('reads jwks.json as `npm run jwt -- keys generate` writes it (a set of one key)', async () => {
    expect(await publicJwkFromRegistration({ jwk: { keys: [{ ...ecJwk, kid: 'k1', alg: 'ES256', use: 'sig' }] } })).toMatchObject({ kid: 'k1', alg: 'ES256' });
  });

  describe('refuses a private key without echoing it', () => {
    const rsaPrivate = rsa.privateKey.export({ format: 'jwk' }) as JWK;
    const ecPrivate = ec.privateKey.export({ format: 'jwk' }) as JWK;
    const cases: Array<[string, { jwk?: unknown; pem?: string }, string]> = [
      ['an RSA JWK with d', { jwk: rsaPrivate }, rsaPrivate.d!],
      ['an EC JWK with d', { jwk: { ...ecPrivate, kid: 'k' } }, ecPrivate.d!],
      ['a JWK Set holding a private key', { jwk: { keys: [ecPrivate] } }, ecPrivate.d!],
      ['a symmetric JWK', { jwk: { kty: 'oct', k: 'c2VjcmV0LXNlY3JldA' } }, 'c2VjcmV0LXNlY3JldA'],
      ['a PKCS#8 PEM', { pem: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }, 'MII'],
      ['a PKCS#1 PEM', { pem: rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string }, 'MII'],
      ['a SEC1 PEM', { pem: ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string }, 'MH'],
      ['an encrypted PEM', { pem: rsa.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string }, 'MII'],
    ];
    it.each(cases)('%s', async (_name, input, material) => {
      const error = await publicJwkFromRegistration(input).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ClientKeyError);
      expect((error as Error).message).toMatch(/^This is a private key: register the public key only/);
      expect((error as Error).message).not.toContain(material);
      expect((error as Error).message).not.toContain('-----BEGIN');
    });
  });

  it.each<[string, { jwk?: unknown; pem?: string }, RegExp]>([
    ['an RSA key under 2048 bits', { jwk: generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }) }, /^The RSA key has 1024 bits; register one of 2048 to 8192 bits\.$/],
    ['an RSA key with e = 1', { jwk: { ...rsaJwk, e: 'AQ' } }, /unusable public exponent/],
    ['a P-384 key', { jwk: generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' }) }, /^Unsupported curve: register an EC P-256 key \(ES256\)/],
    ['an Ed25519 key', { jwk: generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) }, /^Unsupported key type: register an RSA key/],
    ['an EC point off the curve', { jwk: { ...ecJwk, y: ecJwk.x } }, /^The EC P-256 public key is not valid/],
    ['an alg that does not fit the key', { jwk: { ...rsaJwk, alg: 'ES256' } }, /"alg" does not fit it: an RSA key signs RS256 here/],
    ['an RS512 alg on an RSA key', { jwk: { ...rsaJwk, alg: 'RS512' } }, /"alg" does not fit it/],
    ['use "enc"', { jwk: { ...rsaJwk, use: 'enc' } }, /"use" must be "sig"/],
    ['a kid that is not a safe id', { jwk: { ...rsaJwk, kid: 'a"b' } }, /^The key's "kid" must hold printable characters only/],
    ['a JWK Set of two keys', { jwk: { keys: [rsaJwk, ecJwk] } }, /^Register one key at a time: the JWK Set holds 2\.$/],
    ['a PEM that is not a key', { pem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }, /^"pem" is not a readable PEM public key\./],
    ['both jwk and pem', { jwk: rsaJwk, pem: 'x' }, /^Send exactly one of "jwk" and "pem"\./],
    ['neither', {}, /^Send exactly one of "jwk" and "pem"\./],
    ['a jwk that is a string', { jwk: JSON.stringify(rsaJwk) }, /^"jwk" must be a JSON object\./],
  ])('refuses %s', async (_name, input, message) => {
    await expect(publicJwkFromRegistration(input)).rejects.toThrow(message);
  });
});
