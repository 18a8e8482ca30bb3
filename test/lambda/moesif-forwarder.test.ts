import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { accessLogFields, type AccessLogFieldsOptions } from '../../lib/constructs/access-log';
import { MoesifConfigError, MoesifDeliveryError, MoesifRejectedError } from '../../lambda/moesif/client';
import { toMoesif, type MoesifEvent } from '../../lambda/moesif/event';
import { uuidV5 } from '../../lambda/moesif/uuid';
import { createHandler, type ForwarderDeps } from '../../lambda/moesif-forwarder';
import { logSink } from '../../lambda/shared/log';
import { MoesifCollector } from '../support/moesif-collector';
import { LocalSecretsManager, useLocalAws } from '../support/secrets-server';

const APP_ID = 'eyJhcHAiOiIxOTg6NzQ0IiwidmVyIjoiMi4xIn0.test-collector-id';
const sm = new LocalSecretsManager();
const collector = new MoesifCollector(APP_ID);
const EPOCH = 1795395600000; // 2026-11-23T01:00:00.000Z
const MODES: AccessLogFieldsOptions[] = [
  { mode: 'lambda', userIdField: 'sub', companyIdField: 'org_id' },
  // Non-default claim names: the forwarder must not care which claim the format read.
  { mode: 'native', userIdField: 'customer_user', companyIdField: 'customer_org' },
];

let secretArn: string;
let logs: Array<Record<string, unknown>>;
let sleeps: number[];

beforeAll(async () => {
  useLocalAws('SECRETS_MANAGER', await sm.start());
  await collector.start();
});
afterAll(async () => {
  await collector.stop();
  await sm.stop();
});
beforeEach(() => {
  collector.reset();
  secretArn = sm.put('moesif-app-id', APP_ID);
  sleeps = [];
  logs = [];
  jest.spyOn(logSink, 'write').mockImplementation((_level, line) => void logs.push(JSON.parse(line)));
});
afterEach(() => jest.restoreAllMocks());

/** One API call, as the values API Gateway substitutes; undefined fields are logged as `-`. */
interface Call {
  requestId: string;
  method: string;
  path: string;
  routeKey: string;
  status: number;
  user?: string;
  company?: string;
  keyId?: string;
  clientId?: string;
  planId?: string;
  authorizerError?: string;
  integrationError?: string;
  epochMs?: number;
  apiId?: string;
}

const CALL: Call = { requestId: 'Jn1ZzhTzoAMEJbw=', method: 'POST', path: '/orders/42', routeKey: 'POST /orders/{id}', status: 201, user: 'user-42', company: 'acme', keyId: 'key-7' };

/** Every `$context` variable the access-log format may use, valued for one call. */
function contextValues(call: Call, options: AccessLogFieldsOptions): Record<string, string> {
  const dash = (v: string | undefined) => v ?? '-';
  const epochMs = call.epochMs ?? EPOCH;
  return {
    '$context.requestId': call.requestId,
    '$context.identity.sourceIp': '203.0.113.9',
    '$context.requestTime': '23/Nov/2026:01:00:00 +0000',
    '$context.requestTimeEpoch': String(epochMs),
    '$context.httpMethod': call.method,
    '$context.routeKey': call.routeKey,
    '$context.path': call.path,
    '$context.domainName': 'api.example.com',
    '$context.stage': '$default',
    '$context.apiId': call.apiId ?? 'abc123',
    '$context.status': String(call.status),
    '$context.protocol': 'HTTP/1.1',
    '$context.responseLength': '42',
    '$context.responseLatency': '37',
    '$context.integrationLatency': '30',
    '$context.identity.userAgent': 'curl/8.5.0',
    '$context.authorizer.userId': dash(call.user),
    '$context.authorizer.companyId': dash(call.company),
    '$context.authorizer.keyId': dash(call.keyId),
    '$context.authorizer.clientId': dash(call.clientId),
    '$context.authorizer.planId': dash(call.planId),
    [`$context.authorizer.claims.${options.userIdField}`]: dash(call.user),
    [`$context.authorizer.claims.${options.companyIdField}`]: dash(call.company),
    '$context.authorizer.claims.jti': dash(call.keyId),
    '$context.authorizer.error': dash(call.authorizerError),
    '$context.integrationErrorMessage': dash(call.integrationError),
  };
}

/** The line API Gateway would write: the synthesized format string with each `$context` variable substituted. */
function accessLogLine(call: Call, options: AccessLogFieldsOptions = MODES[0]): string {
  const format = JSON.stringify(accessLogFields(options));
  const values = contextValues(call, options);
  return format.replace(/\$context\.[A-Za-z0-9_.]+/g, (variable) => {
    if (!(variable in values)) throw new Error(`The access-log format uses ${variable}; give it a value in this test.`);
    return values[variable];
  });
}

/** A CloudWatch Logs subscription delivery, encoded as Lambda receives it. */
function delivery(messages: string[], messageType = 'DATA_MESSAGE'): CloudWatchLogsEvent {
  const data = {
    messageType,
    owner: '123456789012',
    logGroup: '/aws/vendedlogs/jwt-api/access',
    logStream: 'abc123_.default-2026-11-23-01',
    subscriptionFilters: ['moesif'],
    logEvents: messages.map((message, i) => ({ id: `3800000000000000000000000000000000000000000000000${i}`, timestamp: EPOCH + i, message })),
  };
  return { awslogs: { data: gzipSync(JSON.stringify(data)).toString('base64') } };
}

function forwarder(deps: ForwarderDeps = {}) {
  return createHandler({
    env: { MOESIF_APPLICATION_ID_SECRET_ARN: secretArn, MOESIF_BASE_URL: collector.url },
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
    ...deps,
  });
}

const logged = (message: string) => logs.filter((l) => l.message === message);


const EXPECTED: MoesifEvent = {
  request: {
    time: '2026-11-23T01:00:00.000Z',
    uri: 'https://api.example.com/orders/42',
    verb: 'POST',
    ip_address: '203.0.113.9',
    headers: { Host: 'api.example.com', 'User-Agent': 'curl/8.5.0' },
  },
  response: { time: '2026-11-23T01:00:00.037Z', status: 201, headers: { 'Content-Length': '42' } },
  user_id: 'user-42',
  company_id: 'acme',
  session_token: 'key-7',
  // uuid5(TRANSACTION_NAMESPACE, 'abc123:Jn1ZzhTzoAMEJbw='), computed with Python's uuid module.
  transaction_id: 'b90fa9d9-2ab1-59d5-8ec1-e47a54fd9f65',
  direction: 'Incoming',
  weight: 1,
  metadata: { requestId: 'Jn1ZzhTzoAMEJbw=', routeKey: 'POST /orders/{id}', stage: '$default', apiId: 'abc123', keyId: 'key-7' },
};

describe('moesif forwarder: what Moesif receives', () => {
  it.each(MODES)('sends a $mode-mode access-log line as one Moesif event to /v1/events/batch with the Application Id', async (options) => {
    const summary = await forwarder()(delivery([accessLogLine(CALL, options)]));

    expect(summary).toEqual({ received: 1, sent: 1, skipped: 0, sampledOut: 0 });
    expect(collector.requests).toHaveLength(1);
    const [req] = collector.requests;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/events/batch');
    expect(req.headers['x-moesif-application-id']).toBe(APP_ID);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.body).toEqual([EXPECTED]);
    expect(logged('forwarded to moesif')).toEqual([
      expect.objectContaining({ level: 'INFO', received: 1, sent: 1, skipped: 0, sampledOut: 0, sampling: 'config', batches: 1, requests: 1, logGroup: '/aws/vendedlogs/jwt-api/access' }),
    ]);
  });

  it.each(MODES)('still sends an anonymous call ($mode mode), without user, company or session token, and keeps the authorizer error', async (options) => {
    const anonymous: Call = { ...CALL, user: undefined, company: undefined, keyId: undefined, status: 401, authorizerError: 'Unauthorized' };
    await forwarder()(delivery([accessLogLine(anonymous, options)]));

    const { user_id: _u, company_id: _c, session_token: _s, ...rest } = EXPECTED;
    expect(collector.accepted).toEqual([
      {
        ...rest,
        response: { ...EXPECTED.response, status: 401 },
        metadata: { requestId: 'Jn1ZzhTzoAMEJbw=', routeKey: 'POST /orders/{id}', stage: '$default', apiId: 'abc123', authorizerError: 'Unauthorized' },
      },
    ]);
  });

  it("names a client application's calls: its client id and plan in the metadata (Lambda mode)", async () => {
    await forwarder()(delivery([accessLogLine({ ...CALL, user: 'acme-billing', clientId: 'acme-billing', planId: 'plan-7' })]));
    expect(collector.accepted).toEqual([{ ...EXPECTED, user_id: 'acme-billing', metadata: { ...EXPECTED.metadata, clientId: 'acme-billing', planId: 'plan-7' } }]);
  });

  it('puts an integration error in the metadata', async () => {
    await forwarder()(delivery([accessLogLine({ ...CALL, status: 502, integrationError: 'Connection refused' })]));
    expect((collector.accepted[0] as MoesifEvent).metadata.integrationError).toBe('Connection refused');
  });

  it('skips malformed lines, counts them by reason, and sends the rest', async () => {
    const messages = [
      accessLogLine(CALL),
      'START RequestId: not an access-log line',
      '[1,2,3]',
      accessLogLine({ ...CALL, requestId: '-' }),
      accessLogLine({ ...CALL, requestId: 'r-2' }).replace(`"${EPOCH}"`, '"-"'),
    ];
    const summary = await forwarder()(delivery(messages));

    expect(summary).toEqual({ received: 5, sent: 1, skipped: 4, sampledOut: 0 });
    expect(collector.accepted).toEqual([EXPECTED]);
    expect(logged('forwarded to moesif')).toEqual([
      expect.objectContaining({ received: 5, sent: 1, skipped: 4, skippedReasons: { not_json: 1, not_an_object: 1, missing_request_id: 1, bad_request_time: 1 } }),
    ]);
  });

  it('sends nothing and reads neither the secret nor the config when every line is malformed', async () => {
    const before = sm.calls.GetSecretValue ?? 0;
    const summary = await forwarder()(delivery(['nope', '{}']));
    expect(summary).toEqual({ received: 2, sent: 0, skipped: 2, sampledOut: 0 });
    expect(collector.requests).toHaveLength(0);
    expect(collector.documents.requests).toHaveLength(0);
    expect(sm.calls.GetSecretValue ?? 0).toBe(before);
  });

  it('ignores the CONTROL_MESSAGE CloudWatch Logs sends to check the destination', async () => {
    const summary = await forwarder()(delivery(['CWL CONTROL MESSAGE: Checking health of destination Lambda function.'], 'CONTROL_MESSAGE'));
    expect(summary).toEqual({ received: 0, sent: 0, skipped: 0, sampledOut: 0 });
    expect(collector.requests).toHaveLength(0);
    expect(logged('control message ignored')).toHaveLength(1);
  });

  it('fails on a payload that is not gzip + base64, so it lands in the DLQ', async () => {
    await expect(forwarder()({ awslogs: { data: Buffer.from('plain text').toString('base64') } })).rejects.toThrow();
    expect(logged('undecodable subscription payload')).toHaveLength(1);
    expect(collector.requests).toHaveLength(0);
  });

  it('computes name-based v5 UUIDs as RFC 9562 does (its DNS example, and a second published one)', () => {
    const DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
    // RFC 9562 Appendix A.4.
    expect(uuidV5('www.example.com', DNS)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    // Terraform's uuidv5 documentation.
    expect(uuidV5('www.terraform.io', DNS)).toBe('a5008fae-b28c-5ba5-96cd-82b4c53552d6');
  });

  it('sends a 36-character v5 UUID of API id and request id as transaction_id: the same for the same line, so Moesif de-duplicates a retry', () => {
    const event = (call: Call, options?: AccessLogFieldsOptions) => {
      const result = toMoesif(accessLogLine(call, options));
      if (!result.ok) throw new Error('the line should map');
      return result.event;
    };
    const first = event(CALL);
    expect(first.transaction_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first.transaction_id).toBe('b90fa9d9-2ab1-59d5-8ec1-e47a54fd9f65');
    expect(first.metadata.requestId).toBe('Jn1ZzhTzoAMEJbw=');
    // The same call logged through the other format, and mapped again: the same id.
    expect(event(CALL, MODES[1]).transaction_id).toBe(first.transaction_id);
    expect(event(CALL).transaction_id).toBe(first.transaction_id);
    // Another request id, or the same request id on another API: another call.
    expect(event({ ...CALL, requestId: 'Jn1ZzhTzoAMEJbx=' }).transaction_id).toBe('cb2305f7-cdb1-53bc-8c69-f45190c41eb0');
    expect(event({ ...CALL, apiId: 'other9' }).transaction_id).toBe('fd0bf248-d42b-54b5-8895-a032210000f3');
  });

  it('sends the same transaction_id again when a delivery is retried, so Moesif keeps one copy', async () => {
    collector.reply({ status: 500 });
    await forwarder({ maxAttempts: 1 })(delivery([accessLogLine(CALL)])).catch(() => undefined);
    // Lambda's retry (or a DLQ redrive) runs the same payload in a fresh container.
    await forwarder()(delivery([accessLogLine(CALL)]));
    const ids = collector.requests.map((r) => (r.body as MoesifEvent[])[0].transaction_id);
    expect(ids).toEqual(['b90fa9d9-2ab1-59d5-8ec1-e47a54fd9f65', 'b90fa9d9-2ab1-59d5-8ec1-e47a54fd9f65']);
  });

  it('sends the key id as session_token and never the token', async () => {
    await forwarder()(delivery([accessLogLine({ ...CALL, keyId: 'k-01JD' })]));
    const [event] = collector.accepted as MoesifEvent[];
    expect(event.session_token).toBe('k-01JD');
  });
});

describe('moesif forwarder: sampling as /v1/config asks', () => {
  const calls = (n: number, call: Partial<Call> = {}) => Array.from({ length: n }, (_, i) => accessLogLine({ ...CALL, ...call, requestId: `req-${i}` }));
  const sentIds = () => (collector.accepted as MoesifEvent[]).map((e) => e.transaction_id).sort();

  it('keeps the same events on every run at sample_rate 50, sends them with weight 2 and counts the rest', async () => {
    collector.documents.setConfig({ sample_rate: 50 });
    const lines = calls(400);

    const first = await forwarder()(delivery(lines));
    const firstIds = sentIds();
    const weights = new Set((collector.accepted as MoesifEvent[]).map((e) => e.weight));
    collector.requests.length = 0;
    // A retry or a DLQ redrive runs in another container, with a new cache.
    const second = await forwarder()(delivery(lines));

    expect(sentIds()).toEqual(firstIds);
    expect(second).toEqual(first);
    expect(first.sent + first.sampledOut).toBe(400);
    // 400 draws at 50 %: 200 ± 4 standard deviations.
    expect(first.sent).toBeGreaterThan(160);
    expect(first.sent).toBeLessThan(240);
    expect([...weights]).toEqual([2]);
    expect(logged('forwarded to moesif').at(-1)).toMatchObject({ received: 400, sent: first.sent, sampledOut: first.sampledOut, sampling: 'config' });
  });

  it('sends nothing at sample_rate 0 and everything, with weight 1, at 100', async () => {
    collector.documents.setConfig({ sample_rate: 0 });
    expect(await forwarder()(delivery(calls(20)))).toEqual({ received: 20, sent: 0, skipped: 0, sampledOut: 20 });
    expect(collector.requests).toHaveLength(0);
    expect(logged('nothing to forward to moesif')).toEqual([expect.objectContaining({ sampledOut: 20, sent: 0 })]);

    collector.documents.setConfig({ sample_rate: 100 });
    expect(await forwarder()(delivery(calls(20)))).toEqual({ received: 20, sent: 20, skipped: 0, sampledOut: 0 });
    expect(new Set((collector.accepted as MoesifEvent[]).map((e) => e.weight))).toEqual(new Set([1]));
  });

  it('takes the rate from a matching regex_config group first, then the user, then the company, then sample_rate', async () => {
    collector.documents.setConfig({
      sample_rate: 100,
      user_sample_rate: { 'user-quiet': 0, 'user-loud': 100, 'user-quarter': 25 },
      company_sample_rate: { 'acme-quiet': 0 },
      regex_config: [{ conditions: [{ path: 'request.route', value: '^/health' }, { path: 'request.verb', value: 'GET' }], sample_rate: 0 }],
    });
    const lines = [
      ...calls(10, { user: 'user-42', company: 'acme' }), // sample_rate: all sent
      ...calls(10, { user: 'user-quiet', company: 'acme' }).map((l) => l.replace(/req-/g, 'quiet-')), // user 0
      ...calls(10, { user: 'user-x', company: 'acme-quiet' }).map((l) => l.replace(/req-/g, 'cq-')), // company 0
      ...calls(10, { user: 'user-loud', company: 'acme-quiet' }).map((l) => l.replace(/req-/g, 'loud-')), // user beats company
      ...calls(10, { user: 'user-loud', method: 'GET', path: '/health/db' }).map((l) => l.replace(/req-/g, 'health-')), // regex beats user
      ...calls(10, { user: 'user-loud', method: 'POST', path: '/health/db' }).map((l) => l.replace(/req-/g, 'hpost-')), // AND: verb differs
      ...calls(40, { user: 'user-quarter' }).map((l) => l.replace(/req-/g, 'q-')),
    ];
    const summary = await forwarder()(delivery(lines));

    const sent = collector.accepted as MoesifEvent[];
    const byUser = (user: string, company?: string) => sent.filter((e) => e.user_id === user && (company === undefined || e.company_id === company));
    expect(byUser('user-42')).toHaveLength(10);
    expect(byUser('user-quiet')).toHaveLength(0);
    expect(byUser('user-x')).toHaveLength(0);
    expect(byUser('user-loud', 'acme-quiet')).toHaveLength(10);
    expect(sent.filter((e) => e.request.uri.endsWith('/health/db')).map((e) => e.request.verb)).toEqual(Array(10).fill('POST'));
    const quarter = byUser('user-quarter');
    expect(quarter.length).toBeGreaterThan(0);
    expect(quarter.length).toBeLessThan(40);
    expect(new Set(quarter.map((e) => e.weight))).toEqual(new Set([4]));
    expect(summary.sampledOut).toBe(30 + 40 - quarter.length);
  });

  it('fetches /v1/config once per TTL with the Application Id, then revalidates it with If-None-Match and keeps it on a 304', async () => {
    collector.documents.setConfig({ sample_rate: 0 });
    let clock = 1_000_000;
    const handler = forwarder({ now: () => clock, sampling: { ttlMs: 60_000 } });

    await handler(delivery(calls(3)));
    clock += 59_999;
    await handler(delivery(calls(3)));
    expect(collector.documents.requestsFor('/v1/config')).toEqual([{ path: '/v1/config', applicationId: APP_ID, ifNoneMatch: undefined, status: 200 }]);

    clock += 1;
    expect(await handler(delivery(calls(3)))).toMatchObject({ sent: 0, sampledOut: 3 });
    expect(collector.documents.requestsFor('/v1/config').map((r) => [r.ifNoneMatch, r.status])).toEqual([
      [undefined, 200],
      [collector.documents.tagOf('/v1/config'), 304],
    ]);
  });

  it('picks up a changed rate at the next revalidation', async () => {
    collector.documents.setConfig({ sample_rate: 0 });
    let clock = 0;
    const handler = forwarder({ now: () => clock, sampling: { ttlMs: 60_000 } });
    expect(await handler(delivery(calls(5)))).toMatchObject({ sent: 0 });
    collector.documents.setConfig({ sample_rate: 100 });
    expect(await handler(delivery(calls(5)))).toMatchObject({ sent: 0 });
    clock = 60_000;
    expect(await handler(delivery(calls(5)))).toMatchObject({ sent: 5, sampledOut: 0 });
  });

  it.each([
    ['answers 500', () => void (collector.documents.failWith = 500)],
    ['stalls past the timeout', () => void (collector.documents.delayMs = 5_000)],
  ])('sends every event (weight 1) and logs it when /v1/config %s, and asks again only after the retry interval', async (_, breakConfig) => {
    collector.documents.setConfig({ sample_rate: 0 });
    breakConfig();
    let clock = 0;
    const handler = forwarder({ now: () => clock, sampling: { retryMs: 30_000, timeoutMs: 200 } });

    expect(await handler(delivery(calls(4)))).toEqual({ received: 4, sent: 4, skipped: 0, sampledOut: 0 });
    expect(new Set((collector.accepted as MoesifEvent[]).map((e) => e.weight))).toEqual(new Set([1]));
    expect(logged('moesif config unavailable, sending every event')).toEqual([expect.objectContaining({ level: 'WARN', error: 'MoesifUnavailableError' })]);
    expect(logged('forwarded to moesif').at(-1)).toMatchObject({ sampling: 'unavailable', sent: 4, sampledOut: 0 });

    collector.documents.failWith = undefined;
    collector.documents.delayMs = undefined;
    clock = 29_999;
    expect(await handler(delivery(calls(4)))).toMatchObject({ sent: 4 });
    clock = 30_000;
    expect(await handler(delivery(calls(4)))).toMatchObject({ sent: 0, sampledOut: 4 });
    expect(collector.documents.requestsFor('/v1/config').filter((r) => r.status === 200)).toHaveLength(1);
  });
});

describe('moesif forwarder: delivery, retries and failure', () => {
  it('retries a 500, a 408 and a 503 with growing jittered backoff, then succeeds with the same batch', async () => {
    collector.reply({ status: 500 }, { status: 408 }, { status: 503 });
    const summary = await forwarder()(delivery([accessLogLine(CALL)]));

    expect(summary.sent).toBe(1);
    expect(collector.requests.map((r) => r.status)).toEqual([500, 408, 503, 201]);
    expect(collector.requests.map((r) => r.body)).toEqual([[EXPECTED], [EXPECTED], [EXPECTED], [EXPECTED]]);
    // random() = 0.5 of a ceiling that starts at 200 ms and doubles.
    expect(sleeps).toEqual([100, 200, 400]);
    expect(logged('moesif batch retry').map((l) => l.reason)).toEqual(['HTTP 500', 'HTTP 408', 'HTTP 503']);
  });

  it('waits as long as Retry-After asks on a 429, but no longer than its bound', async () => {
    collector.reply({ status: 429, headers: { 'retry-after': '2' } }, { status: 429, headers: { 'retry-after': '3600' } });
    await forwarder()(delivery([accessLogLine(CALL)]));
    expect(sleeps).toEqual([2000, 10_000]);
    expect(collector.accepted).toEqual([EXPECTED]);
  });

  it('fails the invocation when Moesif keeps answering 500, so the async retry and the DLQ keep the logs', async () => {
    collector.always({ status: 500 });
    const error = await forwarder()(delivery([accessLogLine(CALL)])).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MoesifDeliveryError);
    expect(error).toMatchObject({ status: 500, attempts: 4, batch: 1, sent: 0 });
    expect(collector.requests).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
    expect(logged('moesif forwarding failed')).toEqual([expect.objectContaining({ level: 'ERROR', received: 1, sent: 0, toSend: 1, status: 500, error: 'MoesifDeliveryError' })]);
  });

  it('does not retry a 401 and says to check the Application Id', async () => {
    collector.always({ status: 401, body: '{"message":"Unauthorized"}' });
    const error = await forwarder()(delivery([accessLogLine(CALL)])).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MoesifRejectedError);
    expect((error as Error).message).toMatch(/401.*not retried.*Application Id/);
    expect(collector.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(logged('moesif forwarding failed')[0]).toMatchObject({ level: 'ERROR', status: 401, attempts: 1 });
  });

  it('does not retry a 400 either', async () => {
    collector.always({ status: 400 });
    await expect(forwarder()(delivery([accessLogLine(CALL)]))).rejects.toBeInstanceOf(MoesifRejectedError);
    expect(collector.requests).toHaveLength(1);
  });

  it('retries a connection error, then fails with no status', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const handler = forwarder({ env: { MOESIF_APPLICATION_ID_SECRET_ARN: secretArn, MOESIF_BASE_URL: `http://127.0.0.1:${port}` }, maxAttempts: 3 });
    const error = await handler(delivery([accessLogLine(CALL)])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MoesifDeliveryError);
    expect(error).toMatchObject({ status: undefined, attempts: 3 });
    expect(sleeps).toHaveLength(2);
  });

  it('stops retrying when the next wait would pass the Lambda deadline', async () => {
    collector.always({ status: 503 });
    // A still clock: the deadline is 3100 ms away less the 3000 ms margin, i.e. 100 ms.
    const context = { getRemainingTimeInMillis: () => 3100 };
    await expect(forwarder({ now: () => 0 })(delivery([accessLogLine(CALL)]), context)).rejects.toBeInstanceOf(MoesifDeliveryError);
    // The first wait (100 ms) fits, the second (200 ms) would not: two requests, not four.
    expect(sleeps).toEqual([100]);
    expect(collector.requests).toHaveLength(2);
  });

  it('splits a large delivery into batches of at most 500 events, each event sent once', async () => {
    const calls = Array.from({ length: 1201 }, (_, i) => accessLogLine({ ...CALL, requestId: `req-${i}` }));
    const summary = await forwarder()(delivery(calls));

    expect(summary).toEqual({ received: 1201, sent: 1201, skipped: 0, sampledOut: 0 });
    expect(collector.requests.map((r) => (r.body as unknown[]).length)).toEqual([500, 500, 201]);
    const ids = collector.accepted.map((e) => (e as MoesifEvent).transaction_id);
    expect(new Set(ids).size).toBe(1201);
  });

  it('keeps every batch under the byte limit', async () => {
    const calls = Array.from({ length: 30 }, (_, i) => accessLogLine({ ...CALL, requestId: `req-${i}` }));
    await forwarder({ maxBytes: 4096 })(delivery(calls));

    expect(collector.requests.length).toBeGreaterThan(1);
    for (const r of collector.requests) expect(Buffer.byteLength(JSON.stringify(r.body))).toBeLessThanOrEqual(4096);
    expect(collector.accepted).toHaveLength(30);
  });

  it('stops at the first batch that fails and reports how many events Moesif already took', async () => {
    collector.reply({ status: 201 });
    collector.fallback = { status: 500 };
    const calls = Array.from({ length: 600 }, (_, i) => accessLogLine({ ...CALL, requestId: `req-${i}` }));
    const error = await forwarder()(delivery(calls)).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'MoesifDeliveryError', batch: 2, sent: 500 });
    expect(collector.requests).toHaveLength(1 + 4);
  });
});

describe('moesif forwarder: the Application Id secret', () => {
  it('accepts the JSON form {"applicationId": "..."}', async () => {
    secretArn = sm.put('moesif-app-id-json', JSON.stringify({ applicationId: APP_ID }));
    await forwarder()(delivery([accessLogLine(CALL)]));
    expect(collector.requests[0].headers['x-moesif-application-id']).toBe(APP_ID);
  });

  it.each([
    '',
    '   ',
    'REPLACE_WITH_YOUR_MOESIF_APPLICATION_ID',
    '<moesif-application-id>',
    'placeholder',
    '{"applicationId":""}',
    // What the stack's generated secret holds until someone fills it in.
    '{"applicationId":"","placeholder":"Qm9ZxT3kWv8LpR2sYc7NfJ1hUa6GdE4b"}',
  ])(
    'fails with a log saying to fill in the secret when it holds %j, and sends nothing',
    async (value) => {
      secretArn = sm.put(`moesif-placeholder-${Math.random()}`, value);
      await expect(forwarder()(delivery([accessLogLine(CALL)]))).rejects.toBeInstanceOf(MoesifConfigError);
      expect(collector.requests).toHaveLength(0);
      const [line] = logged('moesif forwarding failed');
      expect(line).toMatchObject({ level: 'ERROR', secretArn, error: 'MoesifConfigError' });
      expect(line.errorMessage).toMatch(/fill it in with your Collector Application Id/);
    },
  );

  it('caches the Application Id for its TTL, then reads it again', async () => {
    let clock = 1_000_000;
    const handler = forwarder({ now: () => clock, appIdTtlMs: 60_000 });
    const before = sm.calls.GetSecretValue ?? 0;

    await handler(delivery([accessLogLine(CALL)]));
    await handler(delivery([accessLogLine(CALL)]));
    expect((sm.calls.GetSecretValue ?? 0) - before).toBe(1);
    clock += 60_000;
    await handler(delivery([accessLogLine(CALL)]));
    expect((sm.calls.GetSecretValue ?? 0) - before).toBe(2);
  });

  it('does not cache a placeholder: the first invocation after the secret is filled in sends', async () => {
    const name = `moesif-later-${Math.random()}`;
    secretArn = sm.put(name, 'REPLACE_ME');
    const handler = forwarder();
    await expect(handler(delivery([accessLogLine(CALL)]))).rejects.toBeInstanceOf(MoesifConfigError);
    sm.put(name, APP_ID);
    await expect(handler(delivery([accessLogLine(CALL)]))).resolves.toEqual({ received: 1, sent: 1, skipped: 0, sampledOut: 0 });
  });

  it('keeps using the cached Application Id when Secrets Manager fails after the TTL', async () => {
    let clock = 0;
    const handler = forwarder({ now: () => clock, appIdTtlMs: 1000 });
    await handler(delivery([accessLogLine(CALL)]));
    sm.failWith = 500;
    clock += 5000;
    try {
      await expect(handler(delivery([accessLogLine(CALL)]))).resolves.toMatchObject({ sent: 1 });
    } finally {
      sm.failWith = undefined;
    }
    expect(logged('moesif application id refresh failed, using the cached one')).toHaveLength(1);
  });
});

describe('moesif forwarder: the exported handler', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const key of ['MOESIF_APPLICATION_ID_SECRET_ARN', 'MOESIF_BASE_URL']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  function load(): typeof import('../../lambda/moesif-forwarder').handler {
    let handler!: typeof import('../../lambda/moesif-forwarder').handler;
    jest.isolateModules(() => {
      handler = require('../../lambda/moesif-forwarder').handler;
    });
    return handler;
  }

  it('reads MOESIF_APPLICATION_ID_SECRET_ARN and MOESIF_BASE_URL from the environment', async () => {
    process.env.MOESIF_APPLICATION_ID_SECRET_ARN = secretArn;
    process.env.MOESIF_BASE_URL = `${collector.url}/`;
    await expect(load()(delivery([accessLogLine(CALL)]))).resolves.toEqual({ received: 1, sent: 1, skipped: 0, sampledOut: 0 });
    expect(collector.requests[0]).toMatchObject({ path: '/v1/events/batch', headers: expect.objectContaining({ 'x-moesif-application-id': APP_ID }) });
  });

  it('names the missing variable when MOESIF_APPLICATION_ID_SECRET_ARN is not set', async () => {
    delete process.env.MOESIF_APPLICATION_ID_SECRET_ARN;
    await expect(load()(delivery([accessLogLine(CALL)]))).rejects.toThrow('Environment variable MOESIF_APPLICATION_ID_SECRET_ARN is not set.');
  });
});
