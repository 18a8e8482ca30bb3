import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { JwtEnv } from './env';
import { createKeySource, type KeySource } from '../jwt/key-source';

let secrets: SecretsManagerClient | undefined;

/**
 * One Secrets Manager client per container, created on first use (not at import, which would add
 * ~100 ms to every cold start that never reaches it). Its endpoint follows AWS_ENDPOINT_URL_SECRETS_MANAGER.
 */
export function secretsClient(): SecretsManagerClient {
  // Bounded, so a slow Secrets Manager costs the authorizer ~3 s at worst (its timeout is 5 s) and the
  // cached keys are used instead of a 500.
  secrets ??= new SecretsManagerClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 1000 } });
  return secrets;
}

/** The signing-key cache a function keeps at module scope, read with the shared client. */
export function jwtKeySource(env: JwtEnv, ttlMs = env.keyCacheTtlMs): KeySource {
  return createKeySource({ secretArn: env.secretArn, algorithm: env.algorithm, client: secretsClient(), ttlMs });
}
