import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { HttpApi, HttpMethod, HttpRoute, HttpRouteKey, HttpStage, type HttpRouteIntegration } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration, HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { complianceChoices } from './compliance';
import type { AppConfig } from './config';
import { ProjectFunction } from './constructs/project-function';
import { JwtApiKeys } from './jwt-api-keys';

export interface JwtApiStackProps extends StackProps {
  /** The validated configuration (see `loadConfig`). */
  readonly config: AppConfig;
}

/**
 * The standalone app: a new HTTP API whose every route needs a JWT API key, its backend (a URL, or the echo
 * function), and `JwtApiKeys` on it. The keys' construct has the id "Default", which CloudFormation logical ids
 * leave out: a stack deployed before the construct existed keeps every resource (the signing secret, the registry).
 */
export class JwtApiStack extends Stack {
  public readonly api: HttpApi;
  public readonly stage: HttpStage;
  public readonly keys: JwtApiKeys;

  constructor(scope: Construct, id: string, props: JwtApiStackProps) {
    super(scope, id, props);
    const { config } = props;
    complianceChoices(this, config);

    this.api = new HttpApi(this, 'Api', { description: 'HTTP API secured with JWT API keys', createDefaultStage: false });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      // Caps what floods of junk tokens and the public discovery routes can cost (each may invoke a Lambda).
      throttle: { rateLimit: config.throttle.rateLimit, burstLimit: config.throttle.burstLimit },
    });
    this.keys = new JwtApiKeys(this, 'Default', { httpApi: this.api, stage: this.stage, config, metricsNamespace: `JwtApi/${config.stackName}` });
    const keys = this.keys;

    // Nothing that serves a token goes live before the key exists.
    for (const route of this.backendRoutes(config, config.logRetentionDays as RetentionDays)) route.node.addDependency(keys.signingKey.ready);

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint, description: 'Base URL of the API' });
    new CfnOutput(this, 'Issuer', { value: keys.issuer, description: 'iss of minted keys; discovery at <Issuer>/.well-known/openid-configuration' });
    new CfnOutput(this, 'SigningSecretArn', { value: keys.signingKey.secret.secretArn, description: 'Secrets Manager secret holding the signing JWK Set' });
    new CfnOutput(this, 'PublicKeysSecretArn', { value: keys.signingKey.publicKeys.secretArn, description: 'Public copy of the key set (npm run secret:import writes it too)' });
    new CfnOutput(this, 'MintPolicyArn', { value: keys.keyAdmin.mintPolicy.managedPolicyArn, description: 'Attach to the portal backend role to allow POST /keys' });
    new CfnOutput(this, 'KeyAdminPolicyArn', { value: keys.keyAdmin.adminPolicy.managedPolicyArn, description: 'Attach to a role to allow every key route: mint, list, revoke, roll, revocations' });
    new CfnOutput(this, 'KeyRegistryTableName', { value: keys.keyRegistry.table.tableName, description: 'DynamoDB table of minted keys, revocations and watermarks' });
    if (keys.accessLog) new CfnOutput(this, 'AccessLogGroup', { value: keys.accessLog.logGroup.logGroupName });
    if (keys.alarmTopicCreated) new CfnOutput(this, 'AlarmTopicArn', { value: keys.alarmTopic.topicArn, description: 'SNS topic the alarms notify: subscribe an email or a chat hook' });
    if (keys.dashboard) new CfnOutput(this, 'DashboardUrl', { value: keys.dashboard.url, description: 'CloudWatch dashboard: traffic, authorizer decisions by reason, keys, Moesif delivery' });
    if (keys.moesifForwarding) {
      new CfnOutput(this, 'DeadLetterQueueUrl', { value: keys.moesifForwarding.deadLetterQueue.queueUrl, description: 'Moesif forwarder DLQ (npm run dlq:redrive -- --queue-url ...)' });
      new CfnOutput(this, 'ForwarderFunctionName', { value: keys.moesifForwarding.function.functionName, description: 'Moesif forwarder (npm run dlq:redrive -- --function ...)' });
    }
    if (keys.moesifApplicationId) {
      new CfnOutput(this, 'MoesifApplicationIdSecretArn', { value: keys.moesifApplicationId.secret.secretArn, description: 'Put {"applicationId":"<your Moesif Application Id>"} here' });
    }
  }

  /** The protected routes to the backend: the configured URL, or the echo function. */
  private backendRoutes(config: AppConfig, logRetention: RetentionDays): HttpRoute[] {
    const route = (id: string, routeKey: HttpRouteKey, integration: HttpRouteIntegration) =>
      new HttpRoute(this, id, { httpApi: this.api, routeKey, integration, authorizer: this.keys.authorizer });
    if (config.backendUrl) {
      const base = config.backendUrl.replace(/\/+$/, '');
      // An HTTP proxy integration does not append the request path: the greedy route carries it as
      // {proxy}, and $default (here only the root path) goes to the base URL.
      return [
        route('BackendProxyRoute', HttpRouteKey.with('/{proxy+}', HttpMethod.ANY), new HttpUrlIntegration('BackendProxy', `${base}/{proxy}`)),
        route('BackendRoute', HttpRouteKey.DEFAULT, new HttpUrlIntegration('Backend', base)),
      ];
    }
    const echo = new ProjectFunction(this, 'EchoBackend', {
      entry: 'echo.ts',
      description: 'Demo backend: answers with the caller identity the authorizer saw',
      environment: { JWT_USER_ID_FIELD: config.jwt.userIdField, JWT_COMPANY_ID_FIELD: config.jwt.companyIdField },
      logRetention,
    });
    return [route('BackendRoute', HttpRouteKey.DEFAULT, new HttpLambdaIntegration('EchoBackend', echo))];
  }
}
