/**
 * Bundle-time stand-in for lambda/registry/clients.ts in the authorizer (bench only): the one client the
 * authorizer uses, built as there. The real module imports the DynamoDB, SQS and API Gateway clients at
 * its top; in an ES module bundle with the SDK external, each static import is loaded at init, used or
 * not. This measures what splitting the module (one file per client) would save.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

let dynamo: DynamoDBClient | undefined;

export function dynamoClient(): DynamoDBClient {
  dynamo ??= new DynamoDBClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 1000 } });
  return dynamo;
}
