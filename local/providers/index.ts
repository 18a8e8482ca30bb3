import { apiProvider, authorizerProvider, integrationProvider, routeProvider, stageProvider } from './api-gateway';
import { customResourceProvider } from './custom-resource';
import { tableProvider } from './dynamodb';
import { eventSourceMappingProvider } from './event-source-mapping';
import { functionProvider } from './lambda';
import { logGroupProvider, subscriptionFilterProvider } from './logs';
import { secretProvider } from './secrets';
import { queueProvider } from './sqs';
import type { Provider } from './types';

/** The resource types the local runtime creates, by CloudFormation type. */
export const PROVIDERS: Record<string, Provider> = {
  'AWS::ApiGatewayV2::Api': apiProvider,
  'AWS::ApiGatewayV2::Stage': stageProvider,
  'AWS::ApiGatewayV2::Route': routeProvider,
  'AWS::ApiGatewayV2::Integration': integrationProvider,
  'AWS::ApiGatewayV2::Authorizer': authorizerProvider,
  'AWS::Lambda::Function': functionProvider,
  'AWS::Lambda::EventSourceMapping': eventSourceMappingProvider,
  'AWS::SecretsManager::Secret': secretProvider,
  'AWS::DynamoDB::Table': tableProvider,
  'AWS::DynamoDB::GlobalTable': tableProvider,
  'AWS::SQS::Queue': queueProvider,
  'AWS::Logs::LogGroup': logGroupProvider,
  'AWS::Logs::SubscriptionFilter': subscriptionFilterProvider,
  'AWS::CloudFormation::CustomResource': customResourceProvider,
};

export function providerFor(type: string): Provider | undefined {
  return PROVIDERS[type] ?? (type.startsWith('Custom::') ? customResourceProvider : undefined);
}
