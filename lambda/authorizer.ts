import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { decide, type AccessDeps, type AuthorizerContext } from './access/decide';
import { verifyingKeys } from './jwt/key-source';
import { createOutsideIssuers } from './jwt/outside-tokens';
import { parseTrustedIssuers } from './jwt/trusted-issuers';
import { extractToken } from './jwt/verify';
import { parseApplicationIdSecret } from './moesif/client';
import { createGovernanceSource, parseGovernanceMaxStaleMs, parseGovernanceMode, type GovernanceSource } from './moesif/governance';
import { registryReadersFromEnv } from './registry/authorizer-state';
import { requestRouteKey } from './registry/route-patterns';
import { secretsClient } from './shared/clients';
import { readJwtEnv, requireEnv } from './shared/env';
import { errorFields, log } from './shared/log';
import { METRIC, metricFields } from './shared/metrics';

export type { AuthorizerContext } from './access/decide';
export type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext> | { isAuthorized: false };

const DENY = { isAuthorized: false } as const;

interface State extends AccessDeps {
  /** Plans may restrict routes: the answer is per request (method and path join the identity sources). */
  routeRestricted: boolean;
}
let state: State | undefined;

/** Moesif block rules, when MOESIF_GOVERNANCE is fail-open or fail-closed; the app id comes from its secret. */
function governanceFrom(env: NodeJS.ProcessEnv): GovernanceSource | undefined {
  const mode = parseGovernanceMode(env.MOESIF_GOVERNANCE);
  if (mode === 'off') return undefined;
  const secretArn = requireEnv(env, 'MOESIF_APPLICATION_ID_SECRET_ARN');
  return createGovernanceSource({
    baseUrl: env.MOESIF_BASE_URL || undefined,
    failMode: mode,
    maxStaleMs: parseGovernanceMaxStaleMs(env.GOVERNANCE_MAX_STALE_SECONDS),
    loadApplicationId: async () => parseApplicationIdSecret((await secretsClient().send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString),
  });
}

function init(): State {
  if (state) return state;
  const env = readJwtEnv();
  const { revocations, directory } = registryReadersFromEnv(env.maxLifetimeSeconds);
  const clientLifetime = Number(process.env.CLIENT_TOKEN_MAX_LIFETIME_SECONDS || 300);
  state = {
    own: env,
    ownKeys: verifyingKeys(env),
    outside: createOutsideIssuers(parseTrustedIssuers(process.env.TRUSTED_ISSUERS)),
    directory,
    revocations,
    governance: governanceFrom(process.env),
    clientTokenMaxLifetimeSeconds: Number.isSafeInteger(clientLifetime) && clientLifetime > 0 ? clientLifetime : 300,
    cacheOff: process.env.AUTHORIZER_CACHE_TTL_SECONDS === '0',
    routeRestricted: process.env.ROUTE_RESTRICTED_PLANS === 'true',
  };
  log('INFO', 'cold start', metricFields({ [METRIC.coldStarts]: 1 }, { Function: 'authorizer' }));
  // Start loading the rules and the revocations with the first token rather than after it.
  void state.governance?.refresh();
  void state.revocations.refresh();
  return state;
}

/**
 * The route a plan is checked against: with route-restricted plans, the request itself (method and path,
 * without the stage's name), which the identity sources then also key the cached answer on; an unsafe path
 * (`..`, encoded slashes) matches no plan route.
 */
function routeKeyOf(event: APIGatewayRequestAuthorizerEventV2, routeRestricted: boolean): string {
  if (!routeRestricted) return event.routeKey;
  const stage = event.requestContext?.stage;
  const raw = event.rawPath ?? '';
  const prefix = `/${stage}`;
  // The stage's root arrives as `/<stage>` (no slash after it): that is `/`, not a path named like the stage.
  const path = stage && stage !== '$default' && (raw === prefix || raw.startsWith(`${prefix}/`)) ? raw.slice(prefix.length) || '/' : raw;
  return requestRouteKey(event.requestContext?.http?.method, path) ?? '';
}

/**
 * HTTP API Lambda authorizer (payload 2.0, simple responses). The decision is lambda/access/decide.ts; this
 * maps it to API Gateway's answer. Fails closed and never throws: a throw becomes a 500 at the gateway, and
 * the reason a token was refused is logged (with a metric), not returned.
 */
export async function handler(event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> {
  const requestId = event?.requestContext?.requestId;
  try {
    const deps = init();
    const decision = await decide(
      {
        token: extractToken(event.identitySource?.[0] ?? event.headers?.authorization),
        routeKey: routeKeyOf(event, deps.routeRestricted),
        facts: { verb: event.requestContext?.http?.method, route: event.rawPath, ip: event.requestContext?.http?.sourceIp, headers: event.headers },
      },
      deps,
    );
    if (!decision.allow) {
      const { allow: _allow, ...fields } = decision;
      log('INFO', 'token refused', { ...fields, routeKey: event.routeKey, requestId, ...metricFields({ [METRIC.decisions]: 1 }, { Outcome: 'deny', Reason: decision.reason }, { sets: [['Outcome'], ['Outcome', 'Reason']] }) });
      return DENY;
    }
    if (decision.warning) log('WARN', 'revocation state unavailable: token allowed (revocationFailMode open)', { keyId: decision.context.keyId, requestId });
    // Allows are counted by Outcome alone (their reason is always "ok": a plain field, no second metric).
    log('INFO', 'token accepted', { kind: decision.kind, routeKey: event.routeKey, requestId, ...metricFields({ [METRIC.decisions]: 1 }, { Outcome: 'allow' }), Reason: 'ok' });
    return { isAuthorized: true, context: decision.context };
  } catch (err) {
    log('ERROR', 'authorizer failed closed', { ...errorFields(err), requestId, ...metricFields({ [METRIC.decisions]: 1 }, { Outcome: 'deny', Reason: 'error' }, { sets: [['Outcome'], ['Outcome', 'Reason']] }) });
    return DENY;
  }
}
