import { formatAccessLog } from '../../local/api/access-log';
import { contextVariable, requestTime, type RequestRecord } from '../../local/api/context';
import { accessLogFields } from '../../lib/constructs/access-log';
import { toMoesif } from '../../lambda/moesif/event';

const record: RequestRecord = {
  requestId: 'Ab1=',
  apiId: 'abc123',
  accountId: '123456789012',
  domainName: '127.0.0.1:3000',
  domainPrefix: '127',
  stage: '$default',
  routeKey: '$default',
  httpMethod: 'GET',
  path: '/orders',
  protocol: 'HTTP/1.1',
  sourceIp: '127.0.0.1',
  userAgent: 'curl "quoted"',
  requestTime: requestTime(Date.UTC(2026, 10, 23, 1, 2, 3)),
  requestTimeEpoch: Date.UTC(2026, 10, 23, 1, 2, 3),
  status: 200,
  responseLength: 12,
  responseLatency: 5,
  integration: { status: 200, latency: 3 },
  authorizer: { values: { userId: 'user-42', companyId: 'acme' }, claims: { sub: 'user-42' } },
  identity: {},
};

describe('formatAccessLog', () => {
  it("substitutes $context variables, '-' for missing ones, and keeps a JSON format valid", () => {
    const line = formatAccessLog('{"t":"$context.requestTime","ua":"$context.identity.userAgent","u":"$context.authorizer.userId","c":"$context.authorizer.claims.sub","e":"$context.integrationErrorMessage"}', (n) => contextVariable(record, n));
    expect(JSON.parse(line)).toEqual({ t: '23/Nov/2026:01:02:03 +0000', ua: 'curl "quoted"', u: 'user-42', c: 'user-42', e: '-' });
  });

  it("writes the stack's own format in lines the Moesif forwarder maps", () => {
    const format = JSON.stringify(accessLogFields({ mode: 'lambda', userIdField: 'sub', companyIdField: 'org_id' }));
    const mapped = toMoesif(formatAccessLog(format, (n) => contextVariable(record, n)));
    expect(mapped).toMatchObject({ ok: true, event: { user_id: 'user-42', company_id: 'acme', request: { verb: 'GET' }, response: { status: 200 } } });
  });
});
