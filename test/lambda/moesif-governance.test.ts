import {
  createGovernanceSource,
  decide,
  GovernanceDocumentError,
  parseGovernance,
  parseGovernanceMode,
  type GovernanceSourceOptions,
  type MoesifRule,
} from '../../lambda/moesif/governance';
import { LocalMoesif } from '../support/moesif-config-server';

// Documents shaped as Moesif's /v1/rules and /v1/config (see the top comment of moesif/governance.ts).
const blockCompany: MoesifRule = {
  _id: 'rule-overdue',
  name: 'Block companies with overdue invoices',
  type: 'company',
  block: true,
  applied_to: 'matching',
  applied_to_unidentified: false,
  response: { status: 402, headers: { 'X-Reason': 'overdue' }, body: { error: 'Invoice {{0}} is overdue' } },
  regex_config: [],
};
const blockUser: MoesifRule = { _id: 'rule-abuse', name: 'Block abusers', type: 'user', block: true, applied_to: 'matching', response: { status: 403 } };
const warnUser: MoesifRule = { _id: 'rule-warn', type: 'user', block: false, applied_to: 'matching', response: { status: 200, headers: { 'X-Warn': 'slow down' } } };
const RULES = [blockCompany, blockUser, warnUser];
const CONFIG = {
  sample_rate: 100,
  user_rules: { 'user-abuser': [{ rules: 'rule-abuse', values: {} }], 'user-warned': [{ rules: 'rule-warn', values: {} }] },
  company_rules: { 'acme-overdue': [{ rules: 'rule-overdue', values: { '0': 'INV-7' } }] },
};

describe('decide (pure)', () => {
  const index = (rules: unknown[], config: unknown = {}) => parseGovernance(config, rules);

  it('blocks a listed company and reports the rule; an unlisted company passes', () => {
    const idx = index(RULES, CONFIG);
    expect(decide(idx, { userId: 'u1', companyId: 'acme-overdue' })).toEqual({
      blocked: true,
      ruleId: 'rule-overdue',
      ruleName: 'Block companies with overdue invoices',
      reason: 'company_in_cohort',
      status: 402,
    });
    expect(decide(idx, { userId: 'u1', companyId: 'globex' })).toEqual({ blocked: false });
  });

  it('reports the user rule when both a user and a company rule block', () => {
    expect(decide(index(RULES, CONFIG), { userId: 'user-abuser', companyId: 'acme-overdue' })).toMatchObject({ ruleId: 'rule-abuse', reason: 'user_in_cohort' });
  });

  it('applied_to not_matching blocks everyone outside the cohort and spares its members', () => {
    const allowList: MoesifRule = { _id: 'rule-paying', type: 'company', block: true, applied_to: 'not_matching' };
    const idx = index([allowList], { company_rules: { paying: [{ rules: 'rule-paying' }] } });
    expect(decide(idx, { userId: 'u', companyId: 'paying' })).toEqual({ blocked: false });
    expect(decide(idx, { userId: 'u', companyId: 'freeloader' })).toMatchObject({ blocked: true, reason: 'company_not_in_cohort' });
  });

  it('applied_to_unidentified blocks tokens without a company id, not identified companies', () => {
    const rule: MoesifRule = { _id: 'rule-anon', type: 'company', block: true, applied_to: 'matching', applied_to_unidentified: true };
    const idx = index([rule]);
    expect(decide(idx, { userId: 'u', companyId: '' })).toMatchObject({ blocked: true, reason: 'unidentified_company' });
    expect(decide(idx, { userId: 'u', companyId: 'acme' })).toEqual({ blocked: false });
  });

  it('a regex rule without conditions blocks every caller', () => {
    const rule: MoesifRule = { _id: 'rule-all', type: 'regex', block: true, regex_config: [] };
    expect(decide(index([rule]), { userId: 'u', companyId: 'c' })).toMatchObject({ blocked: true, reason: 'regex', ruleId: 'rule-all' });
  });

  it('regex conditions: OR of groups, AND within a group, over verb, route, ip and headers', () => {
    const rule: MoesifRule = {
      _id: 'rule-regex',
      type: 'regex',
      block: true,
      regex_config: [
        { conditions: [{ path: 'request.verb', value: '^DELETE$' }, { path: 'request.route', value: '^/admin' }] },
        { conditions: [{ path: 'request.ip_address', value: '^10\\.' }] },
        { conditions: [{ path: 'request.headers.X-Client', value: 'scraper' }] },
      ],
    };
    const idx = index([rule]);
    const blocked = (request: object) => decide(idx, { userId: 'u', companyId: 'c', request }).blocked;
    expect(blocked({ verb: 'DELETE', route: '/admin/users' })).toBe(true);
    expect(blocked({ verb: 'GET', route: '/admin/users' })).toBe(false);
    expect(blocked({ verb: 'DELETE', route: '/items' })).toBe(false);
    expect(blocked({ ip: '10.0.0.8' })).toBe(true);
    expect(blocked({ headers: { 'x-client': 'my-scraper/1.0' } })).toBe(true);
  });

  it('a condition the authorizer cannot evaluate (missing request facts, request body) never blocks', () => {
    const byRoute: MoesifRule = { _id: 'r1', type: 'user', block: true, regex_config: [{ conditions: [{ path: 'request.route', value: '.*' }] }] };
    const byBody: MoesifRule = { _id: 'r2', type: 'regex', block: true, regex_config: [{ conditions: [{ path: 'request.body.operationName', value: '.*' }] }] };
    const idx = index([byRoute, byBody], { user_rules: { u: [{ rules: 'r1' }] } });
    expect(decide(idx, { userId: 'u', companyId: 'c' })).toEqual({ blocked: false });
    expect(decide(idx, { userId: 'u', companyId: 'c', request: { route: '/x' } })).toMatchObject({ blocked: true, ruleId: 'r1' });
  });

  it('an invalid pattern never matches; a cohort entry for an unknown rule is ignored', () => {
    const broken: MoesifRule = { _id: 'r', type: 'regex', block: true, regex_config: [{ conditions: [{ path: 'request.route', value: '(' }] }] };
    const idx = index([broken], { user_rules: { u: [{ rules: 'deleted-rule' }] } });
    expect(decide(idx, { userId: 'u', companyId: 'c', request: { route: '(' } })).toEqual({ blocked: false });
  });

  it('rejects documents of the wrong shape', () => {
    expect(() => parseGovernance({}, { rules: [] })).toThrow(GovernanceDocumentError);
    expect(() => parseGovernance([], [])).toThrow(GovernanceDocumentError);
  });

  it('parses the MOESIF_GOVERNANCE setting and names it when wrong', () => {
    expect(parseGovernanceMode(undefined)).toBe('off');
    expect(parseGovernanceMode('fail-closed')).toBe('fail-closed');
    expect(() => parseGovernanceMode('on')).toThrow('Environment variable MOESIF_GOVERNANCE must be off, fail-open or fail-closed, got "on".');
  });
});

describe('governance source against a Moesif-compatible server', () => {
  const server = new LocalMoesif();
  let clock = 0;
  let logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];

  const source = (options: Partial<GovernanceSourceOptions> = {}) =>
    createGovernanceSource({
      baseUrl: server.url,
      applicationId: server.applicationId,
      now: () => clock,
      log: (level, message, fields) => logs.push({ level, message, fields }),
      timeoutMs: 2_000,
      ...options,
    });

  beforeAll(() => server.start());
  afterAll(() => server.stop());
  beforeEach(async () => {
    if (!server.running) await server.start();
    server.failWith = undefined;
    server.delayMs = undefined;
    server.requests.length = 0;
    server.setConfig(CONFIG);
    server.setRules(RULES);
    clock = 0;
    logs = [];
  });

  it('blocks a company in a blocking rule\'s cohort and lets other companies through', async () => {
    const gov = source();
    expect(await gov.check({ userId: 'u1', companyId: 'acme-overdue' })).toEqual({
      allow: false,
      reason: 'blocked',
      ruleId: 'rule-overdue',
      ruleName: 'Block companies with overdue invoices',
      detail: 'company_in_cohort',
      status: 402,
      stale: false,
    });
    expect(await gov.check({ userId: 'u1', companyId: 'globex' })).toEqual({ allow: true, reason: 'not_blocked', stale: false });
    expect(server.requests.map((r) => r.applicationId)).toEqual([server.applicationId, server.applicationId]);
  });

  it('blocks a user in a blocking rule\'s cohort; a rule that only adds headers blocks nobody', async () => {
    const gov = source();
    expect(await gov.check({ userId: 'user-abuser', companyId: 'globex' })).toMatchObject({ allow: false, ruleId: 'rule-abuse', detail: 'user_in_cohort' });
    expect(await gov.check({ userId: 'user-warned', companyId: 'globex' })).toMatchObject({ allow: true });
    expect(await gov.check({ userId: 'someone-else', companyId: 'globex' })).toMatchObject({ allow: true });
  });

  it('applies applied_to not_matching rules to everyone outside the cohort', async () => {
    server.setRules([{ _id: 'rule-subscribers-only', type: 'company', block: true, applied_to: 'not_matching' }]);
    server.setConfig({ company_rules: { subscriber: [{ rules: 'rule-subscribers-only', values: {} }] } });
    const gov = source();
    expect(await gov.check({ userId: 'u', companyId: 'subscriber' })).toMatchObject({ allow: true });
    expect(await gov.check({ userId: 'u', companyId: 'trial' })).toMatchObject({ allow: false, ruleId: 'rule-subscribers-only', detail: 'company_not_in_cohort' });
  });

  it('serves from cache for 60 s, then revalidates with If-None-Match, gets 304 and keeps the rules', async () => {
    const gov = source();
    await gov.check({ userId: 'u', companyId: 'acme-overdue' });
    clock = 59_999;
    await gov.check({ userId: 'u', companyId: 'acme-overdue' });
    expect(gov.fetches).toBe(2);

    clock = 60_000;
    expect(await gov.check({ userId: 'u', companyId: 'acme-overdue' })).toMatchObject({ allow: false, ruleId: 'rule-overdue', stale: false });
    expect(gov.fetches).toBe(4);
    expect(gov.notModified).toBe(2);
    expect(server.requestsFor('/v1/config').map((r) => [r.ifNoneMatch, r.status])).toEqual([
      [undefined, 200],
      [server.tagOf('/v1/config'), 304],
    ]);
    expect(server.requestsFor('/v1/rules').map((r) => [r.ifNoneMatch, r.status])).toEqual([
      [undefined, 200],
      [server.tagOf('/v1/rules'), 304],
    ]);
  });

  it('picks up a rule change at the next refresh, not before', async () => {
    const gov = source();
    expect(await gov.check({ userId: 'u', companyId: 'initech' })).toMatchObject({ allow: true });
    server.setConfig({ ...CONFIG, company_rules: { ...CONFIG.company_rules, initech: [{ rules: 'rule-overdue', values: {} }] } });

    clock = 30_000;
    expect(await gov.check({ userId: 'u', companyId: 'initech' })).toMatchObject({ allow: true });
    clock = 60_000;
    expect(await gov.check({ userId: 'u', companyId: 'initech' })).toMatchObject({ allow: false, ruleId: 'rule-overdue' });
    // The unchanged rules document was revalidated, the changed config downloaded again.
    expect(server.requests.slice(2).map((r) => [r.path, r.status]).sort()).toEqual([
      ['/v1/config', 200],
      ['/v1/rules', 304],
    ]);
  });

  it('loads once for concurrent first calls', async () => {
    const gov = source();
    const verdicts = await Promise.all(['a', 'b', 'acme-overdue', 'c'].map((companyId) => gov.check({ userId: 'u', companyId })));
    expect(verdicts.map((v) => v.allow)).toEqual([true, true, false, true]);
    expect(gov.fetches).toBe(2);
    expect(server.requests).toHaveLength(2);
  });

  it('reads the application id through the async loader, once', async () => {
    const loader = jest.fn(async () => server.applicationId);
    const gov = source({ applicationId: undefined, loadApplicationId: loader });
    await gov.check({ userId: 'u', companyId: 'acme-overdue' });
    clock = 60_000;
    expect(await gov.check({ userId: 'u', companyId: 'acme-overdue' })).toMatchObject({ allow: false });
    expect(loader).toHaveBeenCalledTimes(1);
    expect(server.requests.every((r) => r.applicationId === server.applicationId)).toBe(true);
  });

  describe('when Moesif is unreachable from the start', () => {
    beforeEach(() => server.stop());

    it('fail-open (the default) allows', async () => {
      const gov = source();
      expect(await gov.check({ userId: 'user-abuser', companyId: 'acme-overdue' })).toEqual({ allow: true, reason: 'unavailable_fail_open' });
      expect(gov.failures).toBe(1);
      expect(logs).toContainEqual(expect.objectContaining({ level: 'WARN', message: 'moesif governance refresh failed' }));
    });

    it('fail-closed denies, and recovers once Moesif answers and the retry interval has passed', async () => {
      const gov = source({ failMode: 'fail-closed', retryMs: 5_000 });
      expect(await gov.check({ userId: 'u', companyId: 'globex' })).toEqual({ allow: false, reason: 'unavailable_fail_closed' });
      await server.start();
      clock = 4_999;
      expect(await gov.check({ userId: 'u', companyId: 'globex' })).toEqual({ allow: false, reason: 'unavailable_fail_closed' });
      expect(server.requests).toHaveLength(0);
      clock = 5_000;
      expect(await gov.check({ userId: 'u', companyId: 'globex' })).toEqual({ allow: true, reason: 'not_blocked', stale: false });
    });
  });

  it('fail-closed also denies when Moesif answers 500 from the start', async () => {
    server.failWith = 500;
    const gov = source({ failMode: 'fail-closed' });
    expect(await gov.check({ userId: 'u', companyId: 'globex' })).toEqual({ allow: false, reason: 'unavailable_fail_closed' });
  });

  it('treats a wrong application id (401) as Moesif unavailable', async () => {
    const gov = source({ applicationId: 'not-the-app-id', failMode: 'fail-closed' });
    expect(await gov.check({ userId: 'u', companyId: 'globex' })).toEqual({ allow: false, reason: 'unavailable_fail_closed' });
    expect(server.requests.map((r) => r.status)).toEqual([401, 401]);
  });

  it.each([
    ['answers 500', async () => void (server.failWith = 500)],
    ['refuses connections', () => server.stop()],
  ])('keeps applying the last rules when Moesif %s after a successful load', async (_, breakMoesif) => {
    const gov = source({ failMode: 'fail-closed' });
    await gov.check({ userId: 'u', companyId: 'globex' });
    await breakMoesif();
    clock = 60_000;
    expect(await gov.check({ userId: 'u', companyId: 'acme-overdue' })).toMatchObject({ allow: false, ruleId: 'rule-overdue', stale: true });
    expect(await gov.check({ userId: 'u', companyId: 'globex' })).toEqual({ allow: true, reason: 'not_blocked', stale: true });
    expect(gov.failures).toBe(1);
  });

  it('tries a failed refresh again only after the retry interval', async () => {
    const gov = source({ retryMs: 5_000 });
    await gov.check({ userId: 'u', companyId: 'globex' });
    server.failWith = 503;
    clock = 60_000;
    await gov.check({ userId: 'u', companyId: 'globex' });
    const afterFailure = gov.fetches;
    clock = 64_999;
    await gov.check({ userId: 'u', companyId: 'globex' });
    expect(gov.fetches).toBe(afterFailure);
    server.failWith = undefined;
    clock = 65_000;
    expect(await gov.check({ userId: 'u', companyId: 'globex' })).toEqual({ allow: true, reason: 'not_blocked', stale: false });
    expect(gov.fetches).toBe(afterFailure + 2);
  });

  it('keeps the previous copy when Moesif sends a document that is not JSON', async () => {
    const gov = source();
    await gov.check({ userId: 'u', companyId: 'globex' });
    server.setRaw('/v1/rules', '<html>bad gateway</html>');
    clock = 60_000;
    expect(await gov.check({ userId: 'u', companyId: 'acme-overdue' })).toMatchObject({ allow: false, ruleId: 'rule-overdue', stale: true });
  });

  it('gives up on a stalled Moesif after timeoutMs and applies the fail mode', async () => {
    server.delayMs = 10_000;
    const gov = source({ timeoutMs: 100 });
    expect(await gov.check({ userId: 'user-abuser', companyId: 'acme-overdue' })).toEqual({ allow: true, reason: 'unavailable_fail_open' });
    expect(logs[0]?.fields).toMatchObject({ error: 'GovernanceUnavailableError', usingStaleCopy: false });
  });

  it('refuses to start without an application id or a loader', () => {
    expect(() => createGovernanceSource({ baseUrl: server.url })).toThrow('createGovernanceSource needs applicationId or loadApplicationId.');
  });
});
