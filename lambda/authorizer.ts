import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { secretsClient } from './shared/clients';
import { readJwtEnv, requireEnv, type JwtEnv } from './shared/env';
import type { KeyRing } from './jwt/jwk-set';
import { verifyingKeys, type KeySource } from './jwt/key-source';
import { errorFields, log } from './shared/log';
import { parseApplicationIdSecret } from './moesif/client';
import { createGovernanceSource, parseGovernanceMaxStaleMs, parseGovernanceMode, type GovernanceSource } from './moesif/governance';
import { extractToken, verifyToken } from './jwt/verify';
import { revocationStateFromEnv } from './registry/authorizer-state';
import type { RevocationState } from './registry/revocation-state';

export interface AuthorizerContext {
  userId: string;
  companyId: string;
  keyId?: string;
}
export type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext> | { isAuthorized: false };

const DENY = { isAuthorized: false } as const;

interface State {
  env: JwtEnv;
  keys: KeySource<KeyRing>;
  governance?: GovernanceSource;
  /** What the key registry says is revoked (kept in memory, refreshed incrementally). */
  revocations: RevocationState;
  /** API Gateway's authorizer cache is off (AUTHORIZER_CACHE_TTL_SECONDS=0): each answer serves one request. */
  cacheOff: boolean;
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
  if (!state) {
    const env = readJwtEnv();
    state = {
      env,
      keys: verifyingKeys(env),
      governance: governanceFrom(process.env),
      revocations: revocationStateFromEnv(env.maxLifetimeSeconds),
      cacheOff: process.env.AUTHORIZER_CACHE_TTL_SECONDS === '0',
    };
    // Start loading the rules and the revocations with the first token rather than after it.
    void state.governance?.refresh();
    void state.revocations.refresh();
  }
  return state;
}

/**
 * HTTP API Lambda authorizer (payload 2.0, simple responses). Fails closed and never throws: a throw
 * becomes a 500 at the gateway, and the reason a token was refused is logged, not returned.
 */
export async function handler(event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> {
  try {
    const { env, keys, governance, revocations, cacheOff } = init();
    const token = extractToken(event.identitySource?.[0] ?? event.headers?.authorization);
    let result = verifyToken(token, await keys.get(), env);
    // A kid we have not seen may be a key added by a rotation since the cache was filled.
    if (!result.ok && result.reason === 'unknown_kid' && (await keys.refresh())) {
      result = verifyToken(token, await keys.get(), env);
    }
    if (!result.ok) {
      log('INFO', 'token refused', { reason: result.reason, detail: result.detail, routeKey: event.routeKey, requestId: event.requestContext?.requestId });
      return DENY;
    }
    // In memory: at most one DynamoDB query per refresh interval, whatever the request rate.
    const iat = typeof result.payload.iat === 'number' ? result.payload.iat : undefined;
    const revocation = await revocations.check({ keyId: result.keyId, userId: result.userId, companyId: result.companyId, iat });
    if (revocation.revoked) {
      log('INFO', 'token refused', { reason: revocation.reason, keyId: result.keyId, routeKey: event.routeKey, requestId: event.requestContext?.requestId });
      return DENY;
    }
    if (revocation.reason) log('WARN', 'revocation state unavailable: token allowed (revocationFailMode open)', { keyId: result.keyId, requestId: event.requestContext?.requestId });
    // API Gateway reuses an answer for every request with the same key while it is cached, so request
    // facts (route, IP, headers) may decide only when nothing is cached; otherwise rules on them are
    // skipped (and logged), never guessed.
    const request = cacheOff
      ? { verb: event.requestContext?.http?.method, route: event.rawPath, ip: event.requestContext?.http?.sourceIp, headers: event.headers }
      : undefined;
    const verdict = await governance?.check({ userId: result.userId, companyId: result.companyId, request });
    if (verdict && !verdict.allow) {
      log('INFO', 'token refused by Moesif governance', { ...verdict, userId: result.userId, companyId: result.companyId, requestId: event.requestContext?.requestId });
      return DENY;
    }
    const context: AuthorizerContext = { userId: result.userId, companyId: result.companyId };
    if (result.keyId) context.keyId = result.keyId;
    return { isAuthorized: true, context };
  } catch (err) {
    log('ERROR', 'authorizer failed closed', { ...errorFields(err), requestId: event?.requestContext?.requestId });
    return DENY;
  }
}
