import { generateKeyPairSync } from 'node:crypto';
import * as jwt from 'jsonwebtoken';
import { jwkFromSharedSecret } from '../../lambda/jwt/jwk-set';
import { authorizerEvent } from '../support/events';
import { loadFunctions, localRegistry } from '../support/functions';
import { LocalSecretsManager, useLocalAws } from '../support/secrets-server';

const sm = new LocalSecretsManager();
const registry = localRegistry();
const SHARED = 'portal-shared-secret-with-enough-bytes-1234';
const { privateKey: PEM } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });

beforeAll(async () => useLocalAws('SECRETS_MANAGER', await sm.start()));
afterAll(() => sm.stop());

async function authorizerFor(alg: 'HS256' | 'RS256', secretValue: string, acceptPortalTokens: boolean) {
  const { env } = await sm.putKeySet(`portal-${Math.random()}`, secretValue, alg);
  // The portal mints 30-day keys: the lifetime ceiling (JWT_EXPIRES_IN) must allow them.
  return loadFunctions({ ...env, KEY_REGISTRY_TABLE: await registry.table(), JWT_ALGORITHM: alg, JWT_EXPIRES_IN: '30d', JWT_ACCEPT_PORTAL_TOKENS: String(acceptPortalTokens) }).authorize;
}

/** Exactly what the portal's JWT plugin does in createApiKey (jsonwebtoken, payload, options). */
function portalKey(secret: string, algorithm: 'HS256' | 'RS256', extra: jwt.SignOptions = {}, kid?: string): string {
  const customerId = 'cus_123';
  return jwt.sign({ sub: customerId, org_id: customerId }, secret, { algorithm, expiresIn: '30d', ...(kid && { keyid: kid }), ...extra });
}

describe.each([
  ['HS256 with a string secret', 'HS256' as const, SHARED, SHARED],
  ['RS256 with a PEM key', 'RS256' as const, PEM, PEM],
])('portal keys minted with %s', (_name, alg, signingSecret, storedSecret) => {
  it('are accepted with acceptPortalTokens, with the customer as user and company', async () => {
    const authorize = await authorizerFor(alg, storedSecret, true);
    await expect(authorize(authorizerEvent(`Bearer ${portalKey(signingSecret, alg)}`))).resolves.toEqual({
      isAuthorized: true,
      context: { userId: 'cus_123', companyId: 'cus_123' },
    });
  });

  it('are refused without acceptPortalTokens', async () => {
    const authorize = await authorizerFor(alg, storedSecret, false);
    await expect(authorize(authorizerEvent(`Bearer ${portalKey(signingSecret, alg)}`))).resolves.toEqual({ isAuthorized: false });
  });

  it('are refused either way with a wrong iss or aud', async () => {
    for (const accept of [true, false]) {
      const authorize = await authorizerFor(alg, storedSecret, accept);
      for (const extra of [{ issuer: 'https://someone-else.example.com' }, { audience: 'other-api' }]) {
        await expect(authorize(authorizerEvent(`Bearer ${portalKey(signingSecret, alg, extra)}`))).resolves.toEqual({ isAuthorized: false });
      }
    }
  });

  it('are refused either way once expired (exp is required)', async () => {
    const authorize = await authorizerFor(alg, storedSecret, true);
    const expired = jwt.sign({ sub: 'c', org_id: 'c', exp: Math.floor(Date.now() / 1000) - 3600 }, signingSecret, { algorithm: alg });
    const noExp = jwt.sign({ sub: 'c', org_id: 'c' }, signingSecret, { algorithm: alg });
    await expect(authorize(authorizerEvent(expired))).resolves.toEqual({ isAuthorized: false });
    await expect(authorize(authorizerEvent(noExp))).resolves.toEqual({ isAuthorized: false });
  });
});

describe('portal keys, other cases', () => {
  it('refuses a portal key of another algorithm either way (the algorithm stays pinned)', async () => {
    const hs512 = jwt.sign({ sub: 'c', org_id: 'c' }, SHARED, { algorithm: 'HS512', expiresIn: '1d' });
    for (const accept of [true, false]) {
      await expect((await authorizerFor('HS256', SHARED, accept))(authorizerEvent(hs512))).resolves.toEqual({ isAuthorized: false });
    }
  });

  it('accepts a portal key with PLUGIN_JWT_KID once the secret was imported with that kid', async () => {
    const set = JSON.stringify({ keys: [await jwkFromSharedSecret(SHARED, 'HS256', 'portal-kid-1')] });
    const authorize = await authorizerFor('HS256', set, true);
    await expect(authorize(authorizerEvent(portalKey(SHARED, 'HS256', {}, 'portal-kid-1')))).resolves.toMatchObject({ isAuthorized: true });
    await expect(authorize(authorizerEvent(portalKey(SHARED, 'HS256', {}, 'another-kid')))).resolves.toEqual({ isAuthorized: false });
  });

  it('reads a shared secret stored with a trailing newline as the portal does (trimmed)', async () => {
    const authorize = await authorizerFor('HS256', `${SHARED}\n`, true);
    await expect(authorize(authorizerEvent(portalKey(SHARED, 'HS256')))).resolves.toMatchObject({ isAuthorized: true });
  });

  it('still requires the company claim', async () => {
    const authorize = await authorizerFor('HS256', SHARED, true);
    const token = jwt.sign({ sub: 'c' }, SHARED, { algorithm: 'HS256', expiresIn: '1d' });
    await expect(authorize(authorizerEvent(token))).resolves.toEqual({ isAuthorized: false });
  });
});
