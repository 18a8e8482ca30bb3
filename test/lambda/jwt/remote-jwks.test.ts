/**
 * An outside issuer's keys, fetched over real HTTP from a local OpenID provider on 127.0.0.1: caching,
 * rotation, outages, floods of unknown kids, discovery, the time bound, and documents that must be refused.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { JWK } from 'jose';
import { MAX_JWKS_KEYS, parseJwksDocument } from '../../../lambda/jwt/jwks-document';
import { createRemoteJwks, discoveryUrl, RemoteJwksError, ttlFromCacheControl, type RemoteJwksOptions } from '../../../lambda/jwt/remote-jwks';
import { idpKey, LocalIdp, type IdpKey } from '../../support/idp-server';

const T0 = 1_900_000_000_000;
let clock = T0;
const idp = new LocalIdp();
let rsa: IdpKey;
let ec: IdpKey;

beforeAll(async () => {
  await idp.start();
  [rsa, ec] = await Promise.all([idpKey('RS256'), idpKey('ES256')]);
});
afterAll(() => idp.stop());
beforeEach(() => {
  idp.reset();
  idp.keys = [rsa.jwk];
  clock = T0;
});

function source(extra: Partial<RemoteJwksOptions> = {}) {
  return createRemoteJwks({ issuer: idp.issuer, jwksUri: `${idp.url}/jwks`, now: () => clock, ...extra });
}
const kids = (set: { keys: Array<{ kid?: string }> }) => set.keys.map((k) => k.kid);

describe('caching', () => {
  it('fetches once and serves the cached set until it expires (10 minutes by default)', async () => {
    const jwks = source();
    expect(kids(await jwks.get())).toEqual([rsa.kid]);
    clock += 599_999;
    await jwks.get();
    expect(idp.count('/jwks')).toBe(1);
    clock += 1;
    await jwks.get();
    expect(idp.count('/jwks')).toBe(2);
    expect(jwks.fetches).toBe(2);
  });

  it('shares one request among concurrent callers', async () => {
    const jwks = source();
    await Promise.all(Array.from({ length: 50 }, () => jwks.get()));
    expect(idp.count('/jwks')).toBe(1);
  });

  it.each([
    ['max-age=120', 120_000],
    ['public, max-age=5', 60_000],
    ['max-age=999999', 3_600_000],
    ['no-store', 60_000],
  ])('honours Cache-Control "%s" within [1 min, 1 h]', async (header, ttl) => {
    idp.cacheControl = header;
    const jwks = source();
    await jwks.get();
    clock += ttl - 1;
    await jwks.get();
    expect(idp.count('/jwks')).toBe(1);
    clock += 1;
    await jwks.get();
    expect(idp.count('/jwks')).toBe(2);
  });

  it('reads Cache-Control as specified', () => {
    expect(ttlFromCacheControl(null, 600_000)).toBe(600_000);
    expect(ttlFromCacheControl('private', 600_000)).toBe(600_000);
    expect(ttlFromCacheControl('s-maxage=10, max-age=300', 600_000)).toBe(300_000);
    expect(ttlFromCacheControl('max-age=0', 600_000)).toBe(60_000);
  });
});

describe('rotation', () => {
  it('fetches again for an unknown kid and then knows the new key', async () => {
    const jwks = source();
    await jwks.get();
    idp.keys = [ec.jwk, rsa.jwk];
    expect(await jwks.refresh()).toBe(true);
    expect(kids(await jwks.get())).toEqual([ec.kid, rsa.kid]);
    expect(idp.count('/jwks')).toBe(2);
  });

  it('forces at most one fetch per 10 seconds', async () => {
    const jwks = source();
    await jwks.get();
    expect(await jwks.refresh()).toBe(true);
    clock += 9_999;
    expect(await jwks.refresh()).toBe(false);
    clock += 1;
    expect(await jwks.refresh()).toBe(true);
    expect(idp.count('/jwks')).toBe(3);
  });

  it('survives a flood of 1,000 unknown kids spread over 50 s with at most one fetch per 10 s', async () => {
    const jwks = source();
    await jwks.get();
    for (let i = 0; i < 1000; i++) {
      clock += 50;
      await jwks.refresh();
    }
    // 1 initial + one per started 10 s window (0, 10, 20, 30, 40 s).
    expect(idp.count('/jwks')).toBeLessThanOrEqual(1 + 5);
    expect(idp.count('/jwks')).toBeGreaterThanOrEqual(2);
  });

  it('survives 1,000 unknown kids at the same instant with one fetch', async () => {
    const jwks = source();
    await jwks.get();
    await Promise.all(Array.from({ length: 1000 }, () => jwks.refresh()));
    expect(idp.count('/jwks')).toBe(2);
  });
});

describe('outages', () => {
  it('refuses when nothing was ever loaded (cold, issuer down), and does not retry for 10 s', async () => {
    idp.status = 503;
    const jwks = source();
    await expect(jwks.get()).rejects.toMatchObject({ code: 'jwks_http_status' });
    await expect(jwks.get()).rejects.toBeInstanceOf(RemoteJwksError);
    expect(idp.count('/jwks')).toBe(1);
    clock += 10_000;
    idp.status = undefined;
    expect(kids(await jwks.get())).toEqual([rsa.kid]);
  });

  it('refuses a cold source whose issuer cannot be reached at all', async () => {
    const jwks = createRemoteJwks({ issuer: 'http://127.0.0.1:9', jwksUri: 'http://127.0.0.1:9/jwks', now: () => clock });
    await expect(jwks.get()).rejects.toMatchObject({ code: 'jwks_unreachable' });
  });

  it('serves the stale set during an outage, up to maxStaleMs past its expiry, then refuses', async () => {
    const jwks = source({ maxStaleMs: 3_600_000 });
    await jwks.get();
    idp.status = 500;
    clock += 600_000; // expired
    expect(kids(await jwks.get())).toEqual([rsa.kid]);
    expect(idp.count('/jwks')).toBe(2);
    clock += 3_600_000 - 1;
    expect(kids(await jwks.get())).toEqual([rsa.kid]);
    clock += 1;
    await expect(jwks.get()).rejects.toMatchObject({ code: 'jwks_http_status' });
  });

  it('recovers when the issuer answers again', async () => {
    const jwks = source();
    await jwks.get();
    idp.status = 502;
    clock += 600_000;
    await jwks.get();
    idp.status = undefined;
    idp.keys = [ec.jwk];
    clock += 10_000;
    expect(kids(await jwks.get())).toEqual([ec.kid]);
  });

  it('gives up within the timeout when the issuer never answers', async () => {
    idp.hang = true;
    const jwks = source({ timeoutMs: 300 });
    const started = performance.now();
    await expect(jwks.get()).rejects.toMatchObject({ code: 'jwks_timeout' });
    expect(performance.now() - started).toBeLessThan(300 + 250);
  });

  it('bounds discovery and JWKS together by one deadline', async () => {
    idp.delayMs = 200;
    const jwks = createRemoteJwks({ issuer: idp.issuer, now: () => clock, timeoutMs: 300 });
    const started = performance.now();
    await expect(jwks.get()).rejects.toMatchObject({ code: 'jwks_timeout' });
    expect(performance.now() - started).toBeLessThan(300 + 250);
    expect(idp.count('/.well-known/openid-configuration')).toBe(1);
  });

  it('does not follow a redirect, not even to a valid JWK Set', async () => {
    const jwks = createRemoteJwks({ issuer: idp.issuer, jwksUri: `${idp.url}/moved`, now: () => clock });
    await expect(jwks.get()).rejects.toMatchObject({ code: 'jwks_http_status' });
    expect(idp.count('/jwks')).toBe(0);
  });

  it('refuses a response larger than maxBytes', async () => {
    idp.rawJwks = JSON.stringify({ keys: [rsa.jwk], pad: 'x'.repeat(10_000) });
    await expect(source({ maxBytes: 4096 }).get()).rejects.toMatchObject({ code: 'jwks_too_large' });
  });

  it('refuses a body that is not JSON', async () => {
    idp.rawJwks = '<html>maintenance</html>';
    await expect(source().get()).rejects.toMatchObject({ code: 'jwks_invalid' });
  });
});

describe('discovery', () => {
  it('follows <issuer>/.well-known/openid-configuration once and caches it across JWKS fetches', async () => {
    const jwks = createRemoteJwks({ issuer: idp.issuer, now: () => clock });
    await jwks.get();
    clock += 600_000;
    await jwks.get();
    clock += 10_000;
    await jwks.refresh();
    expect(idp.count('/jwks')).toBe(3);
    expect(idp.count('/.well-known/openid-configuration')).toBe(1);
    expect(jwks.discoveryFetches).toBe(1);
  });

  it('reads discovery again after its TTL', async () => {
    const jwks = createRemoteJwks({ issuer: idp.issuer, now: () => clock, discoveryTtlMs: 60_000, ttlMs: 60_000 });
    await jwks.get();
    clock += 60_000;
    await jwks.get();
    expect(idp.count('/.well-known/openid-configuration')).toBe(2);
  });

  it('refuses a discovery document that names another issuer', async () => {
    idp.discovery = { issuer: 'https://evil.example.com', jwks_uri: `${idp.url}/jwks` };
    await expect(createRemoteJwks({ issuer: idp.issuer, now: () => clock }).get()).rejects.toMatchObject({ code: 'discovery_invalid' });
    expect(idp.count('/jwks')).toBe(0);
  });

  it('refuses a discovered jwks_uri over plain http to a non-loopback host', async () => {
    idp.discovery = { issuer: idp.issuer, jwks_uri: 'http://keys.example.com/jwks' };
    await expect(createRemoteJwks({ issuer: idp.issuer, now: () => clock }).get()).rejects.toMatchObject({ code: 'discovery_invalid' });
  });

  it('builds the discovery URL as OpenID Connect Discovery §4 says', () => {
    expect(discoveryUrl('https://idp.example.com/tenant/')).toBe('https://idp.example.com/tenant/.well-known/openid-configuration');
    expect(discoveryUrl('https://idp.example.com')).toBe('https://idp.example.com/.well-known/openid-configuration');
  });
});

describe('the JWK Set document', () => {
  const rsaJwk = (bits: number): JWK => generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' }) as JWK;

  it('keeps usable signing keys, each with the algorithms it may verify', () => {
    const set = parseJwksDocument({ keys: [rsa.jwk, { ...ec.jwk, alg: undefined }] });
    expect(set.keys.map((k) => [k.kid, k.algs])).toEqual([
      [rsa.kid, ['RS256']],
      [ec.kid, ['ES256']],
    ]);
  });

  it('lets an RSA key without alg verify the RSA algorithms only', () => {
    const [key] = parseJwksDocument({ keys: [{ ...rsa.jwk, alg: undefined }] }).keys;
    expect(key.algs).toEqual(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
  });

  it.each([
    ['use "enc"', { use: 'enc' }],
    ['key_ops without verify', { key_ops: ['encrypt'] }],
    ['an HS256 alg', { alg: 'HS256' }],
    ['an alg its key type cannot serve', { alg: 'ES256' }],
    ['an unknown alg', { alg: 'RS1' }],
    ['a kid that is not a safe id', { kid: 'a"b' }],
    ['an unknown kty', { kty: 'XYZ' }],
  ])('skips a key with %s', (_name, change) => {
    expect(parseJwksDocument({ keys: [{ ...rsa.jwk, ...change }, ec.jwk] }).keys.map((k) => k.kid)).toEqual([ec.kid]);
  });

  it('skips RSA keys under 2048 bits', () => {
    expect(parseJwksDocument({ keys: [{ ...rsaJwk(1024), kid: 'small' }, { ...rsaJwk(2048), kid: 'ok' }] }).keys.map((k) => k.kid)).toEqual(['ok']);
  });

  it('skips an EC point off its curve', () => {
    const y = Buffer.from(ec.jwk.y!, 'base64url');
    y[3] ^= 1;
    expect(parseJwksDocument({ keys: [{ ...ec.jwk, y: y.toString('base64url') }] }).keys).toEqual([]);
  });

  it.each([
    ['an RSA private key (d)', () => ({ ...(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as JWK), kid: 'leak' })],
    ['a symmetric key (k)', () => ({ kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' })],
  ])('refuses the whole document when it publishes %s', (_name, leaked) => {
    expect(() => parseJwksDocument({ keys: [rsa.jwk, leaked()] })).toThrow(expect.objectContaining({ code: 'jwks_private_key' }));
  });

  it.each([
    ['not an object', 'keys'],
    ['without keys', { jwks: [] }],
    ['with keys not a list', { keys: {} }],
    [`with more than ${MAX_JWKS_KEYS} keys`, { keys: Array.from({ length: MAX_JWKS_KEYS + 1 }, () => ({ kty: 'EC' })) }],
  ])('refuses a document %s', (_name, doc) => {
    expect(() => parseJwksDocument(doc)).toThrow(expect.objectContaining({ code: 'jwks_invalid' }));
  });

  it('drops the cached set when the issuer starts publishing private keys', async () => {
    const jwks = source();
    await jwks.get();
    idp.keys = [rsa.jwk, { ...(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as JWK), kid: 'leak' }];
    clock += 600_000;
    await expect(jwks.get()).rejects.toMatchObject({ code: 'jwks_private_key' });
  });
});
