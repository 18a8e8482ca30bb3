import type { APIGatewayProxyEventV2, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';

/** An HTTP API (payload 2.0) authorizer event carrying `authorization`. */
export function authorizerEvent(authorization?: string): APIGatewayRequestAuthorizerEventV2 {
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: 'arn:aws:execute-api:us-east-1:123456789012:abc123/$default/GET/orders',
    identitySource: authorization === undefined ? [] : [authorization],
    routeKey: '$default',
    rawPath: '/orders',
    rawQueryString: '',
    headers: authorization === undefined ? {} : { authorization },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method: 'GET', path: '/orders', protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'jest' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '23/Nov/2026:01:00:00 +0000',
      timeEpoch: 1795395600000,
    },
  } as unknown as APIGatewayRequestAuthorizerEventV2;
}

/** A POST /keys event as API Gateway sends it after IAM authorization. */
export function issueEvent(body: unknown, callerArn = 'arn:aws:sts::123456789012:assumed-role/portal-backend/session'): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /keys',
    rawPath: '/keys',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method: 'POST', path: '/keys', protocol: 'HTTP/1.1', sourceIp: '10.0.0.1', userAgent: 'portal' },
      requestId: 'req-2',
      routeKey: 'POST /keys',
      stage: '$default',
      time: '23/Nov/2026:01:00:00 +0000',
      timeEpoch: 1795395600000,
      authorizer: { iam: { userArn: callerArn, accountId: '123456789012' } },
    },
  } as unknown as APIGatewayProxyEventV2;
}

/** A GET on a public discovery path. */
export function getEvent(path: string): APIGatewayProxyEventV2 {
  return { ...issueEvent(undefined), routeKey: `GET ${path}`, rawPath: path, body: undefined } as APIGatewayProxyEventV2;
}
