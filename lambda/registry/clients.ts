import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * The registry's DynamoDB client, one per container, created on first use (an import-time client costs every
 * cold start ~100 ms, used or not). Its own module: the authorizer imports this one client and no other, since
 * each SDK client a bundle imports costs its cold start tens of milliseconds (bench/RESULTS.md). Endpoint:
 * AWS_ENDPOINT_URL_DYNAMODB.
 */
let dynamo: DynamoDBClient | undefined;

/**
 * Bounded like the Secrets Manager client: the authorizer (timeout 5 s) refreshes on the request path, so
 * a slow DynamoDB costs a request ~3 s at worst and the last state is kept, rather than a timeout.
 */
export function dynamoClient(): DynamoDBClient {
  dynamo ??= new DynamoDBClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 1000 } });
  return dynamo;
}
