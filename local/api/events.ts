import type { IncomingHttpHeaders } from 'node:http';
import type { RequestRecord } from './context';

/** The request as it reached the local gateway. */
export interface IncomingRequest {
  method: string;
  rawPath: string;
  rawQueryString: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What the route's authorizer established, as the integration sees it. */
export type AuthorizerOutput =
  | { kind: 'none' }
  | { kind: 'lambda'; context: Record<string, unknown>; principalId?: string }
  | { kind: 'jwt'; claims: Record<string, string>; scopes: string[] | null }
  | { kind: 'iam'; iam: Record<string, unknown> };

/** Lower-cased headers with repeated values joined by commas (payload 2.0), cookies apart. */
export function eventHeaders(headers: IncomingHttpHeaders): { headers: Record<string, string>; cookies: string[] } {
  const out: Record<string, string> = {};
  let cookies: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (name === 'cookie') {
      cookies = [value].flat().flatMap((v) => v.split(/;\s*/)).filter(Boolean);
      continue;
    }
    out[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return { headers: out, cookies };
}

/** Query parameters with repeated values joined by commas (payload 2.0). */
export function queryParameters(rawQueryString: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQueryString)) out[k] = k in out ? `${out[k]},${v}` : v;
  return out;
}

const TEXT = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|[\w.+-]+\+(json|xml)))/i;

/** Bodies API Gateway passes as text; anything else arrives base64-encoded. */
function encodeBody(req: IncomingRequest): { body?: string; isBase64Encoded: boolean } {
  if (req.body.length === 0) return { isBase64Encoded: false };
  const type = String(req.headers['content-type'] ?? '');
  return TEXT.test(type) ? { body: req.body.toString('utf8'), isBase64Encoded: false } : { body: req.body.toString('base64'), isBase64Encoded: true };
}

function requestContextV2(r: RequestRecord) {
  return {
    accountId: r.accountId,
    apiId: r.apiId,
    domainName: r.domainName,
    domainPrefix: r.domainPrefix,
    http: { method: r.httpMethod, path: r.path, protocol: r.protocol, sourceIp: r.sourceIp, userAgent: r.userAgent ?? '' },
    requestId: r.requestId,
    routeKey: r.routeKey ?? '$default',
    stage: r.stage,
    time: r.requestTime,
    timeEpoch: r.requestTimeEpoch,
  };
}

function authorizerBlock(auth: AuthorizerOutput): Record<string, unknown> | undefined {
  switch (auth.kind) {
    case 'lambda':
      return { lambda: auth.context };
    case 'jwt':
      return { jwt: { claims: auth.claims, scopes: auth.scopes } };
    case 'iam':
      return { iam: auth.iam };
    default:
      return undefined;
  }
}

function optional<T extends object>(value: T): T | undefined {
  return Object.keys(value).length > 0 ? value : undefined;
}

/** The payload 2.0 event of an AWS_PROXY integration. */
export function proxyEventV2(r: RequestRecord, req: IncomingRequest, extra: { pathParameters: Record<string, string>; stageVariables: Record<string, string>; auth: AuthorizerOutput }) {
  const { headers, cookies } = eventHeaders(req.headers);
  const authorizer = authorizerBlock(extra.auth);
  return {
    version: '2.0',
    routeKey: r.routeKey ?? '$default',
    rawPath: req.rawPath,
    rawQueryString: req.rawQueryString,
    cookies: cookies.length ? cookies : undefined,
    headers,
    queryStringParameters: optional(queryParameters(req.rawQueryString)),
    requestContext: { ...requestContextV2(r), ...(authorizer ? { authorizer } : {}) },
    pathParameters: optional(extra.pathParameters),
    stageVariables: optional(extra.stageVariables),
    ...encodeBody(req),
  };
}

/** The payload 1.0 event of an AWS_PROXY integration (the REST API shape). */
export function proxyEventV1(r: RequestRecord, req: IncomingRequest, extra: { pathParameters: Record<string, string>; stageVariables: Record<string, string>; auth: AuthorizerOutput; resource: string }) {
  const { headers } = eventHeaders(req.headers);
  const multi: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) multi[k] = [v].flat();
  const query: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(req.rawQueryString)) (query[k] ??= []).push(v);
  const auth = extra.auth;
  return {
    version: '1.0',
    resource: extra.resource,
    path: req.rawPath,
    httpMethod: r.httpMethod,
    headers,
    multiValueHeaders: multi,
    queryStringParameters: optional(Object.fromEntries(Object.entries(query).map(([k, v]) => [k, v[v.length - 1]]))) ?? null,
    multiValueQueryStringParameters: optional(query) ?? null,
    requestContext: {
      accountId: r.accountId,
      apiId: r.apiId,
      domainName: r.domainName,
      domainPrefix: r.domainPrefix,
      httpMethod: r.httpMethod,
      path: r.path,
      protocol: r.protocol,
      requestId: r.requestId,
      requestTime: r.requestTime,
      requestTimeEpoch: r.requestTimeEpoch,
      resourcePath: extra.resource,
      stage: r.stage,
      identity: { sourceIp: r.sourceIp, userAgent: r.userAgent ?? '', userArn: r.identity.userArn ?? null, accountId: r.identity.accountId ?? null },
      authorizer: auth.kind === 'lambda' ? { ...auth.context, principalId: auth.principalId } : auth.kind === 'jwt' ? { claims: auth.claims, scopes: auth.scopes } : auth.kind === 'iam' ? auth.iam : undefined,
    },
    pathParameters: optional(extra.pathParameters) ?? null,
    stageVariables: optional(extra.stageVariables) ?? null,
    body: encodeBody(req).body ?? null,
    isBase64Encoded: encodeBody(req).isBase64Encoded,
  };
}

/** The payload 2.0 event of a REQUEST authorizer. */
export function authorizerEventV2(r: RequestRecord, req: IncomingRequest, extra: { routeArn: string; identitySource: string[]; pathParameters: Record<string, string>; stageVariables: Record<string, string> }) {
  const { headers, cookies } = eventHeaders(req.headers);
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: extra.routeArn,
    identitySource: extra.identitySource,
    routeKey: r.routeKey ?? '$default',
    rawPath: req.rawPath,
    rawQueryString: req.rawQueryString,
    cookies: cookies.length ? cookies : undefined,
    headers,
    queryStringParameters: optional(queryParameters(req.rawQueryString)),
    requestContext: requestContextV2(r),
    pathParameters: optional(extra.pathParameters),
    stageVariables: optional(extra.stageVariables),
  };
}

/** The payload 1.0 event of a REQUEST authorizer. */
export function authorizerEventV1(r: RequestRecord, req: IncomingRequest, extra: { routeArn: string; identitySource: string[]; pathParameters: Record<string, string>; stageVariables: Record<string, string>; resource: string }) {
  const v1 = proxyEventV1(r, req, { ...extra, auth: { kind: 'none' } });
  return { ...v1, type: 'REQUEST', methodArn: extra.routeArn, identitySource: extra.identitySource.join(','), body: undefined, isBase64Encoded: undefined };
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/**
 * The HTTP response for a function's payload 2.0 result: a `statusCode` object as given, anything else
 * as a 200 JSON body (API Gateway's format inference).
 */
export function responseFromV2(payload: unknown): HttpResponse {
  const p = payload as { statusCode?: unknown; headers?: Record<string, unknown>; multiValueHeaders?: Record<string, unknown[]>; cookies?: string[]; body?: unknown; isBase64Encoded?: boolean } | null;
  if (p === null || typeof p !== 'object' || Array.isArray(p) || p.statusCode === undefined) {
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(p.headers ?? {})) headers[k.toLowerCase()] = String(v);
  for (const [k, v] of Object.entries(p.multiValueHeaders ?? {})) headers[k.toLowerCase()] = v.map(String).join(',');
  if (p.cookies?.length) headers['set-cookie'] = p.cookies;
  const text = p.body === undefined || p.body === null ? '' : typeof p.body === 'string' ? p.body : JSON.stringify(p.body);
  return { status: Number(p.statusCode), headers, body: p.isBase64Encoded ? Buffer.from(text, 'base64') : Buffer.from(text) };
}

/** The HTTP response for a payload 1.0 result (`statusCode` is required). */
export function responseFromV1(payload: unknown): HttpResponse | undefined {
  const p = payload as { statusCode?: unknown } | null;
  if (p === null || typeof p !== 'object' || p.statusCode === undefined) return undefined;
  return responseFromV2(payload);
}
