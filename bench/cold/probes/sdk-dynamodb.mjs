// Probe: what a DynamoDB SDK client (revocation lookups) costs a cold start on its own (import, one GetItem).
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

export async function handler() {
  const client = new DynamoDBClient({ maxAttempts: 2 });
  const { Item } = await client.send(new GetItemCommand({ TableName: 'revocations', Key: { pk: { S: 'key#1' } } }));
  return { isAuthorized: Item === undefined };
}
