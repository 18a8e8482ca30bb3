// Probe: what the Secrets Manager SDK client costs a cold start (import, then one GetSecretValue).
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export async function handler() {
  const client = new SecretsManagerClient({ maxAttempts: 2 });
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: process.env.BENCH_SECRET_ARN }));
  return { isAuthorized: typeof SecretString === 'string' };
}
