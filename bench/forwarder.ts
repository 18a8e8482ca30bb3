/**
 * The Moesif forwarder's transform: decode a CloudWatch Logs delivery (base64 + gunzip + JSON) and map
 * every access-log line with toMoesif, against a bare JSON.parse loop over the same lines. The lines
 * are the stage's real access-log format with `$context` variables filled in as API Gateway does; their
 * sizes feed the cost model (scripts/cost.ts).
 */
import { gzipSync } from 'node:zlib';
import { do_not_optimize } from 'mitata';
import { accessLogFields } from '../lib/constructs/access-log';
import { splitBatches } from '../lambda/moesif/client';
import { decodeSubscription, toMoesif, toMoesifEvents } from '../lambda/moesif/event';
import type { Case } from './hot';

const EPOCH = 1795395600000;
const ROUTES = [
  ['GET', '/orders', 'GET /orders', '200'],
  ['GET', '/orders/81723', 'GET /orders/{id}', '200'],
  ['POST', '/orders', 'POST /orders', '201'],
  ['DELETE', '/orders/81723', 'DELETE /orders/{id}', '204'],
  ['GET', '/.well-known/jwks.json', 'GET /.well-known/jwks.json', '200'],
  ['GET', '/orders', 'GET /orders', '401'],
] as const;

/** `n` lines in the stage's access-log format (Lambda mode). */
export function accessLogLines(n: number): string[] {
  const format = JSON.stringify(accessLogFields({ mode: 'lambda', userIdField: 'sub', companyIdField: 'org_id' }));
  return Array.from({ length: n }, (_, i) => {
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

export interface ForwarderCases {
  lines: number;
  full: Case;
  floor: Case;
  /** Mean bytes of one access-log line (UTF-8), what CloudWatch Logs ingests per call. */
  bytesPerLine: number;
  /** gzip size / raw size of the lines: CloudWatch Logs bills storage on compressed bytes. */
  gzipRatio: number;
  /** Mean bytes of request body per event the forwarder POSTs to Moesif (data transfer out). */
  bytesPerEventSent: number;
}

export function prepareForwarder(n: number): ForwarderCases {
  const messages = accessLogLines(n);
  if (!toMoesif(messages[0]).ok) throw new Error('The bench access-log lines do not map; fix accessLogLines in bench/forwarder.ts.');
  const raw = messages.join('\n');
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
  const sent = splitBatches(events).reduce((sum, b) => sum + Buffer.byteLength(b.body), 0);
  return {
    lines: n,
    full: () => do_not_optimize(toMoesifEvents(decodeSubscription(data).logEvents)),
    floor: () => {
      for (const m of messages) do_not_optimize(JSON.parse(m));
    },
    bytesPerLine: messages.reduce((sum, m) => sum + Buffer.byteLength(m), 0) / n,
    gzipRatio: gzipSync(raw).length / Buffer.byteLength(raw),
    bytesPerEventSent: sent / events.length,
  };
}
