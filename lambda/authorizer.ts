import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { secretsClient } from './core/clients';
import { readJwtEnv, type JwtEnv } from './core/env';
import { createKeySource, type KeySource } from './core/key-source';
import { errorFields, log } from './core/log';
import { extractToken, verifyToken } from './core/verify';

export interface AuthorizerContext {
  userId: string;
  companyId: string;
  keyId?: string;
}
export type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext> | { isAuthorized: false };

const DENY = { isAuthorized: false } as const;

let state: { env: JwtEnv; keys: KeySource } | undefined;

function init(): { env: JwtEnv; keys: KeySource } {
  if (!state) {
    const env = readJwtEnv();
    state = { env, keys: createKeySource({ secretArn: env.secretArn, algorithm: env.algorithm, client: secretsClient(), ttlMs: env.keyCacheTtlMs }) };
  }
  return state;
}

/**
 * HTTP API Lambda authorizer (payload 2.0, simple responses). Fails closed and never throws: a throw
 * becomes a 500 at the gateway, and the reason a token was refused is logged, not returned.
 */
export async function handler(event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> {
  try {
    const { env, keys } = init();
    const token = extractToken(event.identitySource?.[0] ?? event.headers?.authorization);
    const options = { ...env };
    let result = await verifyToken(token, (await keys.get()).ring, options);
    // A kid we have not seen may be a key added by a rotation since the cache was filled.
    if (!result.ok && result.reason === 'unknown_kid' && (await keys.refresh())) {
      result = await verifyToken(token, (await keys.get()).ring, options);
    }
    if (!result.ok) {
      log('INFO', 'token refused', { reason: result.reason, detail: result.detail, routeKey: event.routeKey, requestId: event.requestContext?.requestId });
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
