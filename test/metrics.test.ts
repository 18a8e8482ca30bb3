/**
 * The embedded metrics the functions write and the dashboard that charts them, held to each other.
 *
 * The real handlers run with the environment the synthesized stack gives them (METRICS_NAMESPACE,
 * REVOCATION_ENFORCED) against the local Secrets Manager, DynamoDB and Moesif collector; every log line that
 * carries `_aws` is checked against the CloudWatch Embedded Metric Format specification
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)
 * and gives the series CloudWatch would create. Then every custom metric a dashboard widget or an alarm reads must
 * be one of those series (name, dimension names and values), and every series emitted must be charted.
 */
import { createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyEventV2, CloudWatchLogsEvent } from 'aws-lambda';
import { Stack, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type * as Authorizer from '../lambda/authorizer';
import type * as KeyAdmin from '../lambda/key-admin';
import type * as Forwarder from '../lambda/moesif-forwarder';
import { generateJwk } from '../lambda/jwt/jwk-set';
import type * as Log from '../lambda/shared/log';
import { METRIC } from '../lambda/shared/metrics';
import { authorizerEvent, issueEvent } from './support/events';
import { localRegistry, TEST_ISSUER } from './support/functions';
import { MoesifCollector } from './support/moesif-collector';
import { LocalSecretsManager, useLocalAws } from './support/secrets-server';
import { synth, type Synthesized } from './support/synth';

const APP_ID = 'eyJhcHAiOiIxOTg6NzQ0IiwidmVyIjoiMi4xIn0.metrics-test';
const NAMESPACE = 'JwtApi/JwtApi';
const sm = new LocalSecretsManager();
const collector = new MoesifCollector(APP_ID);
const registry = localRegistry();

// ---------------------------------------------------------------------------------------------------------------
// The EMF specification, as checks. Units: the spec's JSON schema (MetricDatum's units). Dimension values: the
// CloudWatch Dimension API (ASCII, 1–1024 characters, not only white space). Namespaces: CloudWatch's rule
// (1–255 of alphanumerics . - _ / # : and space, not starting with "AWS/").

const UNITS = new Set(
  'Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes Bits Kilobits Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second Terabits/Second Count/Second None'.split(' '),
);

/** One series CloudWatch would create from a line: namespace, metric name, dimensions (name → value). */
interface Series {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  value: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** What is wrong with one EMF document (empty when valid), and the series it yields. */
function checkEmf(doc: Record<string, unknown>, now = Date.now()): { problems: string[]; series: Series[] } {
  const problems: string[] = [];
  const series: Series[] = [];
  const aws = doc._aws;
  if (!isObject(aws)) return { problems: ['_aws is not an object'], series };
  if (!Number.isInteger(aws.Timestamp)) problems.push(`_aws.Timestamp is not an integer number of milliseconds: ${JSON.stringify(aws.Timestamp)}`);
  // CloudWatch drops values stamped more than 2 hours ahead or 14 days back.
  else if ((aws.Timestamp as number) > now + 2 * 3600_000 || (aws.Timestamp as number) < now - 14 * 86400_000) problems.push(`_aws.Timestamp ${aws.Timestamp} is not a time near now`);
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0) return { problems: [...problems, '_aws.CloudWatchMetrics is not a non-empty array'], series };
  for (const [i, directive] of aws.CloudWatchMetrics.entries()) {
    const at = `CloudWatchMetrics[${i}]`;
    if (!isObject(directive)) {
      problems.push(`${at} is not an object`);
      continue;
    }
    const { Namespace: namespace, Dimensions: sets, Metrics: metrics } = directive;
    if (typeof namespace !== 'string' || !/^[0-9A-Za-z.\-_/#: ]{1,255}$/.test(namespace) || namespace.startsWith('AWS/')) problems.push(`${at}.Namespace is not a custom CloudWatch namespace: ${JSON.stringify(namespace)}`);
    if (!Array.isArray(sets) || sets.length === 0) problems.push(`${at}.Dimensions is not a non-empty array of dimension sets`);
    if (!Array.isArray(metrics)) problems.push(`${at}.Metrics is not an array`);
    else if (metrics.length > 100) problems.push(`${at}.Metrics has ${metrics.length} definitions (at most 100)`);
    const dimensionSets: string[][] = [];
    for (const [j, set] of (Array.isArray(sets) ? sets : []).entries()) {
      if (!Array.isArray(set) || set.some((k) => typeof k !== 'string' || k.length === 0 || k.length > 255)) {
        problems.push(`${at}.Dimensions[${j}] is not an array of dimension names`);
        continue;
      }
      if (set.length > 30) problems.push(`${at}.Dimensions[${j}] has ${set.length} dimensions (at most 30)`);
      for (const key of set) {
        const value = doc[key];
        if (typeof value !== 'string') problems.push(`dimension ${key} is not a top-level string member (${JSON.stringify(value)})`);
        else if (!/^[\x20-\x7e]{1,1024}$/.test(value) || value.trim() === '') problems.push(`dimension ${key} has a value CloudWatch refuses: ${JSON.stringify(value)}`);
      }
      dimensionSets.push(set as string[]);
    }
    for (const [j, metric] of (Array.isArray(metrics) ? metrics : []).entries()) {
      const name = isObject(metric) ? metric.Name : undefined;
      if (typeof name !== 'string' || name.length === 0 || name.length > 255) {
        problems.push(`${at}.Metrics[${j}].Name is not a metric name`);
        continue;
      }
      const extra = Object.keys(metric as object).filter((k) => !['Name', 'Unit', 'StorageResolution'].includes(k));
      if (extra.length) problems.push(`${at}.Metrics[${j}] has members the specification does not define: ${extra.join(', ')}`);
      const { Unit: unit, StorageResolution: resolution } = metric as Record<string, unknown>;
      if (unit !== undefined && !UNITS.has(unit as string)) problems.push(`metric ${name} has a unit CloudWatch does not know: ${JSON.stringify(unit)}`);
      if (resolution !== undefined && resolution !== 1 && resolution !== 60) problems.push(`metric ${name} has StorageResolution ${JSON.stringify(resolution)} (1 or 60)`);
      const value = doc[name];
      const values = Array.isArray(value) ? value : [value];
      if (!values.every(isNumber) || values.length === 0) problems.push(`metric ${name} is not a top-level number member (or array of numbers): ${JSON.stringify(value)}`);
      else if (values.length > 100) problems.push(`metric ${name} has ${values.length} values (at most 100)`);
      else if (typeof namespace === 'string')
        for (const set of dimensionSets) series.push({ namespace, name, dimensions: Object.fromEntries(set.map((k) => [k, String(doc[k])])), value: (values as number[]).reduce((a, b) => a + b, 0) });
    }
  }
  return { problems, series };
}

// ---------------------------------------------------------------------------------------------------------------
// The stack, as deployed: which functions get which environment.

interface Deployed {
  mode: 'lambda' | 'native';
  s: Synthesized;
  template: Record<string, any>;
  /** The environment variables of a function, as the template sets them (tokens left out). */
  envOf: (fn: IConstruct) => Record<string, string>;
}

function deployed(context: Record<string, unknown>): Deployed {
  const s = synth(context);
  const template = s.template.toJSON();
  const envOf = (fn: IConstruct) => {
    const id = Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnElement);
    const vars: Record<string, unknown> = template.Resources[id]?.Properties?.Environment?.Variables ?? {};
    return Object.fromEntries(Object.entries(vars).filter((e): e is [string, string] => typeof e[1] === 'string'));
  };
  return { mode: s.config.authorizer.mode, s, template, envOf };
}

/** The access-log format the stack's stage writes (a JSON object of `$context` variables). */
function accessLogFormat(d: Deployed): string {
  const stages = Object.values<any>(d.template.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Stage');
  const format = stages.map((r) => r.Properties?.AccessLogSettings?.Format).find((f) => typeof f === 'string');
  if (!format) throw new Error('No stage with an access-log format in the template.');
  return format;
}

// ---------------------------------------------------------------------------------------------------------------
// The functions, run: every line they log, parsed.

interface Logged {
  level: string;
  fields: Record<string, any>;
}

/** Fresh copies of the three handlers (empty module caches) sharing one captured log sink. */
function loadHandlers(env: Record<string, string>, logged: Logged[]) {
  for (const name of ['KEY_MINTER_ROLE_ARNS', 'JWT_ACCEPT_PORTAL_TOKENS', 'MOESIF_GOVERNANCE', 'MOESIF_BASE_URL', 'MOESIF_APPLICATION_ID_SECRET_ARN', 'STAGE_BUMP_QUEUE_URL', 'REVOCATION_FAIL_MODE', 'AUTHORIZER_CACHE_TTL_SECONDS', 'REVOCATION_ENFORCED', 'METRICS_NAMESPACE', 'TRUSTED_ISSUERS', 'ROUTE_RESTRICTED_PLANS']) {
    delete process.env[name];
  }
  Object.assign(process.env, { JWT_ISSUER: TEST_ISSUER, JWT_AUDIENCE: 'jwt-api', JWT_USER_ID_FIELD: 'sub', JWT_COMPANY_ID_FIELD: 'org_id', ...env });
  let handlers!: { authorize: typeof Authorizer.handler; admin: typeof KeyAdmin.handler; createForwarder: typeof Forwarder.createHandler };
  jest.isolateModules(() => {
    (require('../lambda/shared/log') as typeof Log).logSink.write = (level, line) => void logged.push({ level, fields: JSON.parse(line) });
    handlers = { authorize: require('../lambda/authorizer').handler, admin: require('../lambda/key-admin').handler, createForwarder: require('../lambda/moesif-forwarder').createHandler };
  });
  return handlers;
}

function route(routeKey: string, options: { body?: unknown; keyId?: string } = {}): APIGatewayProxyEventV2 {
  const base = issueEvent(options.body ?? '');
  return {
    ...base,
    routeKey,
    body: options.body === undefined ? undefined : base.body,
    pathParameters: options.keyId === undefined ? undefined : { keyId: options.keyId },
    requestContext: { ...base.requestContext, routeKey },
  } as APIGatewayProxyEventV2;
}

/** An HS256 token with the claims given, signed with the key (so only the claims can be wrong). */
function signHs256(key: { k: string; kid: string }, claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${part({ alg: 'HS256', kid: key.kid, typ: 'JWT' })}.${part(claims)}`;
  return `${input}.${createHmac('sha256', Buffer.from(key.k, 'base64url')).update(input).digest('base64url')}`;
}

/** One API call as the stage's access-log format writes it. */
function accessLogLine(format: string, call: { requestId: string; company: string }): string {
  const values: Record<string, string> = {
    '$context.requestId': call.requestId,
    '$context.requestTimeEpoch': String(Date.now()),
    '$context.requestTime': '23/Nov/2026:01:00:00 +0000',
    '$context.httpMethod': 'GET',
    '$context.path': '/orders',
    '$context.routeKey': 'GET /orders',
    '$context.domainName': 'api.example.com',
    '$context.stage': '$default',
    '$context.apiId': 'abc123',
    '$context.status': '200',
    '$context.authorizer.userId': 'user-1',
    '$context.authorizer.companyId': call.company,
    '$context.authorizer.claims.org_id': call.company,
  };
  return format.replace(/\$context\.[A-Za-z0-9_.]+/g, (v) => values[v] ?? '-');
}

function delivery(messages: string[]): CloudWatchLogsEvent {
  const data = { messageType: 'DATA_MESSAGE', owner: '123456789012', logGroup: '/aws/vendedlogs/jwt-api/access', logStream: 's', subscriptionFilters: ['moesif'], logEvents: messages.map((message, i) => ({ id: String(i), timestamp: Date.now(), message })) };
  return { awslogs: { data: gzipSync(JSON.stringify(data)).toString('base64') } };
}

interface Run {
  /** Every line, in order. */
  logged: Logged[];
  /** The metric lines by log message, each with its EMF check. */
  emf: Array<{ message: string; fields: Record<string, any>; problems: string[]; series: Series[] }>;
  /** Steps whose outcome the checks below rely on (status codes, authorizer answers). */
  outcomes: Record<string, unknown>;
}

/**
 * What the deployed functions do in one mode: the authorizer (Lambda mode) allows a key and refuses a missing,
 * forged and expired one; the key admin mints, revokes, rolls and revokes a user's 3 keys; the forwarder delivers
 * (skipping 2 lines), samples out, skips a delivery of bad lines only, and fails a delivery.
 */
async function runFunctions(d: Deployed): Promise<Run> {
  const keys = d.s.stack.keys;
  const adminEnv = d.envOf(keys.keyAdmin.function);
  const authorizerEnv = keys.jwtAuthorizer.function ? d.envOf(keys.jwtAuthorizer.function) : undefined;
  const forwarderEnv = keys.moesifForwarding ? d.envOf(keys.moesifForwarding.function) : undefined;
  const key = (await generateJwk('HS256')) as { k: string; kid: string };
  const stored = await sm.putKeySet(`metrics-${d.mode}-${Math.random()}`, JSON.stringify({ keys: [key] }), 'HS256');
  const logged: Logged[] = [];
  const outcomes: Record<string, unknown> = {};
  const { authorize, admin, createForwarder } = loadHandlers(
    {
      ...stored.env,
      JWT_ALGORITHM: 'HS256',
      JWT_EXPIRES_IN: '30d',
      KEY_REGISTRY_TABLE: await registry.table(),
      // What the stack sets: the namespace, and whether revocation is enforced (not in native mode).
      METRICS_NAMESPACE: adminEnv.METRICS_NAMESPACE,
      REVOCATION_ENFORCED: adminEnv.REVOCATION_ENFORCED,
    },
    logged,
  );
  const call = async (name: string, event: APIGatewayProxyEventV2) => {
    const res = await admin(event);
    outcomes[name] = res.statusCode;
    return JSON.parse(res.body ?? 'null');
  };

  const minted = await call('mint', issueEvent({ user_id: 'u-1', company_id: 'c-1' }));
  if (authorizerEnv) {
    // Its own copy of the namespace: the stack must give every function the same one.
    expect(authorizerEnv.METRICS_NAMESPACE).toBe(adminEnv.METRICS_NAMESPACE);
    const nowS = Math.floor(Date.now() / 1000);
    const [h, p, sig] = minted.apikey.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = `${h}.${p}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
    const expired = signHs256(key, { ...claims, iat: nowS - 7200, exp: nowS - 3600 });
    for (const [name, header] of [['allow', `Bearer ${minted.apikey}`], ['missing', undefined], ['forged', `Bearer ${forged}`], ['expired', `Bearer ${expired}`], ['allow again', minted.apikey]] as const) {
      outcomes[`authorize ${name}`] = (await authorize(authorizerEvent(header))).isAuthorized;
    }
  }
  await call('revoke', route('DELETE /keys/{keyId}', { keyId: minted.key_id }));
  const toRoll = await call('mint to roll', issueEvent({ user_id: 'u-2', company_id: 'c-1' }));
  await call('roll', route('POST /keys/{keyId}/roll', { keyId: toRoll.key_id, body: {} }));
  for (let i = 0; i < 3; i++) await call(`mint for u-3 #${i}`, issueEvent({ user_id: 'u-3', company_id: 'c-2' }));
  await call('revocations', route('POST /revocations', { body: { user_id: 'u-3' } }));

  if (forwarderEnv) {
    expect(forwarderEnv.METRICS_NAMESPACE).toBe(adminEnv.METRICS_NAMESPACE);
    const format = accessLogFormat(d);
    // The forwarder reads every setting, the namespace included, from its env.
    const forwarder = (deps: Partial<Parameters<typeof createForwarder>[0]> = {}) =>
      createForwarder({
        env: { MOESIF_APPLICATION_ID_SECRET_ARN: sm.put(`moesif-${Math.random()}`, APP_ID), MOESIF_BASE_URL: collector.url, METRICS_NAMESPACE: forwarderEnv.METRICS_NAMESPACE },
        sleep: async () => undefined,
        random: () => 0.5,
        ...deps,
      });
    collector.reset();
    outcomes.delivered = await forwarder()(delivery([accessLogLine(format, { requestId: 'r-1', company: 'acme' }), 'START RequestId: not an access-log line', '[1,2,3]']));
    // Moesif's sample rate of 0 for one company: its 2 calls are left out, the third call goes.
    collector.documents.setConfig({ sample_rate: 100, company_sample_rate: { globex: 0 } });
    outcomes.sampled = await forwarder()(delivery(['r-2', 'r-3'].map((requestId) => accessLogLine(format, { requestId, company: 'globex' })).concat(accessLogLine(format, { requestId: 'r-4', company: 'acme' }))));
    outcomes.skippedOnly = await forwarder()(delivery(['nope', '{}']));
    collector.always({ status: 500 });
    outcomes.failed = await forwarder({ maxAttempts: 1 })(delivery([accessLogLine(format, { requestId: 'r-5', company: 'acme' }), 'nope'])).then(
      () => 'delivered',
      () => 'failed',
    );
    collector.reset();
  }

  const emf = logged.filter((l) => '_aws' in l.fields).map((l) => ({ message: l.fields.message as string, fields: l.fields, ...checkEmf(l.fields) }));
  return { logged, emf, outcomes };
}

// ---------------------------------------------------------------------------------------------------------------
// The dashboard and alarms, read from the template.

/** A custom metric something reads: exact dimensions, or (SEARCH) dimension names and the values it filters on. */
interface Reference {
  where: string;
  namespace: string;
  name: string;
  dimensions: Record<string, string | undefined>;
  /** A SEARCH: these dimension names exactly, any value but `dimensions`' filters. */
  search?: { dimensionNames: string[] };
}

const PLACEHOLDER = '<token>';

/** The dashboard's body: an Fn::Join of strings and tokens, parsed with each token as a placeholder string. */
function dashboardBody(template: Record<string, any>): { widgets: Array<{ type: string; properties: Record<string, any> }> } {
  const dashboards = Object.values<any>(template.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0].Properties.DashboardBody;
  const text = typeof body === 'string' ? body : (body['Fn::Join'][1] as unknown[]).map((part) => (typeof part === 'string' ? part : PLACEHOLDER)).join(body['Fn::Join'][0]);
  return JSON.parse(text);
}

/**
 * The metric schema and terms of each SEARCH in an expression. Per the search syntax, a schema name with a
 * character other than a letter or digit must be double-quoted (a stack named `jwt-api-prod` gives such a
 * namespace): an unquoted one is reported in `problems`.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/search-expression-syntax.html
 */
function parseSearches(expression: string, where: string, problems: string[]): Reference[] {
  const out: Reference[] = [];
  for (const match of expression.matchAll(/SEARCH\(\s*'([^']*)'/g)) {
    const query = match[1];
    const schema = /^\s*\{([^}]*)\}/.exec(query);
    if (!schema) {
      problems.push(`${where}: a SEARCH without a metric schema ({namespace,dimensions}) can match any namespace: ${query}`);
      continue;
    }
    const names = [...schema[1].matchAll(/\s*("(?:[^"\\]|\\.)*"|[^,]*)\s*(?:,|$)/g)].map((m) => m[1]).filter((n) => n !== '');
    for (const n of names) if (!n.startsWith('"') && /[^A-Za-z0-9]/.test(n)) problems.push(`${where}: SEARCH schema name ${n} must be double-quoted`);
    const [namespace, ...dimensionNames] = names.map((n) => (n.startsWith('"') ? n.slice(1, -1).replace(/\\(.)/g, '$1') : n));
    const terms = Object.fromEntries([...query.slice(schema[0].length).matchAll(/([A-Za-z][\w]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    const { MetricName: name, ...filters } = terms;
    if (!name) problems.push(`${where}: SEARCH names no MetricName="...": ${query}`);
    for (const k of Object.keys(filters)) if (!dimensionNames.includes(k)) problems.push(`${where}: SEARCH filters on ${k}, which is not in its schema`);
    out.push({ where, namespace, name, dimensions: filters, search: { dimensionNames } });
  }
  return out;
}

/** Every metric the dashboard's widgets and the stack's alarms read, and what is malformed in them. */
function references(template: Record<string, any>): { refs: Reference[]; problems: string[] } {
  const refs: Reference[] = [];
  const problems: string[] = [];
  for (const widget of dashboardBody(template).widgets) {
    const where = `widget "${widget.properties.title ?? widget.type}"`;
    for (const row of (widget.properties.metrics ?? []) as unknown[][]) {
      if (isObject(row[0])) {
        if (typeof row[0].expression === 'string') refs.push(...parseSearches(row[0].expression, where, problems));
        continue;
      }
      const options = isObject(row[row.length - 1]) ? 1 : 0;
      const [namespace, name, ...pairs] = row.slice(0, row.length - options) as string[];
      if (pairs.length % 2 || pairs.includes('.')) problems.push(`${where}: a metric row this test cannot read: ${JSON.stringify(row)}`);
      const dimensions: Record<string, string> = {};
      for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i]] = pairs[i + 1];
      refs.push({ where, namespace, name, dimensions });
    }
  }
  const dims = (list: Array<{ Name: string; Value: unknown }> = []) => Object.fromEntries(list.map((x) => [x.Name, typeof x.Value === 'string' ? x.Value : PLACEHOLDER]));
  for (const [id, r] of Object.entries<any>(template.Resources)) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::CloudWatch::Alarm') {
      if (p.MetricName) refs.push({ where: `alarm ${id}`, namespace: p.Namespace, name: p.MetricName, dimensions: dims(p.Dimensions) });
      for (const m of p.Metrics ?? []) {
        if (m.MetricStat) refs.push({ where: `alarm ${id}`, namespace: m.MetricStat.Metric.Namespace, name: m.MetricStat.Metric.MetricName, dimensions: dims(m.MetricStat.Metric.Dimensions) });
        if (typeof m.Expression === 'string') refs.push(...parseSearches(m.Expression, `alarm ${id}`, problems));
      }
    }
    if (r.Type === 'AWS::CloudWatch::AnomalyDetector') {
      const m = p.SingleMetricAnomalyDetector ?? p;
      if (m.MetricName) refs.push({ where: `anomaly detector ${id}`, namespace: m.Namespace, name: m.MetricName, dimensions: dims(m.Dimensions) });
    }
  }
  return { refs, problems };
}

const sameKeys = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join('\0') === [...b].sort().join('\0');

/** Whether an emitted series is what a reference reads. */
function reads(ref: Reference, s: Series): boolean {
  if (ref.namespace !== s.namespace || ref.name !== s.name) return false;
  if (ref.search) return sameKeys(ref.search.dimensionNames, Object.keys(s.dimensions)) && Object.entries(ref.dimensions).every(([k, v]) => s.dimensions[k] === v);
  return sameKeys(Object.keys(ref.dimensions), Object.keys(s.dimensions)) && Object.entries(ref.dimensions).every(([k, v]) => s.dimensions[k] === v);
}

const describeRef = (r: Reference) => `${r.where}: ${r.namespace} ${r.name} ${r.search ? `SEARCH {${r.search.dimensionNames.join(',')}} ` : ''}${JSON.stringify(r.dimensions)}`;
const describeSeries = (s: Series) => `${s.namespace} ${s.name} ${JSON.stringify(s.dimensions)}`;
const AUTHORIZER_METRICS: string[] = [METRIC.decisions, METRIC.coldStarts];

// ---------------------------------------------------------------------------------------------------------------

beforeAll(async () => {
  useLocalAws('SECRETS_MANAGER', await sm.start());
  await collector.start();
});
afterAll(async () => {
  await collector.stop();
  await sm.stop();
  delete process.env.METRICS_NAMESPACE;
});

describe('the EMF check itself', () => {
  const now = Date.now();
  const valid = () => ({
    _aws: { Timestamp: now, CloudWatchMetrics: [{ Namespace: NAMESPACE, Dimensions: [['Outcome'], []], Metrics: [{ Name: 'Hits', Unit: 'Count' }] }] },
    Outcome: 'deny',
    Hits: 2,
  });

  it('reads a valid line as one series per dimension set (an empty set is a series without dimensions)', () => {
    expect(checkEmf(valid(), now)).toEqual({
      problems: [],
      series: [
        { namespace: NAMESPACE, name: 'Hits', dimensions: { Outcome: 'deny' }, value: 2 },
        { namespace: NAMESPACE, name: 'Hits', dimensions: {}, value: 2 },
      ],
    });
  });

  it.each<[string, (doc: any) => void, RegExp]>([
    ['a timestamp that is a date string', (d) => (d._aws.Timestamp = new Date(now).toISOString()), /Timestamp is not an integer/],
    ['a timestamp in seconds', (d) => (d._aws.Timestamp = Math.floor(now / 1000)), /Timestamp .* not a time near now/],
    ['no CloudWatchMetrics', (d) => delete d._aws.CloudWatchMetrics, /CloudWatchMetrics is not a non-empty array/],
    ['an AWS/ namespace', (d) => (d._aws.CloudWatchMetrics[0].Namespace = 'AWS/Lambda'), /not a custom CloudWatch namespace/],
    ['a dimension set that is a string', (d) => (d._aws.CloudWatchMetrics[0].Dimensions = ['Outcome']), /Dimensions\[0\] is not an array/],
    ['no Dimensions', (d) => delete d._aws.CloudWatchMetrics[0].Dimensions, /Dimensions is not a non-empty array/],
    ['31 dimensions', (d) => { d._aws.CloudWatchMetrics[0].Dimensions = [Array.from({ length: 31 }, (_, i) => `D${i}`)]; for (let i = 0; i < 31; i++) d[`D${i}`] = 'x'; }, /31 dimensions \(at most 30\)/],
    ['a dimension missing from the line', (d) => delete d.Outcome, /dimension Outcome is not a top-level string member/],
    ['a numeric dimension', (d) => (d.Outcome = 3), /dimension Outcome is not a top-level string member/],
    ['an empty dimension value', (d) => (d.Outcome = ''), /dimension Outcome has a value CloudWatch refuses/],
    ['a nested metric value', (d) => { delete d.Hits; d.nested = { Hits: 2 }; }, /metric Hits is not a top-level number member/],
    ['a metric value that is a string', (d) => (d.Hits = '2'), /metric Hits is not a top-level number member/],
    ['101 metrics', (d) => (d._aws.CloudWatchMetrics[0].Metrics = Array.from({ length: 101 }, () => ({ Name: 'Hits' }))), /101 definitions \(at most 100\)/],
    ['an unknown unit', (d) => (d._aws.CloudWatchMetrics[0].Metrics[0].Unit = 'Requests'), /unit CloudWatch does not know/],
  ])('refuses %s', (_name, breakIt, problem) => {
    const doc = valid();
    breakIt(doc);
    expect(checkEmf(doc, now).problems).toContainEqual(expect.stringMatching(problem));
  });
});

describe('the SEARCH reader', () => {
  it('reads a quoted schema and refuses an unquoted name with a non-alphanumeric character', () => {
    const problems: string[] = [];
    expect(parseSearches(`SEARCH('{"JwtApi/jwt-api-prod",Outcome,Reason} MetricName="AuthorizerDecisions" Outcome="deny"', 'Sum', 300)`, 'w', problems)).toEqual([
      { where: 'w', namespace: 'JwtApi/jwt-api-prod', name: 'AuthorizerDecisions', dimensions: { Outcome: 'deny' }, search: { dimensionNames: ['Outcome', 'Reason'] } },
    ]);
    expect(problems).toEqual([]);
    parseSearches(`SEARCH('{JwtApi/jwt-api-prod,Outcome} MetricName="X" Reason="y"', 'Sum', 300)`, 'w', problems);
    expect(problems).toEqual(['w: SEARCH schema name JwtApi/jwt-api-prod must be double-quoted', 'w: SEARCH filters on Reason, which is not in its schema']);
  });
});

describe.each([
  ['lambda', {}],
  ['native', { authorizer: 'native' }],
])('embedded metrics and the dashboard, %s authorizer', (mode, context) => {
  let d: Deployed;
  let run: Run;
  let series: Series[];
  let refs: Reference[];
  let refProblems: string[];
  const emitted = (message: string) => run.emf.filter((l) => l.message === message);
  /** A line's metric values and dimension members, without the rest of the log fields. */
  const metricsOf = (l: { fields: Record<string, any> }) => {
    const directive = l.fields._aws.CloudWatchMetrics[0];
    const names = [...new Set<string>(directive.Dimensions.flat())];
    return Object.fromEntries([...names, ...directive.Metrics.map((m: { Name: string }) => m.Name)].map((k) => [k, l.fields[k]]));
  };

  beforeAll(async () => {
    d = deployed(context);
    run = await runFunctions(d);
    series = run.emf.flatMap((l) => l.series);
    ({ refs, problems: refProblems } = references(d.template));
  });

  it('gives every function that emits metrics the stack namespace JwtApi/<stack name>', () => {
    const keys = d.s.stack.keys;
    const functions = [keys.jwtAuthorizer.function, keys.keyAdmin.function, keys.moesifForwarding?.function].filter((f) => f !== undefined);
    expect(functions.map((f) => d.envOf(f).METRICS_NAMESPACE)).toEqual(functions.map(() => NAMESPACE));
    expect(keys.jwtAuthorizer.function === undefined).toBe(mode === 'native');
  });

  it('writes only lines that follow the Embedded Metric Format specification, all in the stack namespace', () => {
    expect(run.emf.length).toBeGreaterThan(5);
    expect(run.emf.filter((l) => l.problems.length).map((l) => ({ message: l.message, problems: l.problems }))).toEqual([]);
    expect([...new Set(series.map((s) => s.namespace))]).toEqual([NAMESPACE]);
    // A line that looks like EMF but is not (no CloudWatchMetrics) would be dropped silently by CloudWatch.
    expect(run.logged.filter((l) => /CloudWatchMetrics|"_aws"/.test(JSON.stringify(l.fields)) && !('_aws' in l.fields))).toEqual([]);
  });

  it('counts what the key admin did: 1 per mint, 1 per revocation and roll, and the number of keys a revocation by user revoked', () => {
    const enforced = mode === 'lambda';
    expect(run.outcomes).toMatchObject({ mint: 201, revoke: enforced ? 200 : 409, roll: enforced ? 201 : 409, revocations: enforced ? 200 : 409 });
    expect(emitted('key issued').map(metricsOf)).toEqual(Array(5).fill({ [METRIC.keysMinted]: 1 }));
    expect(emitted('key revoked').map(metricsOf)).toEqual(enforced ? [{ [METRIC.keysRevoked]: 1 }] : []);
    expect(emitted('key rolled').map(metricsOf)).toEqual(enforced ? [{ [METRIC.keysMinted]: 1, [METRIC.keysRevoked]: 1 }] : []);
    expect(emitted('keys issued before now revoked').map(metricsOf)).toEqual(enforced ? [{ [METRIC.keysRevoked]: 3 }] : []);
  });

  it('counts what the Moesif forwarder did: delivered, skipped and sampled-out events, and failed deliveries', () => {
    expect(run.outcomes).toMatchObject({
      delivered: { received: 3, sent: 1, skipped: 2, sampledOut: 0 },
      sampled: { received: 3, sent: 1, skipped: 0, sampledOut: 2 },
      skippedOnly: { received: 2, sent: 0, skipped: 2, sampledOut: 0 },
      failed: 'failed',
    });
    expect(emitted('forwarded to moesif').map(metricsOf)).toEqual([
      { [METRIC.eventsDelivered]: 1, [METRIC.eventsSkipped]: 2, [METRIC.eventsSampledOut]: 0 },
      { [METRIC.eventsDelivered]: 1, [METRIC.eventsSkipped]: 0, [METRIC.eventsSampledOut]: 2 },
    ]);
    expect(emitted('nothing to forward to moesif').map(metricsOf)).toEqual([{ [METRIC.eventsDelivered]: 0, [METRIC.eventsSkipped]: 2 }]);
    expect(emitted('moesif forwarding failed').map(metricsOf)).toEqual([{ [METRIC.deliveryFailures]: 1, [METRIC.eventsSkipped]: 1 }]);
  });

  if (mode === 'lambda') {
    it('counts the authorizer decisions by outcome and by outcome and reason, and one cold start', () => {
      expect(run.outcomes).toMatchObject({ 'authorize allow': true, 'authorize missing': false, 'authorize forged': false, 'authorize expired': false, 'authorize allow again': true });
      expect(emitted('cold start').map(metricsOf)).toEqual([{ Function: 'authorizer', [METRIC.coldStarts]: 1 }]);
      const decisions = run.emf.filter((l) => l.fields[METRIC.decisions] !== undefined);
      expect(decisions.map(metricsOf)).toEqual(
        [['allow'], ['deny', 'no_token'], ['deny', 'bad_signature'], ['deny', 'expired'], ['allow']].map(([Outcome, Reason]) => ({ Outcome, ...(Reason ? { Reason } : {}), [METRIC.decisions]: 1 })),
      );
      // A refusal lands in two series: by Outcome (the dashboard's lines, the alarm) and by Outcome and Reason; an allow in the first only.
      expect(decisions.map((l) => l.series.map((s) => s.dimensions))).toContainEqual([{ Outcome: 'deny' }, { Outcome: 'deny', Reason: 'expired' }]);
      expect(decisions.map((l) => l.series.map((s) => s.dimensions))).toContainEqual([{ Outcome: 'allow' }]);
    });
  }

  it('charts and alarms only on metrics the functions emit, with the dimensions they emit', () => {
    expect(refProblems).toEqual([]);
    const custom = refs.filter((r) => !r.namespace?.startsWith('AWS/'));
    expect(custom.length).toBeGreaterThan(0);
    expect(custom.filter((r) => !series.some((s) => reads(r, s))).map(describeRef)).toEqual([]);
  });

  it('charts every series it emits (name, dimensions and values): nothing emitted is lost', () => {
    const uncharted = [...new Set(series.filter((s) => !refs.some((r) => reads(r, s))).map(describeSeries))];
    expect(uncharted).toEqual([]);
    const emittedNames = new Set(series.map((s) => s.name));
    const expected = Object.values(METRIC).filter((name) => mode === 'lambda' || !AUTHORIZER_METRICS.includes(name));
    // In native mode the revoke routes answer 409: nothing is revoked, so nothing is counted or charted.
    expect([...emittedNames].sort()).toEqual(expected.filter((n) => mode === 'lambda' || n !== METRIC.keysRevoked).sort());
  });

  it("reads AWS's own metrics by their documented names and dimensions", () => {
    // HTTP API metrics: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html
    // Lambda (DestinationDeliveryFailures: asynchronous invocations): https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
    const documented: Record<string, { names: string[]; dimensions: string[] }> = {
      'AWS/ApiGateway': { names: ['Count', '4xx', '5xx', 'Latency', 'IntegrationLatency', 'DataProcessed'], dimensions: ['ApiId', 'Stage'] },
      'AWS/Lambda': { names: ['Invocations', 'Errors', 'Duration', 'Throttles', 'ConcurrentExecutions', 'DestinationDeliveryFailures'], dimensions: ['FunctionName'] },
      'AWS/SQS': { names: ['NumberOfMessagesSent', 'ApproximateNumberOfMessagesVisible'], dimensions: ['QueueName'] },
    };
    const aws = refs.filter((r) => r.namespace?.startsWith('AWS/'));
    expect(aws.filter((r) => r.namespace === 'AWS/ApiGateway').length).toBeGreaterThanOrEqual(5);
    const wrong = aws.filter((r) => {
      const doc = documented[r.namespace];
      return !doc || !doc.names.includes(r.name) || Object.keys(r.dimensions).sort().join() !== [...doc.dimensions].sort().join();
    });
    expect(wrong.map(describeRef)).toEqual([]);
    expect(aws.filter((r) => r.namespace === 'AWS/ApiGateway').map((r) => r.dimensions.Stage)).toEqual(aws.filter((r) => r.namespace === 'AWS/ApiGateway').map(() => '$default'));
  });

  it(mode === 'lambda' ? 'alarms on authorizer errors and an unusual rise of refusals, both notifying the alarm topic' : 'has no authorizer alarm', () => {
    const alarms = Object.entries<any>(d.template.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
    const byId = (part: string) => alarms.filter(([id]) => id.includes(part)).map(([, r]) => r.Properties);
    if (mode === 'native') {
      expect([...byId('AuthorizerErrors'), ...byId('RefusalsRise')]).toEqual([]);
      return;
    }
    const fn = d.s.stack.keys.jwtAuthorizer.function!;
    const fnId = Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnElement);
    const [errors] = byId('AuthorizerErrors');
    expect(errors).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [expect.anything()],
    });
    const [rise] = byId('RefusalsRise');
    const band = (rise.Metrics as any[]).find((m) => m.Id === rise.ThresholdMetricId);
    expect(band.Expression).toMatch(/^ANOMALY_DETECTION_BAND\(\w+, ?3\)$/);
    expect(rise).toMatchObject({ ComparisonOperator: 'GreaterThanUpperThreshold', AlarmActions: [expect.anything()] });
    expect(rise.AlarmActions).toEqual(errors.AlarmActions);
  });

  it(mode === 'lambda' ? 'alarms on the refusals the authorizer counts' : 'has no authorizer widget or alarm (no Lambda authorizer)', () => {
    const authorizerRefs = refs.filter((r) => AUTHORIZER_METRICS.includes(r.name));
    const alarmsOnDecisions = authorizerRefs.filter((r) => r.where.startsWith('alarm'));
    if (mode === 'native') {
      expect(authorizerRefs.map(describeRef)).toEqual([]);
      const titles = dashboardBody(d.template).widgets.map((w) => String(w.properties.title ?? ''));
      expect(titles.filter((t) => /authorizer/i.test(t))).toEqual([]);
      expect(Object.keys(d.template.Resources).filter((id) => /AuthorizerErrors|RefusalsRise/.test(id))).toEqual([]);
    } else {
      expect(alarmsOnDecisions.map((r) => r.dimensions)).toEqual([{ Outcome: 'deny' }]);
    }
  });
});
