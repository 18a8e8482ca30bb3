import { LocalSecretsManager, useLocalAws } from '../support/secrets-server';
import { buildKeyRing, jwkFromSharedSecret, parseKeySet, parsePublicKeySet, type PrivateJwkSet } from '../../lambda/jwt/jwk-set';
import { issueKey } from '../../lambda/jwt/issue';
import { PUBLISH_DELAY_SECONDS } from '../../lambda/jwt/lifecycle';
import { verifyToken } from '../../lambda/jwt/verify';

const sm = new LocalSecretsManager();
let handler: typeof import('../../lambda/signing-key').handler;
let publicArn: string;

beforeAll(async () => {
  useLocalAws('SECRETS_MANAGER', await sm.start());
  publicArn = sm.put('public-keys', '{"keys":[]}');
  process.env.JWT_ALGORITHM = 'RS256';
  process.env.JWT_EXPIRES_IN = '600';
  process.env.JWT_PUBLIC_KEYS_SECRET_ARN = publicArn;
  handler = require('../../lambda/signing-key').handler;
});
afterAll(() => sm.stop());
afterEach(() => jest.useRealTimers());

const PLACEHOLDER = '{"keys":[],"placeholder":"Xy12"}';
const opts = { issuer: 'i', audience: 'a', userIdField: 'sub', companyIdField: 'org_id', maxLifetimeSeconds: 600, clockToleranceSeconds: 0, algorithm: 'RS256' as const };
const nowS = () => Math.floor(Date.now() / 1000);
const ONLY_DATE: { doNotFake: Array<'nextTick' | 'setImmediate' | 'setTimeout' | 'setInterval' | 'clearTimeout' | 'clearInterval' | 'queueMicrotask'> } = {
  doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'queueMicrotask'],
};

type Out = { PhysicalResourceId: string; Data: { Kid: string } };
function deploy(arn: string, alg = 'RS256', extra: Record<string, string> = {}, type: 'Create' | 'Update' = 'Create') {
  return handler({ RequestType: type, ResourceProperties: { SecretArn: arn, PublicKeysSecretArn: publicArn, Algorithm: alg, MaxLifetimeSeconds: '600', ...extra } }) as Promise<Out>;
}

async function rotate(arn: string, token: string): Promise<void> {
  sm.beginRotation(arn, token);
  for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) await handler({ Step, SecretId: arn, ClientRequestToken: token });
}

function stored(arn: string): PrivateJwkSet {
  return JSON.parse(sm.current(arn)!);
}
function published(): string[] {
  return parsePublicKeySet(sm.current(publicArn)!).keys.map((k) => k.kid);
}

describe('signing-key function: first key (custom resource)', () => {
  it('replaces the placeholder with a generated private JWK Set at deploy time, and publishes its public part', async () => {
    const arn = sm.put('gen', PLACEHOLDER);
    const out = await deploy(arn);
    const set = stored(arn);
    expect(set.keys).toHaveLength(1);
    expect(set.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: out.Data.Kid, d: expect.any(String), max_token_lifetime: 600 });
    expect(set.keys[0].activates_at).toBeUndefined();
    expect(Buffer.from(set.keys[0].n!, 'base64url').length * 8).toBe(2048);
    // The public copy holds the same key without any private member.
    const pub = JSON.parse(sm.current(publicArn)!);
    expect(pub.keys).toEqual([{ kty: 'RSA', n: set.keys[0].n, e: set.keys[0].e, kid: out.Data.Kid, alg: 'RS256', use: 'sig' }]);
  });

  it('is idempotent: a second Create or an Update keeps the key and writes nothing', async () => {
    const arn = sm.put('idem', PLACEHOLDER);
    const first = await deploy(arn);
    const puts = sm.calls.PutSecretValue;
    const second = await deploy(arn);
    await deploy(arn, 'RS256', {}, 'Update');
    expect(second.Data.Kid).toBe(first.Data.Kid);
    expect(stored(arn).keys).toHaveLength(1);
    expect(sm.calls.PutSecretValue).toBe(puts);
  });

  it('prepends a key of the new algorithm when the algorithm changes, so both sides of the deploy can sign', async () => {
    const arn = sm.put('alg-change', PLACEHOLDER);
    const first = await deploy(arn, 'RS256');
    const out = await deploy(arn, 'ES256', {}, 'Update');
    const set = stored(arn);
    expect(set.keys.map((k) => k.alg)).toEqual(['ES256', 'RS256']);
    expect(out.Data.Kid).not.toBe(first.Data.Kid);
    expect(buildKeyRing(set, 'RS256').signer.kid).toBe(first.Data.Kid);
    expect(buildKeyRing(set, 'ES256').signer.kid).toBe(out.Data.Kid);
    expect(published()).toEqual([out.Data.Kid, first.Data.Kid]);
  });

  it('records a raised JWT_EXPIRES_IN on the keys that still sign', async () => {
    const arn = sm.put('lifetime', PLACEHOLDER);
    await deploy(arn);
    await deploy(arn, 'RS256', { MaxLifetimeSeconds: '86400' }, 'Update');
    expect(stored(arn).keys[0].max_token_lifetime).toBe(86_400);
    await deploy(arn, 'RS256', { MaxLifetimeSeconds: '60' }, 'Update');
    expect(stored(arn).keys[0].max_token_lifetime).toBe(86_400);
  });

  it('leaves the secret alone on Delete', async () => {
    const arn = sm.put('del', PLACEHOLDER);
    await deploy(arn);
    const before = sm.current(arn);
    await handler({ RequestType: 'Delete', PhysicalResourceId: 'x', ResourceProperties: { SecretArn: arn, PublicKeysSecretArn: publicArn, Algorithm: 'RS256', MaxLifetimeSeconds: '600' } });
    expect(sm.current(arn)).toBe(before);
  });

  it('checks an imported secret without writing it, publishes its public keys, and fails the deploy when it cannot sign', async () => {
    const portal = sm.put('imported-hs', 'portal-shared-secret-with-enough-bytes-1234');
    const puts = sm.calls.PutSecretValue;
    await expect(deploy(portal, 'HS256', { Imported: 'true' })).resolves.toMatchObject({ Data: { Kid: expect.any(String) } });
    expect(sm.current(portal)).toBe('portal-shared-secret-with-enough-bytes-1234');
    expect(published()).toEqual([]);
    expect(sm.calls.PutSecretValue).toBe(puts + 1);
    await expect(deploy(portal, 'RS256', { Imported: 'true' })).rejects.toThrow(/The imported signing secret has no RS256 key that signs now .* npm run secret:import/);
    // A name-only ARN of a name ending in "-" and 6 characters, which Secrets Manager reads as a suffix.
    const partial = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:portal-Secret';
    await expect(deploy(partial, 'HS256', { Imported: 'true' })).rejects.toThrow(
      `The imported signing secret ${partial} cannot be read: give its complete ARN, as \`aws secretsmanager describe-secret --secret-id <name> --query ARN\` prints it (not found).`,
    );
  });
});

describe('signing-key function: rotation', () => {
  it('publishes the new key before it is pending and signs with it only after the publish delay', async () => {
    const arn = sm.put('rot-publish', PLACEHOLDER);
    const { Data } = await deploy(arn);
    sm.beginRotation(arn, 'v2');
    await handler({ Step: 'createSecret', SecretId: arn, ClientRequestToken: 'v2' });
    // Pending, not current yet, but already published.
    expect(stored(arn).keys.map((k) => k.kid)).toEqual([Data.Kid]);
    expect(published()).toHaveLength(2);
    expect(published()).toContain(Data.Kid);
    for (const Step of ['setSecret', 'testSecret', 'finishSecret'] as const) await handler({ Step, SecretId: arn, ClientRequestToken: 'v2' });
    const set = stored(arn);
    expect(sm.stagesOf(arn)['v2']).toContain('AWSCURRENT');
    expect(set.keys).toHaveLength(2);
    expect(set.keys[0].activates_at).toBeGreaterThanOrEqual(nowS() + PUBLISH_DELAY_SECONDS - 5);
    expect(set.keys[1]).toMatchObject({ kid: Data.Kid, retired_at: set.keys[0].activates_at });
    expect(buildKeyRing(set, 'RS256').signer.kid).toBe(Data.Kid);
    expect(buildKeyRing(set, 'RS256', set.keys[0].activates_at!).signer.kid).toBe(set.keys[0].kid);
    expect(published()).toEqual(set.keys.map((k) => k.kid));
  });

  it('keeps a retired key while its tokens can be valid, then drops it', async () => {
    const arn = sm.put('rot-overlap', PLACEHOLDER);
    await deploy(arn);
    const first = buildKeyRing(await parseKeySet(sm.current(arn)!, 'RS256'), 'RS256');
    const oldToken = (await issueKey({ userId: 'u', companyId: 'c' }, first.signer, opts)).apikey;

    await rotate(arn, 'v2');
    await rotate(arn, 'v3');
    // Two rotations in a row: the first key is still within its last token's lifetime + margin.
    const soon = buildKeyRing(stored(arn), 'RS256');
    expect(soon.keys.map((k) => k.kid)).toContain(first.signer.kid);
    expect(verifyToken(oldToken, soon, opts)).toMatchObject({ ok: true });

    // Two days later (lifetime 600 s + a day's margin), the next rotation drops it.
    jest.useFakeTimers({ now: Date.now() + 2 * 86_400_000, ...ONLY_DATE });
    await rotate(arn, 'v4');
    const later = stored(arn).keys.map((k) => k.kid);
    // Left: the new key and the one from the previous rotation (it signs until the new one activates).
    expect(later).toEqual([expect.any(String), soon.keys[0].kid]);
    expect(later).not.toContain(first.signer.kid);
    expect(published()).toEqual(later);
  });

  it('survives an algorithm round trip: RS256, ES256, rotate, RS256 again, rotate days later', async () => {
    const arn = sm.put('round-trip', PLACEHOLDER);
    const rs1 = (await deploy(arn, 'RS256')).Data.Kid;
    await deploy(arn, 'ES256', {}, 'Update');
    process.env.JWT_ALGORITHM = 'ES256';
    await rotate(arn, 'r1');
    process.env.JWT_ALGORITHM = 'RS256';
    jest.useFakeTimers({ now: Date.now() + 3600_000, ...ONLY_DATE });
    // The old RS256 key was retired by the ES256 rotation: redeploying RS256 must not sign with it again.
    const rs2 = (await deploy(arn, 'RS256', {}, 'Update')).Data.Kid;
    expect(rs2).not.toBe(rs1);
    const signer = buildKeyRing(stored(arn), 'RS256').signer;
    expect(signer.kid).toBe(rs2);
    const token = (await issueKey({ userId: 'u', companyId: 'c' }, signer, opts)).apikey;

    jest.useFakeTimers({ now: Date.now() + 3 * 86_400_000, ...ONLY_DATE });
    await rotate(arn, 'r2');
    const set = stored(arn);
    // Still an RS256 signer during the publish delay, and the key that signed until now is kept.
    expect(buildKeyRing(set, 'RS256').signer.kid).toBe(rs2);
    expect(set.keys.map((k) => k.kid)).toContain(rs2);
    expect(verifyToken(token, buildKeyRing(set, 'RS256'), { ...opts, currentDate: new Date(Date.now() - 3 * 86_400_000 + 60_000) })).toMatchObject({ ok: true });
  });

  it('keeps an imported plain shared secret (the portal key) verifying after a rotation', async () => {
    process.env.JWT_ALGORITHM = 'HS256';
    try {
      const arn = sm.put('rot-plain', 'portal-shared-secret-with-enough-bytes-1234');
      await rotate(arn, 'v2');
      const set = stored(arn);
      const portal = await jwkFromSharedSecret('portal-shared-secret-with-enough-bytes-1234', 'HS256');
      expect(set.keys[1]).toMatchObject({ k: portal.k, retired_at: set.keys[0].activates_at });
      expect(published()).toEqual([]);
    } finally {
      process.env.JWT_ALGORITHM = 'RS256';
    }
  });

  it('does not create a second pending value when createSecret is retried', async () => {
    const arn = sm.put('retry', PLACEHOLDER);
    await deploy(arn);
    sm.beginRotation(arn, 'v2');
    await handler({ Step: 'createSecret', SecretId: arn, ClientRequestToken: 'v2' });
    const puts = sm.calls.PutSecretValue;
    await handler({ Step: 'createSecret', SecretId: arn, ClientRequestToken: 'v2' });
    expect(sm.calls.PutSecretValue).toBe(puts);
  });

  it('refuses a version that is not AWSPENDING, and does nothing for one already current', async () => {
    const arn = sm.put('protocol', PLACEHOLDER);
    await deploy(arn);
    await expect(handler({ Step: 'createSecret', SecretId: arn, ClientRequestToken: 'unknown' })).rejects.toThrow(/has no stage/);
    await rotate(arn, 'v2');
    const before = sm.current(arn);
    await handler({ Step: 'finishSecret', SecretId: arn, ClientRequestToken: 'v2' });
    expect(sm.current(arn)).toBe(before);
  });
});

describe('signing-key function: the rotation-setup test of a first deploy (RotateImmediatelyOnUpdate false)', () => {
  // Secrets Manager runs testSecret alone on an AWSPENDING version that may be empty or hold a copy of the
  // current value, then removes it. Throwing there fails the RotationSchedule and rolls the deploy back.
  it.each(['empty', 'copy-of-current'] as const)('passes testSecret on a %s pending version and changes nothing', async (value) => {
    const arn = sm.put(`setup-test-${value}`, PLACEHOLDER);
    await deploy(arn);
    const before = sm.current(arn);
    const publicBefore = sm.current(publicArn);
    sm.beginRotation(arn, 'schedule-test', value);
    await expect(handler({ Step: 'testSecret', SecretId: arn, ClientRequestToken: 'schedule-test' })).resolves.toBeUndefined();
    sm.removeVersion(arn, 'schedule-test');
    expect(sm.current(arn)).toBe(before);
    expect(sm.current(publicArn)).toBe(publicBefore);
    // And the next real rotation still works.
    await rotate(arn, 'real');
    expect(stored(arn).keys).toHaveLength(2);
  });

  it('never makes an empty pending version current', async () => {
    const arn = sm.put('finish-empty', PLACEHOLDER);
    await deploy(arn);
    const before = sm.current(arn);
    sm.beginRotation(arn, 'empty');
    await expect(handler({ Step: 'finishSecret', SecretId: arn, ClientRequestToken: 'empty' })).rejects.toThrow(/has no value; it cannot become current/);
    expect(sm.current(arn)).toBe(before);
  });

  it('takes a pending copy of the current value as created (a version cannot be rewritten) and promotes it unchanged', async () => {
    const arn = sm.put('copy-finish', PLACEHOLDER);
    await deploy(arn);
    const before = sm.current(arn);
    sm.beginRotation(arn, 'copy', 'copy-of-current');
    for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) await handler({ Step, SecretId: arn, ClientRequestToken: 'copy' });
    expect(sm.current(arn)).toBe(before);
    expect(sm.stagesOf(arn)['copy']).toContain('AWSCURRENT');
  });
});
