import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { readJwtEnv, type JwtEnv } from './shared/env';
import { publicJwks, type PrivateJwkSet } from './jwt/jwk-set';
import { publicKeySet, type KeySource } from './jwt/key-source';
import { errorFields, log } from './shared/log';
import { json } from './shared/http';

let state: { env: JwtEnv; keys: KeySource<PrivateJwkSet> } | undefined;

function init(): { env: JwtEnv; keys: KeySource<PrivateJwkSet> } {
  if (!state) {
    const env = readJwtEnv();
    // Short TTL: a rotated key must show up here before the issuer signs with it elsewhere. Only the
    // public copy is readable by this function (a public route): it holds no private key.
    state = { env, keys: publicKeySet(60_000) };
  }
  return state;
}

/** The two OpenID discovery documents API Gateway's JWT authorizer reads: the configuration and the JWKS. */
export function openidConfiguration(issuer: string, algorithm: string): Record<string, unknown> {
  return {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    id_token_signing_alg_values_supported: [algorithm],
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
  };
}

/** GET /.well-known/jwks.json and GET /.well-known/openid-configuration (public). */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    const { env, keys } = init();
    const cache = { 'cache-control': 'public, max-age=300' };
    if (event.rawPath.endsWith('/openid-configuration')) return json(200, openidConfiguration(env.issuer, env.algorithm), cache);
    if (event.rawPath.endsWith('/jwks.json')) return json(200, publicJwks(await keys.get()), cache);
    return json(404, { error: 'not_found' });
  } catch (err) {
    log('ERROR', 'discovery failed', { ...errorFields(err), requestId: event.requestContext?.requestId });
    return json(503, { error: 'unavailable' });
  }
}
