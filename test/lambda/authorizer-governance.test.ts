import { generateJwk } from '../../lambda/jwt/jwk-set';
import { authorizerEvent, issueEvent } from '../support/events';
import { loadFunctions, localRegistry } from '../support/functions';
import { LocalMoesif } from '../support/moesif-config-server';
import { LocalSecretsManager, useLocalAws } from '../support/secrets-server';

const sm = new LocalSecretsManager();
const registry = localRegistry();
const moesif = new LocalMoesif('moesif-app-123');

beforeAll(async () => {
  useLocalAws('SECRETS_MANAGER', await sm.start());
  await moesif.start();
  moesif.setRules([{ _id: 'rule-overdue', name: 'Overdue invoices', type: 'company', block: true, applied_to: 'matching', response: { status: 402 } }]);
  moesif.setConfig({ company_rules: { 'acme-overdue': [{ rules: 'rule-overdue', values: {} }] } });
});
afterAll(async () => {
  await moesif.stop();
  await sm.stop();
});

type Handlers = ReturnType<typeof loadFunctions>;

async function load(governance: string, moesifUrl = moesif.url, extra: Record<string, string> = {}): Promise<Handlers> {
  return loadFunctions({
    KEY_REGISTRY_TABLE: await registry.table(),
    ...extra,
    ...(await sm.putKeySet(`gov-${Math.random()}`, JSON.stringify({ keys: [await generateJwk('ES256')] }), 'ES256')).env,
    JWT_ALGORITHM: 'ES256',
    MOESIF_GOVERNANCE: governance,
    MOESIF_BASE_URL: moesifUrl,
    MOESIF_APPLICATION_ID_SECRET_ARN: sm.put(`moesif-${Math.random()}`, JSON.stringify({ applicationId: 'moesif-app-123' })),
  });
}

async function keyFor(issue: Handlers['issue'], companyId: string): Promise<string> {
  return JSON.parse((await issue(issueEvent({ user_id: 'u-1', company_id: companyId }))).body as string).apikey;
}

describe('Moesif governance at the Lambda authorizer', () => {
  it('denies a company a blocking rule covers and lets others through', async () => {
    const { authorize, issue } = await load('fail-open');
    await expect(authorize(authorizerEvent(`Bearer ${await keyFor(issue, 'acme-overdue')}`))).resolves.toEqual({ isAuthorized: false });
    await expect(authorize(authorizerEvent(`Bearer ${await keyFor(issue, 'globex')}`))).resolves.toMatchObject({ isAuthorized: true });
    const seen = moesif.requestsFor('/v1/rules');
    expect(seen[seen.length - 1]).toMatchObject({ applicationId: 'moesif-app-123', status: 200 });
  });

  it('fail-open lets valid keys through when Moesif is unreachable', async () => {
    const { authorize, issue } = await load('fail-open', 'http://127.0.0.1:9');
    await expect(authorize(authorizerEvent(`Bearer ${await keyFor(issue, 'acme-overdue')}`))).resolves.toMatchObject({ isAuthorized: true });
  });

  it('fail-closed denies valid keys when Moesif is unreachable', async () => {
    const { authorize, issue } = await load('fail-closed', 'http://127.0.0.1:9');
    await expect(authorize(authorizerEvent(`Bearer ${await keyFor(issue, 'globex')}`))).resolves.toEqual({ isAuthorized: false });
  });

  it('applies a rule on the request path only when API Gateway caches no answer (TTL 0), and skips it otherwise', async () => {
    moesif.setRules([
      { _id: 'rule-overdue', name: 'Overdue invoices', type: 'company', block: true, applied_to: 'matching', response: { status: 402 } },
      { _id: 'rule-admin', name: 'No admin routes', type: 'regex', block: true, regex_config: [{ conditions: [{ path: 'request.route', value: '^/admin' }] }] },
    ]);
    try {
      const admin = (key: string) => ({ ...authorizerEvent(`Bearer ${key}`), rawPath: '/admin/users' });
      const uncached = await load('fail-open', moesif.url, { AUTHORIZER_CACHE_TTL_SECONDS: '0' });
      const key = await keyFor(uncached.issue, 'globex');
      await expect(uncached.authorize(admin(key))).resolves.toEqual({ isAuthorized: false });
      await expect(uncached.authorize(authorizerEvent(`Bearer ${key}`))).resolves.toMatchObject({ isAuthorized: true });
      // With a cached answer the route is not the request's own: the rule is skipped, not guessed.
      const cached = await load('fail-open', moesif.url, { AUTHORIZER_CACHE_TTL_SECONDS: '300' });
      await expect(cached.authorize(admin(await keyFor(cached.issue, 'globex')))).resolves.toMatchObject({ isAuthorized: true });
    } finally {
      moesif.setRules([{ _id: 'rule-overdue', name: 'Overdue invoices', type: 'company', block: true, applied_to: 'matching', response: { status: 402 } }]);
    }
  });

  it('does not call Moesif when governance is off', async () => {
    const before = moesif.requests.length;
    const { authorize, issue } = await load('off');
    await expect(authorize(authorizerEvent(`Bearer ${await keyFor(issue, 'acme-overdue')}`))).resolves.toMatchObject({ isAuthorized: true });
    expect(moesif.requests.length).toBe(before);
  });
});
