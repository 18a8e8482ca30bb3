#!/usr/bin/env node
/**
 * JWT API keys on an HTTP API you already have: your stack, your routes, plus JwtApiKeys.
 *
 *   npx cdk synth --app "node --import tsx examples/existing-api.ts"
 *
 * In your own app, import from the package: `import { JwtApiKeys } from 'jwt-api-moesif';`
 */
import { App, Stack, type StackProps } from 'aws-cdk-lib';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AccountPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { JwtApiKeys } from '../lib';

/** What the app had before: an HTTP API, a function behind it, and the role of the portal's backend. */
export function existingApi(scope: Construct) {
  const api = new HttpApi(scope, 'OrdersApi', { description: 'Orders' });
  const orders = new LambdaFunction(scope, 'Orders', {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async (event) => ({ statusCode: 200, body: JSON.stringify({ orders: [], caller: event.requestContext.authorizer }) });'),
  });
  const integration = new HttpLambdaIntegration('OrdersIntegration', orders);
  const portalBackend = new Role(scope, 'PortalBackend', { assumedBy: new AccountPrincipal(Stack.of(scope).account) });
  return { api, integration, portalBackend };
}

export class OrdersStack extends Stack {
  public readonly keys: JwtApiKeys;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const { api, integration, portalBackend } = existingApi(this);

    // The added lines: keys on the API, the authorizer on its routes, minting for the portal.
    this.keys = new JwtApiKeys(this, 'Keys', { httpApi: api });
    api.addRoutes({ path: '/orders', methods: [HttpMethod.GET], integration, authorizer: this.keys.authorizer });
    api.addRoutes({ path: '/orders/{id}', methods: [HttpMethod.GET], integration, authorizer: this.keys.authorizer });
    this.keys.grantMint(portalBackend);
  }
}

if (require.main === module) {
  const app = new App();
  new OrdersStack(app, 'Orders');
}
