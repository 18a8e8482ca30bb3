/**
 * Moesif forwarder transform throughput: decode a CloudWatch Logs delivery (base64 + gunzip +
 * JSON) and map every access-log line with toMoesif (a SHA-1 per line for the v5 transaction_id),
 * against a bare `JSON.parse` loop over the same lines, in the same run; then sampling and
 * serialization on their own.
 *
 *   node --import tsx bench/forwarder.bench.ts [lines per delivery, default 1000]
 */
import { gzipSync } from 'node:zlib';
import { bench, do_not_optimize, run } from 'mitata';
import { accessLogFields } from '../lib/constructs/access-log';
import { splitBatches } from '../lambda/moesif/client';
import { decodeSubscription, toMoesif, toMoesifEvents } from '../lambda/moesif/event';
import { applySampling, parseSamplingPolicy } from '../lambda/moesif/sampling';

const N = Number(process.argv[2] ?? 1000);
const EPOCH = 1795395600000;
const ROUTES = [
  ['GET', '/orders', 'GET /orders', '200'],
  ['GET', '/orders/81723', 'GET /orders/{id}', '200'],
  ['POST', '/orders', 'POST /orders', '201'],
  ['DELETE', '/orders/81723', 'DELETE /orders/{id}', '204'],
  ['GET', '/.well-known/jwks.json', 'GET /.well-known/jwks.json', '200'],
  ['GET', '/orders', 'GET /orders', '401'],
] as const;

/** N lines in the stage's real format, with `$context` variables substituted as API Gateway does. */
function lines(): string[] {
  const format = JSON.stringify(accessLogFields({ mode: 'lambda', userIdField: 'sub', companyIdField: 'org_id' }));
  return Array.from({ length: N }, (_, i) => {
    const [method, path, routeKey, status] = ROUTES[i % ROUTES.length];
    const anonymous = status === '401' || path.startsWith('/.well-known');
    const values: Record<string, string> = {
      '$context.requestId': `Jn1Zz${i.toString(36).padStart(6, '0')}bw=`,
      '$context.identity.sourceIp': `203.0.113.${i % 250}`,
      '$context.requestTime': '23/Nov/2026:01:00:00 +0000',
      '$context.requestTimeEpoch': String(EPOCH + i * 7),
      '$context.httpMethod': method,
      '$context.routeKey': routeKey,
      '$context.path': path,
      '$context.domainName': 'abc123.execute-api.us-east-1.amazonaws.com',
      '$context.stage': '$default',
      '$context.apiId': 'abc123',
      '$context.status': status,
      '$context.protocol': 'HTTP/1.1',
      '$context.responseLength': String(120 + (i % 900)),
      '$context.responseLatency': String(20 + (i % 80)),
      '$context.integrationLatency': String(15 + (i % 70)),
      '$context.identity.userAgent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
      '$context.authorizer.userId': anonymous ? '-' : `user-${i % 97}`,
      '$context.authorizer.companyId': anonymous ? '-' : `company-${i % 13}`,
      '$context.authorizer.keyId': anonymous ? '-' : `01JD${i.toString(36).padStart(8, '0')}`,
      '$context.authorizer.error': status === '401' ? 'Unauthorized' : '-',
      '$context.integrationErrorMessage': '-',
    };
    return format.replace(/\$context\.[A-Za-z0-9_.]+/g, (v) => values[v] ?? '-');
  });
}

async function main(): Promise<void> {
  const messages = lines();
  if (!toMoesif(messages[0]).ok) throw new Error('The bench lines do not map; fix the generator.');
  const data = gzipSync(
    JSON.stringify({
      messageType: 'DATA_MESSAGE',
      owner: '123456789012',
      logGroup: '/aws/vendedlogs/jwt-api/access',
      logStream: 'abc123_.default',
      subscriptionFilters: ['moesif'],
      logEvents: messages.map((message, i) => ({ id: String(i), timestamp: EPOCH + i, message })),
    }),
  ).toString('base64');
  const events = toMoesifEvents(decodeSubscription(data).logEvents).events;

  const FULL = `decode + parse + toMoesif (${N} lines)`;
  const FLOOR = `JSON.parse loop (${N} lines)`;
  bench(FULL, () => do_not_optimize(toMoesifEvents(decodeSubscription(data).logEvents)));
  bench(FLOOR, () => {
    for (const m of messages) do_not_optimize(JSON.parse(m));
  });
  bench(`toMoesif only, pre-decoded (${N} lines)`, () => do_not_optimize(toMoesifEvents(messages.map((message) => ({ message })))));
  // A config with every kind of rate, so each event goes through the whole lookup.
  const policy = parseSamplingPolicy({
    sample_rate: 50,
    user_sample_rate: { 'user-1': 10 },
    company_sample_rate: { 'company-2': 25 },
    regex_config: [{ conditions: [{ path: 'request.route', value: '^/health' }, { path: 'request.verb', value: 'GET' }], sample_rate: 0 }],
  });
  bench(`applySampling: rate lookup + bucket (${N} events)`, () => do_not_optimize(applySampling(events, policy)));
  bench(`splitBatches: serialize into request bodies (${N} events)`, () => do_not_optimize(splitBatches(events)));

  const { benchmarks } = await run();
  const stats = (name: string) => benchmarks.find((b) => b.alias === name)?.runs[0]?.stats;
  const perSecond = (ns: number) => Math.round(N / (ns / 1e9)).toLocaleString('en-US');
  const perLine = (ns: number) => `${(ns / N / 1000).toFixed(2)} µs/line`;
  const full = stats(FULL);
  const floor = stats(FLOOR);
  if (!full || !floor) throw new Error('A benchmark did not run.');
  // The median resists GC pauses and a busy machine better than the mean; both are printed.
  console.log('');
  console.log(`payload: ${N} lines, ${Buffer.byteLength(data)} bytes base64 gzip, ${messages.reduce((n, m) => n + m.length, 0)} bytes of lines`);
  console.log(`decode + parse + toMoesif: median ${perSecond(full.p50)} lines/s (${perLine(full.p50)}), mean ${perSecond(full.avg)} lines/s`);
  console.log(`JSON.parse floor:          median ${perSecond(floor.p50)} lines/s (${perLine(floor.p50)}), mean ${perSecond(floor.avg)} lines/s`);
  console.log(`ratio (forwarder / floor): ${(full.p50 / floor.p50).toFixed(2)}x by median, ${(full.avg / floor.avg).toFixed(2)}x by mean`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
