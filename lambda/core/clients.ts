import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

let secrets: SecretsManagerClient | undefined;

/**
 * One Secrets Manager client per container, created on first use (not at import, which would add
 * ~100 ms to every cold start that never reaches it). Its endpoint follows AWS_ENDPOINT_URL_SECRETS_MANAGER.
 */
export function secretsClient(): SecretsManagerClient {
  secrets ??= new SecretsManagerClient({ maxAttempts: 2 });
  return secrets;
}
