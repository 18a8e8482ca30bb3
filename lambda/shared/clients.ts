import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

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
