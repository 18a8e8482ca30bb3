import type { LocalLambda } from '../functions';
import type { RequestRecord } from './context';
import { proxyEventV1, proxyEventV2, responseFromV1, responseFromV2, type AuthorizerOutput, type HttpResponse, type IncomingRequest } from './events';
import type { IntegrationModel } from './model';

export interface IntegrationInput {
  record: RequestRecord;
  req: IncomingRequest;
  pathParameters: Record<string, string>;
  stageVariables: Record<string, string>;
  auth: AuthorizerOutput;
  resource: string;
}

export interface IntegrationOutcome {
  response: HttpResponse;
  /** The integration's own status (the function's statusCode, the backend's status). */
  status?: number;
  latencyMs: number;
  error?: string;
}

function message(status: number, text: string): HttpResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ message: text })) };
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'proxy-connection', 'te', 'trailer']);

/** AWS_PROXY: invokes the function with the payload version the integration names. */
async function lambdaProxy(lambda: LocalLambda, integration: IntegrationModel, input: IntegrationInput): Promise<IntegrationOutcome> {
  const v1 = integration.payloadFormatVersion === '1.0';
  const event = v1 ? proxyEventV1(input.record, input.req, input) : proxyEventV2(input.record, input.req, input);
  // The integration's own timeout (30 s at most) answers 503 while the function may still run on.
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), integration.timeoutMs)));
  const result = await Promise.race([lambda.invoke(integration.uri ?? '', event), timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') return { response: message(503, 'Service Unavailable'), latencyMs: integration.timeoutMs, error: `The integration timed out after ${integration.timeoutMs} ms` };
  if (!result.ok) {
    return { response: message(500, 'Internal Server Error'), latencyMs: result.durationMs, error: `${result.error.errorType}: ${result.error.errorMessage}` };
  }
  const response = v1 ? responseFromV1(result.payload) : responseFromV2(result.payload);
  if (!response) return { response: message(500, 'Internal Server Error'), status: 200, latencyMs: result.durationMs, error: 'The function returned no statusCode (payload 1.0)' };
  return { response, status: response.status, latencyMs: result.durationMs };
}

/** HTTP_PROXY: forwards to the URI with path variables filled in (the request path is not appended, as API Gateway does). */
async function httpProxy(integration: IntegrationModel, input: IntegrationInput): Promise<IntegrationOutcome> {
  const started = Date.now();
  let target = (integration.uri ?? '').replace(/\{([^}]+?)\+?\}/g, (_m, name: string) => input.pathParameters[name] ?? input.pathParameters[`${name}+`] ?? '');
  if (input.req.rawQueryString) target += (target.includes('?') ? '&' : '?') + input.req.rawQueryString;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = [v].flat().join(',');
  const method = !integration.method || integration.method === 'ANY' ? input.req.method : integration.method;
  try {
    const res = await fetch(target, {
      method,
      headers,
      body: input.req.body.length && method !== 'GET' && method !== 'HEAD' ? input.req.body : undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(integration.timeoutMs),
    });
    const out: Record<string, string | string[]> = {};
    res.headers.forEach((v, k) => {
      if (!HOP_BY_HOP.has(k) && k !== 'content-encoding') out[k] = v;
    });
    const body = Buffer.from(await res.arrayBuffer());
    return { response: { status: res.status, headers: out, body }, status: res.status, latencyMs: Date.now() - started };
  } catch (err) {
    const timedOut = (err as Error).name === 'TimeoutError';
    return { response: message(timedOut ? 503 : 500, timedOut ? 'Service Unavailable' : 'Internal Server Error'), latencyMs: Date.now() - started, error: (err as Error).message };
  }
}

/** Runs the route's integration. */
export async function integrate(lambda: LocalLambda, integration: IntegrationModel | undefined, input: IntegrationInput): Promise<IntegrationOutcome> {
  if (!integration) return { response: message(404, 'Not Found'), latencyMs: 0, error: 'The route has no integration' };
  if (integration.type === 'AWS_PROXY' && !integration.subtype) return lambdaProxy(lambda, integration, input);
  if (integration.type === 'HTTP_PROXY') return httpProxy(integration, input);
  const what = integration.subtype ? `${integration.type} ${integration.subtype}` : integration.type;
  return { response: message(500, 'Internal Server Error'), latencyMs: 0, error: `Integration type ${what} is not emulated locally` };
}
