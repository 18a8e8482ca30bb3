import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * The clients of the authorizer-cache bump (key-admin queues it, stage-bump updates the stage), created on
 * first use; apart from registry/clients.ts so the authorizer loads neither. Endpoints follow
 * AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_APIGATEWAYV2.
 */
let sqs: SQSClient | undefined;
let apiGateway: ApiGatewayV2Client | undefined;

export function sqsClient(): SQSClient {
  sqs ??= new SQSClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 2000 } });
  return sqs;
}

export function apiGatewayClient(): ApiGatewayV2Client {
  apiGateway ??= new ApiGatewayV2Client({});
  return apiGateway;
}
