// Probe: the same as sdk-both.mjs, the SDK loaded with require() (the bundle banner's createRequire) instead of
// an ES import: Node's ESM loader then neither scans the SDK's CommonJS for named exports nor detects its format.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { GetSecretValueCommand, SecretsManagerClient } = require('@aws-sdk/client-secrets-manager');
const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');

export async function handler() {
  const { SecretString } = await new SecretsManagerClient({ maxAttempts: 2 }).send(new GetSecretValueCommand({ SecretId: process.env.BENCH_SECRET_ARN }));
  const { Item } = await new DynamoDBClient({ maxAttempts: 2 }).send(new GetItemCommand({ TableName: 'revocations', Key: { pk: { S: 'key#1' } } }));
  return { isAuthorized: typeof SecretString === 'string' && Item === undefined };
}
