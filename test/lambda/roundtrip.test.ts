import { ALGORITHMS, type Algorithm } from '../../lambda/core/algorithms';
import { generateJwk } from '../../lambda/core/jwk-set';
import { LocalSecretsManager, useLocalAws } from '../support/secrets-server';
import { authorizerEvent, issueEvent } from '../support/events';

type Handlers = { authorize: typeof import('../../lambda/authorizer').handler; issue: typeof import('../../lambda/issue-key').handler };

const sm = new LocalSecretsManager();
const ISSUER = 'https://abc123.execute-api.us-east-1.amazonaws.com';

beforeAll(async () => useLocalAws('SECRETS_MANAGER', await sm.start()));
afterAll(() => sm.stop());

/** Loads fresh handler modules (their module-scope caches start empty) for one algorithm. */
async function handlersFor(alg: Algorithm, extraEnv: Record<string, string> = {}): Promise<Handlers> {
  const arn = sm.put(`signing-${alg}-${Math.random()}`, JSON.stringify({ keys: [await generateJwk(alg)] }));
  Object.assign(process.env, {
    JWT_SECRET_ARN: arn,
    JWT_ALGORITHM: alg,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: 'jwt-api',
    JWT_USER_ID_FIELD: 'sub',
    JWT_COMPANY_ID_FIELD: 'org_id',
    JWT_EXPIRES_IN: '3600',
    ...extraEnv,
  });
  let handlers!: Handlers;
  jest.isolateModules(() => {
    handlers = { authorize: require('../../lambda/authorizer').handler, issue: require('../../lambda/issue-key').handler };
  });
  return handlers;
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
