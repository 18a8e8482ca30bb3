// Probe: Secrets Manager and DynamoDB clients together (they share @smithy and @aws-sdk/core), one call each.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

export async function handler() {
  const { SecretString } = await new SecretsManagerClient({ maxAttempts: 2 }).send(new GetSecretValueCommand({ SecretId: process.env.BENCH_SECRET_ARN }));
  const { Item } = await new DynamoDBClient({ maxAttempts: 2 }).send(new GetItemCommand({ TableName: 'revocations', Key: { pk: { S: 'key#1' } } }));
  return { isAuthorized: typeof SecretString === 'string' && Item === undefined };
}
