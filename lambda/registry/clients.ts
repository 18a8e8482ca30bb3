import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * One client per service and container, created on first use (an import-time client costs every cold
 * start ~100 ms, used or not). Endpoints follow AWS_ENDPOINT_URL_DYNAMODB, _SQS and _APIGATEWAYV2.
 */
let dynamo: DynamoDBClient | undefined;
let sqs: SQSClient | undefined;
let apiGateway: ApiGatewayV2Client | undefined;

/**
 * Bounded like the Secrets Manager client: the authorizer (timeout 5 s) refreshes on the request path, so
 * a slow DynamoDB costs a request ~3 s at worst and the last state is kept, rather than a timeout.
 */
export function dynamoClient(): DynamoDBClient {
  dynamo ??= new DynamoDBClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 1000 } });
  return dynamo;
}

export function sqsClient(): SQSClient {
  sqs ??= new SQSClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 2000 } });
  return sqs;
}

export function apiGatewayClient(): ApiGatewayV2Client {
  apiGateway ??= new ApiGatewayV2Client({});
  return apiGateway;
}
