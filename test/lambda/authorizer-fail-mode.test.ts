/**
 * revocationFailMode through the real authorizer handler: a cold container whose DynamoDB cannot be reached
 * (AWS_ENDPOINT_URL_DYNAMODB on a closed port of 127.0.0.1) holds no revocation state. A valid key is then
 * refused when the mode is closed (the default) and allowed, with a warning, when it is open. The state core
 * is tested both ways in registry/revocation-state.test.ts; this covers the env and the handler's mapping.
 */
import { CompactSign } from 'jose';
import { buildKeyRing, generateJwk, type SigningRing } from '../../lambda/jwt/jwk-set';
import { closedPortUrl } from '../support/dynamodb';
import { authorizerEvent } from '../support/events';
import { loadFunctions, localRegistry, TEST_ISSUER } from '../support/functions';
import { LocalSecretsManager, useLocalAws } from '../support/secrets-server';
import { captureOutput } from '../support/output';

const sm = new LocalSecretsManager();
const registry = localRegistry();
let ring: SigningRing;
let keyEnv: Record<string, string>;
/** dynalite's URL (localRegistry's beforeAll ran first): a registry that answers, for the control case. */
let reachable: string;

beforeAll(async () => {
  reachable = process.env.AWS_ENDPOINT_URL_DYNAMODB!;
  useLocalAws('SECRETS_MANAGER', await sm.start());
  const jwk = await generateJwk('ES256');
  ring = buildKeyRing({ keys: [jwk] }, 'ES256');
  ({ env: keyEnv } = await sm.putKeySet('fail-mode', JSON.stringify({ keys: [jwk] }), 'ES256'));
});
afterAll(() => sm.stop());

const output = captureOutput();
const logLines = output.logLines;

/** A valid key of ours, as key-admin mints it (jti = key id). */
async function validKey(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: 'u-1', org_id: 'acme', iss: TEST_ISSUER, aud: 'jwt-api', jti: 'key-1', iat: now, exp: now + 600 };
  return new CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader({ alg: 'ES256', kid: ring.signer.kid, typ: 'JWT' }).sign(ring.signer.signingKey);
}

/** A fresh authorizer module (a cold container) whose DynamoDB endpoint refuses connections, unless given another. */
async function coldAuthorizer(failMode: string | undefined, dynamo?: { url: string; table: string }) {
  const { authorize } = loadFunctions({
    ...keyEnv,
    JWT_ALGORITHM: 'ES256',
    KEY_REGISTRY_TABLE: dynamo?.table ?? 'key-registry',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo?.url ?? (await closedPortUrl()),
    ...(failMode === undefined ? {} : { REVOCATION_FAIL_MODE: failMode }),
  });
  return authorize;
}

describe('revocationFailMode on a cold authorizer that cannot reach DynamoDB', () => {
  it.each([
    ['closed', 'closed'],
    ['unset (the default, closed)', undefined],
  ])('refuses a valid key when the mode is %s, logging revocation_state_unavailable', async (_name, failMode) => {
    const authorize = await coldAuthorizer(failMode);
    const token = await validKey();
    await expect(authorize(authorizerEvent(`Bearer ${token}`))).resolves.toEqual({ isAuthorized: false });
    const lines = logLines();
    expect(lines).toContainEqual(expect.objectContaining({ level: 'ERROR', message: 'revocation state unavailable: failing closed' }));
    expect(lines).toContainEqual(expect.objectContaining({ message: 'token refused', kind: 'own', reason: 'revocation_state_unavailable' }));
    expect(lines.some((l) => l.message === 'token accepted')).toBe(false);
    expect(output.text()).not.toContain(token.split('.')[2]);
  });

  it('allows the same key in closed mode when DynamoDB answers (the control: the refusal above is the unreachable registry)', async () => {
    const authorize = await coldAuthorizer('closed', { url: reachable, table: await registry.table() });
    await expect(authorize(authorizerEvent(`Bearer ${await validKey()}`))).resolves.toMatchObject({ isAuthorized: true });
    expect(logLines().some((l) => String(l.message).startsWith('revocation state'))).toBe(false);
  });

  it('allows the same key when the mode is open, and says so in a WARN line naming the key, never the token', async () => {
    const authorize = await coldAuthorizer('open');
    const token = await validKey();
    await expect(authorize(authorizerEvent(`Bearer ${token}`))).resolves.toEqual({ isAuthorized: true, context: { userId: 'u-1', companyId: 'acme', keyId: 'key-1' } });
    const lines = logLines();
    expect(lines).toContainEqual(expect.objectContaining({ level: 'ERROR', message: 'revocation state unavailable: failing open' }));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'WARN', message: 'revocation state unavailable: token allowed (revocationFailMode open)', keyId: 'key-1' }));
    expect(lines).toContainEqual(expect.objectContaining({ message: 'token accepted', kind: 'own' }));
    expect(output.text()).not.toContain(token.split('.')[2]);
  });

  it('still refuses a forged key when the mode is open: the open mode skips only the revocation check', async () => {
    const authorize = await coldAuthorizer('open');
    const [head, , signature] = (await validKey()).split('.');
    const claims = { sub: 'admin', org_id: 'acme', iss: TEST_ISSUER, aud: 'jwt-api', exp: Math.floor(Date.now() / 1000) + 600 };
    const forged = `${head}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    await expect(authorize(authorizerEvent(`Bearer ${forged}`))).resolves.toEqual({ isAuthorized: false });
    expect(logLines()).toContainEqual(expect.objectContaining({ message: 'token refused', reason: 'bad_signature' }));
  });
});
