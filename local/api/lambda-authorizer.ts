import type { LocalLambda } from '../functions';
import { FORBIDDEN, INTERNAL_ERROR, UNAUTHORIZED, policyAllows, type Decision } from './authorization';
import type { RequestRecord } from './context';
import { authorizerEventV1, authorizerEventV2, type IncomingRequest } from './events';
import { identityValues, type IdentityFacts } from './identity-source';
import type { AuthorizerModel } from './model';

export interface LambdaAuthorization {
  decision: Decision;
  /** Answered from the authorizer cache, without invoking the function. */
  cached: boolean;
  latencyMs?: number;
}

export interface AuthorizerRequest {
  record: RequestRecord;
  req: IncomingRequest;
  facts: IdentityFacts;
  routeArn: string;
  pathParameters: Record<string, string>;
  stageVariables: Record<string, string>;
  resource: string;
}

function stringValues(context: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(context).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

/** Reads a function's answer: a simple response (`isAuthorized`) or an IAM policy, per the authorizer's settings. */
export function interpret(authorizer: AuthorizerModel, payload: unknown, routeArn: string): Decision {
  const p = (payload ?? {}) as { isAuthorized?: unknown; context?: Record<string, unknown>; principalId?: string; policyDocument?: unknown };
  if (authorizer.simpleResponses && authorizer.payloadFormatVersion === '2.0') {
    if (typeof p.isAuthorized !== 'boolean') return { ...INTERNAL_ERROR, error: 'The authorizer answered without a boolean isAuthorized' };
    if (!p.isAuthorized) return FORBIDDEN;
  } else {
    if (!p.policyDocument) return { ...INTERNAL_ERROR, error: 'The authorizer answered without a policyDocument' };
    if (!policyAllows(p.policyDocument, routeArn)) return FORBIDDEN;
  }
  const context = p.context ?? {};
  return { allow: true, output: { kind: 'lambda', context, principalId: p.principalId }, values: stringValues(context), principalId: p.principalId };
}

/**
 * REQUEST (Lambda) authorizers as API Gateway runs them: a missing identity source is a 401 without a
 * call; answers are cached for `AuthorizerResultTtlInSeconds`, keyed by the identity sources' values
 * (which is why a route-dependent answer needs `$context.routeKey` among them).
 */
export class LambdaAuthorizers {
  private readonly cache = new Map<string, { expires: number; payload: unknown }>();

  constructor(private readonly lambda: LocalLambda, private readonly now: () => number = Date.now) {}

  async authorize(authorizer: AuthorizerModel, input: AuthorizerRequest): Promise<LambdaAuthorization> {
    const values = authorizer.identitySource.length ? identityValues(authorizer.identitySource, input.facts) : [];
    if (!values) return { decision: UNAUTHORIZED, cached: false };
    const key = `${authorizer.id}\u0000${JSON.stringify(values)}`;
    const useCache = authorizer.ttlSeconds > 0 && authorizer.identitySource.length > 0;
    const hit = useCache ? this.cache.get(key) : undefined;
    if (hit && hit.expires > this.now()) return { decision: interpret(authorizer, hit.payload, input.routeArn), cached: true };

    const extra = { routeArn: input.routeArn, identitySource: values, pathParameters: input.pathParameters, stageVariables: input.stageVariables };
    const event = authorizer.payloadFormatVersion === '1.0' ? authorizerEventV1(input.record, input.req, { ...extra, resource: input.resource }) : authorizerEventV2(input.record, input.req, extra);
    const result = await this.lambda.invoke(authorizer.uri ?? '', event);
    if (!result.ok) return { decision: { ...INTERNAL_ERROR, error: `${result.error.errorType}: ${result.error.errorMessage}` }, cached: false, latencyMs: result.durationMs };
    const decision = interpret(authorizer, result.payload, input.routeArn);
    // Only a well-formed answer is cached; a malformed one is a 500 every time.
    if (useCache && (decision.allow || decision.status === 403)) this.cache.set(key, { expires: this.now() + authorizer.ttlSeconds * 1000, payload: result.payload });
    return { decision, cached: false, latencyMs: result.durationMs };
  }
}
