import { LocalSecretsManager, useLocalAws } from '../support/secrets-server';
import { buildKeyRing, parseKeySet } from '../../lambda/core/jwk-set';
import { issueKey } from '../../lambda/core/issue';
import { verifyToken } from '../../lambda/core/verify';

const sm = new LocalSecretsManager();
let handler: typeof import('../../lambda/signing-key').handler;

beforeAll(async () => {
  useLocalAws('SECRETS_MANAGER', await sm.start());
  process.env.JWT_ALGORITHM = 'RS256';
  handler = require('../../lambda/signing-key').handler;
});
afterAll(() => sm.stop());

const PLACEHOLDER = '{"keys":[],"placeholder":"Xy12"}';
const opts = { issuer: 'i', audience: 'a', userIdField: 'sub', companyIdField: 'org_id', maxLifetimeSeconds: 600, clockToleranceSeconds: 0, algorithm: 'RS256' as const };

function create(arn: string, alg = 'RS256') {
  return handler({ RequestType: 'Create', ResourceProperties: { SecretArn: arn, Algorithm: alg } }) as Promise<{ PhysicalResourceId: string; Data: { Kid: string } }>;
}

async function rotate(arn: string, token: string): Promise<void> {
  sm.beginRotation(arn, token);
  for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) await handler({ Step, SecretId: arn, ClientRequestToken: token });
}

describe('signing-key function', () => {
  it('replaces the placeholder with a generated private JWK Set at deploy time', async () => {
    const arn = sm.put('gen', PLACEHOLDER);
    const out = await create(arn);
    const set = JSON.parse(sm.current(arn)!);
    expect(set.keys).toHaveLength(1);
    expect(set.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: out.Data.Kid, d: expect.any(String) });
    expect(Buffer.from(set.keys[0].n, 'base64url').length * 8).toBe(2048);
  });

  it('is idempotent: a second Create or an Update keeps the key', async () => {
    const arn = sm.put('idem', PLACEHOLDER);
    const first = await create(arn);
    const second = await create(arn);
    await handler({ RequestType: 'Update', PhysicalResourceId: first.PhysicalResourceId, ResourceProperties: { SecretArn: arn, Algorithm: 'RS256' } });
    expect(second.Data.Kid).toBe(first.Data.Kid);
    expect(JSON.parse(sm.current(arn)!).keys).toHaveLength(1);
  });

  it('prepends a key of the new algorithm when the algorithm changes', async () => {
    const arn = sm.put('alg-change', PLACEHOLDER);
    const first = await create(arn, 'RS256');
    const out = await handler({ RequestType: 'Update', ResourceProperties: { SecretArn: arn, Algorithm: 'ES256' } });
    const set = JSON.parse(sm.current(arn)!);
    expect(set.keys.map((k: { alg: string }) => k.alg)).toEqual(['ES256', 'RS256']);
    expect((out as { Data: { Kid: string } }).Data.Kid).not.toBe(first.Data.Kid);
  });

  it('leaves the secret alone on Delete', async () => {
    const arn = sm.put('del', PLACEHOLDER);
    await create(arn);
    const before = sm.current(arn);
    await handler({ RequestType: 'Delete', PhysicalResourceId: 'x', ResourceProperties: { SecretArn: arn, Algorithm: 'RS256' } });
    expect(sm.current(arn)).toBe(before);
  });

  it('rotates with overlap: tokens signed before a rotation still verify after it', async () => {
    const arn = sm.put('rot', PLACEHOLDER);
    await create(arn);
    const before = buildKeyRing(await parseKeySet(sm.current(arn)!, 'RS256'), 'RS256');
    const oldToken = (await issueKey({ userId: 'u', companyId: 'c' }, before.signer, opts)).apikey;

    await rotate(arn, 'version-2');
    const after = buildKeyRing(await parseKeySet(sm.current(arn)!, 'RS256'), 'RS256');
    expect(after.signer.kid).not.toBe(before.signer.kid);
    expect(after.keys.map((k) => k.kid)).toEqual([after.signer.kid, before.signer.kid]);
    expect(sm.stagesOf(arn)['version-2']).toContain('AWSCURRENT');
    expect(await verifyToken(oldToken, after, opts)).toMatchObject({ ok: true });

    // A second rotation drops the key two generations back (its tokens outlived by the interval).
    await rotate(arn, 'version-3');
    const third = buildKeyRing(await parseKeySet(sm.current(arn)!, 'RS256'), 'RS256');
    expect(third.keys.map((k) => k.kid)).toEqual([third.signer.kid, after.signer.kid]);
    expect(await verifyToken(oldToken, third, opts)).toMatchObject({ ok: false, reason: 'unknown_kid' });
  });

  it('does not create a second pending key when createSecret is retried', async () => {
    const arn = sm.put('retry', PLACEHOLDER);
    await create(arn);
    sm.beginRotation(arn, 'v2');
    await handler({ Step: 'createSecret', SecretId: arn, ClientRequestToken: 'v2' });
    const pending = JSON.stringify(sm.stagesOf(arn));
    await handler({ Step: 'createSecret', SecretId: arn, ClientRequestToken: 'v2' });
    expect(JSON.stringify(sm.stagesOf(arn))).toBe(pending);
  });
});
