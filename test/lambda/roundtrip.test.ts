import { ALGORITHMS, type Algorithm } from '../../lambda/jwt/algorithms';
import { generateJwk } from '../../lambda/jwt/jwk-set';
import { LocalSecretsManager, useLocalAws } from '../support/secrets-server';
import { authorizerEvent, issueEvent } from '../support/events';
import { loadFunctions, localRegistry } from '../support/functions';

const sm = new LocalSecretsManager();
const registry = localRegistry();

beforeAll(async () => useLocalAws('SECRETS_MANAGER', await sm.start()));
afterAll(() => sm.stop());

/** Fresh function modules (empty caches) reading a new secret with one key of `alg`. */
async function handlersFor(alg: Algorithm) {
  const { env } = await sm.putKeySet(`signing-${alg}-${Math.random()}`, JSON.stringify({ keys: [await generateJwk(alg)] }), alg);
  return loadFunctions({ ...env, KEY_REGISTRY_TABLE: await registry.table(), JWT_ALGORITHM: alg });
}

describe.each(ALGORITHMS)('issue → authorize round trip with %s', (alg) => {
  it('accepts the minted key and passes user, company and key id in the context', async () => {
    const { issue, authorize } = await handlersFor(alg);
    const res = await issue(issueEvent({ user_id: 'user-42', company_id: 'acme' }));
    expect(res.statusCode).toBe(201);
    const body = JSON.parse(res.body as string);
    expect(body).toEqual({ apikey: expect.any(String), token_type: 'Bearer', key_id: expect.any(String), expires_at: expect.any(String) });

    const bearer = await authorize(authorizerEvent(`Bearer ${body.apikey}`));
    expect(bearer).toEqual({ isAuthorized: true, context: { userId: 'user-42', companyId: 'acme', keyId: body.key_id } });
    const bare = await authorize(authorizerEvent(body.apikey));
    expect(bare.isAuthorized).toBe(true);
  });
});
