import { createGovernanceSource, parseGovernanceMaxStaleMs, parseGovernanceMode, type GovernanceSourceOptions } from '../../lambda/moesif/governance';
import { decide, GovernanceDocumentError, parseGovernance, type MoesifRule } from '../../lambda/moesif/rules';
import { LocalMoesif } from '../support/moesif-config-server';

// Documents shaped as Moesif's /v1/rules and /v1/config (see the top comment of moesif/rules.ts).
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

  it('a condition on a request fact the caller did not pass decides nothing, unless another group matches outright', () => {
    const rule: MoesifRule = {
      _id: 'r1',
      type: 'user',
      block: true,
      regex_config: [{ conditions: [{ path: 'request.route', value: '^/admin' }] }, { conditions: [{ path: 'request.verb', value: '^DELETE$' }] }],
    };
    const idx = index([rule], { user_rules: { u: [{ rules: 'r1' }] } });
    expect(decide(idx, { userId: 'u', companyId: 'c' })).toEqual({ blocked: false });
    expect(decide(idx, { userId: 'u', companyId: 'c', request: { verb: 'GET' } })).toEqual({ blocked: false });
    expect(decide(idx, { userId: 'u', companyId: 'c', request: { verb: 'DELETE' } })).toMatchObject({ blocked: true, ruleId: 'r1' });
    expect(decide(idx, { userId: 'u', companyId: 'c', request: { route: '/admin/x' } })).toMatchObject({ blocked: true, ruleId: 'r1' });
  });

  it('leaves out a rule with a condition the authorizer cannot see (request body, response, unknown path) and lists it', () => {
    const byBody: MoesifRule = { _id: 'r-body', name: 'GraphQL', type: 'regex', block: true, regex_config: [{ conditions: [{ path: 'request.body.operationName', value: '.*' }] }] };
    const byStatus: MoesifRule = {
      _id: 'r-status',
      type: 'user',
      block: true,
      // The supported group would match everyone: the rule must still be left out, not half-applied.
      regex_config: [{ conditions: [{ path: 'request.verb', value: '.*' }] }, { conditions: [{ path: 'response.status', value: '^5' }, { path: 'weird.path', value: 'x' }] }],
    };
    const idx = index([byBody, byStatus], { user_rules: { u: [{ rules: 'r-status' }] } });
    const everything = { verb: 'POST', route: '/x', ip: '10.0.0.1', headers: {} };
    expect(decide(idx, { userId: 'u', companyId: 'c', request: everything })).toEqual({ blocked: false });
    expect(decide(idx, { userId: '', companyId: '', request: everything })).toEqual({ blocked: false });
    expect(idx.skipped).toEqual([
      { ruleId: 'r-body', ruleName: 'GraphQL', unsupportedPaths: ['request.body.operationName'] },
      { ruleId: 'r-status', unsupportedPaths: ['response.status', 'weird.path'] },
    ]);
  });

  it('a user rule with regex_config blocks a cohort member only on the requests it matches', () => {
    const rule: MoesifRule = {
      _id: 'r-writes',
      type: 'user',
      block: true,
      applied_to: 'matching',
      regex_config: [{ conditions: [{ path: 'request.verb', value: '^(POST|PUT|DELETE)$' }, { path: 'request.route', value: '^/orders' }] }],
    };
    const idx = index([rule], { user_rules: { 'user-ro': [{ rules: 'r-writes' }] } });
    const check = (userId: string, verb: string, route: string) => decide(idx, { userId, companyId: 'c', request: { verb, route } });
    expect(check('user-ro', 'POST', '/orders/1')).toMatchObject({ blocked: true, reason: 'user_in_cohort' });
    expect(check('user-ro', 'GET', '/orders/1')).toEqual({ blocked: false });
    expect(check('user-ro', 'POST', '/items')).toEqual({ blocked: false });
    expect(check('someone', 'POST', '/orders/1')).toEqual({ blocked: false });
  });

  it('a company rule applied to not_matching, with an IP condition, blocks only outsiders from that network', () => {
    const rule: MoesifRule = { _id: 'r-net', type: 'company', block: true, applied_to: 'not_matching', regex_config: [{ conditions: [{ path: 'request.ip_address', value: '^10\\.' }] }] };
    const idx = index([rule], { company_rules: { insider: [{ rules: 'r-net' }] } });
    const check = (companyId: string, ip: string) => decide(idx, { userId: 'u', companyId, request: { ip } }).blocked;
    expect(check('outsider', '10.1.2.3')).toBe(true);
    expect(check('outsider', '192.0.2.1')).toBe(false);
    expect(check('insider', '10.1.2.3')).toBe(false);
  });

  it('an unidentified-user rule with a header condition blocks anonymous calls that carry the header', () => {
    const rule: MoesifRule = { _id: 'r-anon', type: 'user', block: true, applied_to_unidentified: true, regex_config: [{ conditions: [{ path: 'request.headers.User-Agent', value: 'curl' }] }] };
    const idx = index([rule]);
    const check = (userId: string, headers: Record<string, string>) => decide(idx, { userId, companyId: 'c', request: { headers } });
    expect(check('', { 'user-agent': 'curl/8.5.0' })).toMatchObject({ blocked: true, reason: 'unidentified_user' });
    expect(check('', { 'user-agent': 'Mozilla/5.0' })).toEqual({ blocked: false });
    // A header the request does not carry is known to be absent: the condition is false.
    expect(check('', {})).toEqual({ blocked: false });
    expect(check('u-1', { 'user-agent': 'curl/8.5.0' })).toEqual({ blocked: false });
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

  it('parses GOVERNANCE_MAX_STALE_SECONDS into milliseconds, 600 s when unset, and names it when wrong', () => {
    expect(parseGovernanceMaxStaleMs(undefined)).toBe(600_000);
    expect(parseGovernanceMaxStaleMs('')).toBe(600_000);
    expect(parseGovernanceMaxStaleMs('900')).toBe(900_000);
    expect(() => parseGovernanceMaxStaleMs('10m')).toThrow('Environment variable GOVERNANCE_MAX_STALE_SECONDS must be whole seconds, at least 60, got "10m".');
    expect(() => parseGovernanceMaxStaleMs('30')).toThrow('at least 60');
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

  // A user rule as /v1/rules returns it, with the fields we do not read.
  const readOnlyRule = {
    _id: '6650b3c2a1f0e2001f4d9a11',
    created_at: '2026-10-02T08:12:44.513',
    type: 'user',
    state: 2,
    org_id: '688:25',
    app_id: '768:74',
    name: 'Read-only users cannot write orders',
    block: true,
    applied_to: 'matching',
    applied_to_unidentified: false,
    cohorts: [{ id: '6650b3a0a1f0e2001f4d9a0f' }],
    variables: [],
    response: { status: 403, headers: { 'X-Reason': 'read-only' }, body: { error: 'read_only' } },
    regex_config: [{ conditions: [{ path: 'request.verb', value: '^(POST|PUT|PATCH|DELETE)$' }, { path: 'request.route', value: '^/orders' }] }],
  };

  it('applies a user rule with regex_config to a cohort member only on the requests it matches', async () => {
    server.setRules([readOnlyRule]);
    server.setConfig({ user_rules: { 'user-ro': [{ rules: readOnlyRule._id, values: {} }] } });
    const gov = source();
    const check = (userId: string, verb: string, route: string) => gov.check({ userId, companyId: 'acme', request: { verb, route, ip: '203.0.113.9', headers: {} } });
    expect(await check('user-ro', 'DELETE', '/orders/42')).toEqual({
      allow: false,
      reason: 'blocked',
      ruleId: readOnlyRule._id,
      ruleName: 'Read-only users cannot write orders',
      detail: 'user_in_cohort',
      status: 403,
      stale: false,
    });
    expect(await check('user-ro', 'GET', '/orders/42')).toEqual({ allow: true, reason: 'not_blocked', stale: false });
    expect(await check('user-ro', 'DELETE', '/profile')).toEqual({ allow: true, reason: 'not_blocked', stale: false });
    expect(await check('user-rw', 'DELETE', '/orders/42')).toEqual({ allow: true, reason: 'not_blocked', stale: false });
  });

  it('says once per rules version that rule conditions need request facts the caller did not pass', async () => {
    server.setRules([readOnlyRule]);
    server.setConfig({ user_rules: { 'user-ro': [{ rules: readOnlyRule._id, values: {} }] } });
    const gov = source();
    expect(await gov.check({ userId: 'user-ro', companyId: 'acme' })).toMatchObject({ allow: true });
    expect(await gov.check({ userId: 'user-ro', companyId: 'acme' })).toMatchObject({ allow: true });
    const missing = logs.filter((l) => l.message.startsWith('moesif governance rules read request facts the caller did not pass'));
    expect(missing).toEqual([expect.objectContaining({ level: 'WARN', fields: { missing: ['verb', 'route'] } })]);
  });

  it('a regex rule without conditions blocks every caller, and says so once when it loads', async () => {
    server.setRules([{ _id: 'rule-maintenance', name: 'Maintenance', type: 'regex', block: true, applied_to: 'matching', regex_config: [], response: { status: 503 } }]);
    const gov = source();
    expect(await gov.check({ userId: 'u', companyId: 'c' })).toMatchObject({ allow: false, ruleId: 'rule-maintenance', detail: 'regex', status: 503 });
    expect(await gov.check({ userId: '', companyId: '' })).toMatchObject({ allow: false, ruleId: 'rule-maintenance' });
    clock = 60_000;
    await gov.check({ userId: 'u', companyId: 'c' });
    expect(logs.filter((l) => l.message === 'moesif governance regex rule without conditions blocks every caller')).toEqual([
      expect.objectContaining({ level: 'WARN', fields: { ruleId: 'rule-maintenance', ruleName: 'Maintenance' } }),
    ]);
  });

  it('skips a rule whose condition reads what the authorizer cannot see, and logs it once per rules version', async () => {
    const graphql = { _id: 'rule-gql', name: 'No introspection', type: 'regex', block: true, regex_config: [{ conditions: [{ path: 'request.body.operationName', value: 'IntrospectionQuery' }] }] };
    server.setRules([graphql]);
    const gov = source();
    const request = { verb: 'POST', route: '/graphql', ip: '203.0.113.9', headers: {} };
    expect(await gov.check({ userId: 'u', companyId: 'c', request })).toEqual({ allow: true, reason: 'not_blocked', stale: false });
    expect(await gov.check({ userId: 'u', companyId: 'c', request })).toMatchObject({ allow: true });
    clock = 60_000; // revalidated: 304, same version
    expect(await gov.check({ userId: 'u', companyId: 'c', request })).toMatchObject({ allow: true });
    const skippedLogs = () => logs.filter((l) => l.message === 'moesif governance rule skipped: a condition reads what the authorizer cannot see');
    expect(skippedLogs()).toEqual([
      expect.objectContaining({ level: 'WARN', fields: { ruleId: 'rule-gql', ruleName: 'No introspection', unsupportedPaths: ['request.body.operationName'], failMode: 'fail-open' } }),
    ]);

    server.setRules([{ ...graphql, name: 'No introspection (v2)' }]);
    clock = 120_000;
    await gov.check({ userId: 'u', companyId: 'c', request });
    expect(skippedLogs()).toHaveLength(2);
    expect(skippedLogs()[1].fields).toMatchObject({ ruleName: 'No introspection (v2)' });
  });

  describe('staleness (maxStaleMs after the last successful load)', () => {
    it.each([
      ['fail-closed' as const, { allow: false, reason: 'unavailable_fail_closed', expired: true }],
      ['fail-open' as const, { allow: true, reason: 'unavailable_fail_open', expired: true }],
    ])('%s: the last copy decides until it is maxStaleMs old, then the fail mode does', async (failMode, whenExpired) => {
      const gov = source({ failMode, maxStaleMs: 300_000 });
      expect(await gov.check({ userId: 'u', companyId: 'acme-overdue' })).toMatchObject({ allow: false, ruleId: 'rule-overdue', stale: false });
      server.failWith = 503;

      clock = 60_000;
      expect(await gov.check({ userId: 'u', companyId: 'acme-overdue' })).toMatchObject({ allow: false, ruleId: 'rule-overdue', stale: true });
      clock = 299_999;
      expect(await gov.check({ userId: 'u', companyId: 'acme-overdue' })).toMatchObject({ allow: false, ruleId: 'rule-overdue', stale: true });
      expect(await gov.check({ userId: 'u', companyId: 'globex' })).toEqual({ allow: true, reason: 'not_blocked', stale: true });

      clock = 300_000;
      expect(await gov.check({ userId: 'u', companyId: 'acme-overdue' })).toEqual(whenExpired);
      expect(await gov.check({ userId: 'u', companyId: 'globex' })).toEqual(whenExpired);
      clock = 400_000;
      expect(await gov.check({ userId: 'u', companyId: 'globex' })).toEqual(whenExpired);
      expect(logs.filter((l) => l.message.startsWith('moesif governance rules expired'))).toEqual([
        expect.objectContaining({ level: 'WARN', fields: { maxStaleMs: 300_000, ageMs: 300_000, failMode } }),
      ]);

      server.failWith = undefined;
      clock = 405_000;
      expect(await gov.check({ userId: 'u', companyId: 'acme-overdue' })).toMatchObject({ allow: false, ruleId: 'rule-overdue', stale: false });
    });

    it('a 304 confirms the copy: revalidated every minute, it never expires', async () => {
      const gov = source({ failMode: 'fail-closed', maxStaleMs: 120_000 });
      for (clock = 0; clock <= 600_000; clock += 60_000) {
        expect(await gov.check({ userId: 'u', companyId: 'globex' })).toEqual({ allow: true, reason: 'not_blocked', stale: false });
      }
      expect(gov.notModified).toBeGreaterThanOrEqual(20);
    });

    it('defaults to 600 s and refuses a maxStaleMs shorter than refreshMs', async () => {
      const gov = source({ failMode: 'fail-closed' });
      await gov.check({ userId: 'u', companyId: 'globex' });
      server.failWith = 500;
      clock = 599_999;
      expect(await gov.check({ userId: 'u', companyId: 'globex' })).toMatchObject({ allow: true, stale: true });
      clock = 600_000;
      expect(await gov.check({ userId: 'u', companyId: 'globex' })).toEqual({ allow: false, reason: 'unavailable_fail_closed', expired: true });
      expect(() => source({ refreshMs: 60_000, maxStaleMs: 30_000 })).toThrow('maxStaleMs (30000) must be at least refreshMs (60000)');
    });
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
    expect(logs[0]?.fields).toMatchObject({ error: 'MoesifUnavailableError', usingStaleCopy: false });
  });

  it('refuses to start without an application id or a loader', () => {
    expect(() => createGovernanceSource({ baseUrl: server.url })).toThrow('createGovernanceSource needs applicationId or loadApplicationId.');
  });
});
