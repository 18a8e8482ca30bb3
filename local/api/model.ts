/** An AWS::ApiGatewayV2::Api and its parts, resolved from the template. */
export interface HttpApiModel {
  logicalId: string;
  apiId: string;
  name: string;
  stages: Map<string, StageModel>;
  routes: RouteModel[];
  integrations: Map<string, IntegrationModel>;
  authorizers: Map<string, AuthorizerModel>;
}

export interface StageModel {
  logicalId: string;
  name: string;
  stageVariables: Record<string, string>;
  accessLog?: { format: string; destinationArn: string; logGroupName: string };
  description?: string;
  createdDate: string;
  lastUpdatedDate: string;
}

export interface RouteModel {
  logicalId: string;
  id: string;
  routeKey: string;
  authorizationType: 'NONE' | 'JWT' | 'CUSTOM' | 'AWS_IAM' | string;
  authorizerId?: string;
  authorizationScopes: string[];
  /** `integrations/<id>`. */
  target?: string;
}

export interface IntegrationModel {
  logicalId: string;
  id: string;
  type: string;
  uri?: string;
  method?: string;
  subtype?: string;
  payloadFormatVersion: string;
  timeoutMs: number;
}

export interface AuthorizerModel {
  logicalId: string;
  id: string;
  name: string;
  type: 'REQUEST' | 'JWT' | string;
  identitySource: string[];
  /** REQUEST: the Lambda invocation URI. */
  uri?: string;
  ttlSeconds: number;
  simpleResponses: boolean;
  payloadFormatVersion: string;
  jwt?: { issuer: string; audience: string[] };
}

export function newApi(logicalId: string, apiId: string, name: string): HttpApiModel {
  return { logicalId, apiId, name, stages: new Map(), routes: [], integrations: new Map(), authorizers: new Map() };
}
