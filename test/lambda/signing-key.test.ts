import { LocalSecretsManager, useLocalAws } from '../support/secrets-server';
import { buildKeyRing, jwkFromSharedSecret, parseKeySet, type PrivateJwkSet } from '../../lambda/jwt/jwk-set';
import { issueKey } from '../../lambda/jwt/issue';
import { PUBLISH_DELAY_SECONDS } from '../../lambda/jwt/rotation';
import { verifyToken } from '../../lambda/jwt/verify';

const sm = new LocalSecretsManager();
let handler: typeof import('../../lambda/signing-key').handler;

beforeAll(async () => {
  useLocalAws('SECRETS_MANAGER', await sm.start());
  process.env.JWT_ALGORITHM = 'RS256';
  process.env.JWT_EXPIRES_IN = '600';
  handler = require('../../lambda/signing-key').handler;
});
afterAll(() => sm.stop());
afterEach(() => jest.useRealTimers());

const PLACEHOLDER = '{"keys":[],"placeholder":"Xy12"}';
const opts = { issuer: 'i', audience: 'a', userIdField: 'sub', companyIdField: 'org_id', maxLifetimeSeconds: 600, clockToleranceSeconds: 0, algorithm: 'RS256' as const };
const nowS = () => Math.floor(Date.now() / 1000);

function create(arn: string, alg = 'RS256') {
  return handler({ RequestType: 'Create', ResourceProperties: { SecretArn: arn, Algorithm: alg } }) as Promise<{ PhysicalResourceId: string; Data: { Kid: string } }>;
}

async function rotate(arn: string, token: string): Promise<void> {
  sm.beginRotation(arn, token);
  for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) await handler({ Step, SecretId: arn, ClientRequestToken: token });
}

function stored(arn: string): PrivateJwkSet {
  return JSON.parse(sm.current(arn)!);
}

describe('signing-key function: first key (custom resource)', () => {
  it('replaces the placeholder with a generated private JWK Set at deploy time', async () => {
    const arn = sm.put('gen', PLACEHOLDER);
    const out = await create(arn);
    const set = stored(arn);
    expect(set.keys).toHaveLength(1);
    expect(set.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: out.Data.Kid, d: expect.any(String) });
    expect(set.keys[0].activates_at).toBeUndefined();
    expect(Buffer.from(set.keys[0].n!, 'base64url').length * 8).toBe(2048);
  });

  it('is idempotent: a second Create or an Update keeps the key', async () => {
    const arn = sm.put('idem', PLACEHOLDER);
    const first = await create(arn);
    const second = await create(arn);
    await handler({ RequestType: 'Update', PhysicalResourceId: first.PhysicalResourceId, ResourceProperties: { SecretArn: arn, Algorithm: 'RS256' } });
    expect(second.Data.Kid).toBe(first.Data.Kid);
    expect(stored(arn).keys).toHaveLength(1);
  });

  it('prepends a key of the new algorithm when the algorithm changes, so both sides of the deploy can sign', async () => {
    const arn = sm.put('alg-change', PLACEHOLDER);
    const first = await create(arn, 'RS256');
    const out = (await handler({ RequestType: 'Update', ResourceProperties: { SecretArn: arn, Algorithm: 'ES256' } })) as { Data: { Kid: string } };
    const set = stored(arn);
    expect(set.keys.map((k) => k.alg)).toEqual(['ES256', 'RS256']);
    expect(out.Data.Kid).not.toBe(first.Data.Kid);
    expect(buildKeyRing(set, 'RS256').signer.kid).toBe(first.Data.Kid);
    expect(buildKeyRing(set, 'ES256').signer.kid).toBe(out.Data.Kid);
  });

  it('leaves the secret alone on Delete', async () => {
    const arn = sm.put('del', PLACEHOLDER);
    await create(arn);
    const before = sm.current(arn);
    await handler({ RequestType: 'Delete', PhysicalResourceId: 'x', ResourceProperties: { SecretArn: arn, Algorithm: 'RS256' } });
    expect(sm.current(arn)).toBe(before);
  });
});

describe('signing-key function: rotation', () => {
  it('publishes the new key first and signs with it only after the publish delay', async () => {
    const arn = sm.put('rot-publish', PLACEHOLDER);
    const { Data } = await create(arn);
    await rotate(arn, 'v2');
    const set = stored(arn);
    expect(sm.stagesOf(arn)['v2']).toContain('AWSCURRENT');
    expect(set.keys).toHaveLength(2);
    expect(set.keys[0].activates_at).toBeGreaterThanOrEqual(nowS() + PUBLISH_DELAY_SECONDS - 5);
    expect(set.keys[1]).toMatchObject({ kid: Data.Kid, retired_at: set.keys[0].activates_at });
    expect(buildKeyRing(set, 'RS256').signer.kid).toBe(Data.Kid);
    expect(buildKeyRing(set, 'RS256', set.keys[0].activates_at!).signer.kid).toBe(set.keys[0].kid);
  });

  it('keeps a retired key while its tokens can be valid, then drops it', async () => {
    const arn = sm.put('rot-overlap', PLACEHOLDER);
    await create(arn);
    const first = buildKeyRing(await parseKeySet(sm.current(arn)!, 'RS256'), 'RS256');
    const oldToken = (await issueKey({ userId: 'u', companyId: 'c' }, first.signer, opts)).apikey;

    await rotate(arn, 'v2');
    await rotate(arn, 'v3');
    // Two rotations in a row: the first key is still within its last token's lifetime + margin.
    const soon = buildKeyRing(stored(arn), 'RS256');
    expect(soon.keys.map((k) => k.kid)).toContain(first.signer.kid);
    expect(await verifyToken(oldToken, soon, opts)).toMatchObject({ ok: true });

    // Two days later (lifetime 600 s + a day's margin), the next rotation drops it.
    jest.useFakeTimers({ now: Date.now() + 2 * 86_400_000, doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'queueMicrotask'] });
    await rotate(arn, 'v4');
    const later = stored(arn).keys.map((k) => k.kid);
    // Left: the new key and the one from the previous rotation (it signs until the new one activates).
    expect(later).toEqual([expect.any(String), soon.keys[0].kid]);
    expect(later).not.toContain(first.signer.kid);
  });

  it('keeps an imported plain shared secret (the portal key) verifying after a rotation', async () => {
    process.env.JWT_ALGORITHM = 'HS256';
    try {
      const arn = sm.put('rot-plain', 'portal-shared-secret-with-enough-bytes-1234');
      await rotate(arn, 'v2');
      const set = stored(arn);
      const portal = await jwkFromSharedSecret('portal-shared-secret-with-enough-bytes-1234', 'HS256');
      expect(set.keys.map((k) => k.kid)).toEqual([expect.any(String), portal.kid]);
      expect(set.keys[1]).toMatchObject({ k: portal.k, retired_at: set.keys[0].activates_at });
    } finally {
      process.env.JWT_ALGORITHM = 'RS256';
    }
  });

  it('does not create a second pending value when createSecret is retried', async () => {
    const arn = sm.put('retry', PLACEHOLDER);
    await create(arn);
    sm.beginRotation(arn, 'v2');
    await handler({ Step: 'createSecret', SecretId: arn, ClientRequestToken: 'v2' });
    const puts = sm.calls.PutSecretValue;
    await handler({ Step: 'createSecret', SecretId: arn, ClientRequestToken: 'v2' });
    expect(sm.calls.PutSecretValue).toBe(puts);
  });

  it('refuses a version that is not AWSPENDING, and does nothing for one already current', async () => {
    const arn = sm.put('protocol', PLACEHOLDER);
    await create(arn);
    await expect(handler({ Step: 'createSecret', SecretId: arn, ClientRequestToken: 'unknown' })).rejects.toThrow(/has no stage/);
    await rotate(arn, 'v2');
    const before = sm.current(arn);
    await handler({ Step: 'finishSecret', SecretId: arn, ClientRequestToken: 'v2' });
    expect(sm.current(arn)).toBe(before);
  });
});
