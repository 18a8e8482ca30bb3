import { Annotations, Aspects, CfnOutput, Stack, Token, Validations, type StackProps } from 'aws-cdk-lib';
import { CfnAuthorizer, HttpApi, HttpMethod, HttpRoute, HttpRouteKey, HttpStage, LogGroupLogDestination, type HttpRouteIntegration } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration, HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic, type ITopic } from 'aws-cdk-lib/aws-sns';
import { LogGroupEncryption, ServiceInvokeFromOwnAccount } from './aspects';
import { Construct } from 'constructs';
import type { AppConfig } from './config';
import { AccessLog } from './constructs/access-log';
import { JwksDiscovery } from './constructs/jwks-discovery';
import { JwtAuthorizer } from './constructs/jwt-authorizer';
import { AuthorizerCacheBump, REVOCATION_STAGE_VARIABLE } from './constructs/authorizer-cache-bump';
import { KeyAdmin } from './constructs/key-admin';
import { KeyRegistry } from './constructs/key-registry';
import { MoesifApplicationId } from './constructs/moesif-application-id';
import { MoesifForwarding } from './constructs/moesif-forwarding';
import { ProjectFunction } from './constructs/project-function';
import { SigningKey } from './constructs/signing-key';

export interface JwtApiStackProps extends StackProps {
  /** The validated configuration (see `loadConfig`). */
  readonly config: AppConfig;
}

/** An HTTP API whose every route needs a JWT API key, with the key issuer and discovery beside it. */
export class JwtApiStack extends Stack {
  public readonly api: HttpApi;
  public readonly stage: HttpStage;
  public readonly signingKey: SigningKey;
  public readonly accessLog: AccessLog;
  public readonly jwtAuthorizer: JwtAuthorizer;
  /** The key routes (POST /keys and the admin routes) and the one function that writes the registry. */
  public readonly keyAdmin: KeyAdmin;
  public readonly keyRegistry: KeyRegistry;
  /** Lambda mode: invalidates API Gateway's authorizer cache after a revocation. */
  public readonly cacheBump?: AuthorizerCacheBump;
  public readonly discovery: JwksDiscovery;
  /** The Moesif Application Id secret, when forwarding or governance is on. */
  public readonly moesifApplicationId?: MoesifApplicationId;
  public readonly moesifForwarding?: MoesifForwarding;

  constructor(scope: Construct, id: string, props: JwtApiStackProps) {
    super(scope, id, props);
    const { config } = props;
    for (const warning of config.warnings) Annotations.of(this).addWarningV2('jwt-api:config', warning);
    const logRetention = config.logRetentionDays as RetentionDays;
    this.complianceChoices(config);

    this.signingKey = new SigningKey(this, 'SigningKey', {
      algorithm: config.jwt.algorithm,
      existingSecretArn: config.signingSecretArn,
      rotationDays: config.keyRotationDays,
      maxLifetimeSeconds: config.jwt.expiresInSeconds,
      logRetention,
    });

    this.api = new HttpApi(this, 'Api', { description: 'HTTP API secured with JWT API keys', createDefaultStage: false });
    this.accessLog = new AccessLog(this, 'AccessLog', {
      mode: config.authorizer.mode,
      userIdField: config.jwt.userIdField,
      companyIdField: config.jwt.companyIdField,
      retention: logRetention,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: { destination: new LogGroupLogDestination(this.accessLog.logGroup), format: this.accessLog.format },
      // Caps what floods of junk tokens and the public discovery routes can cost (each may invoke a Lambda).
      throttle: { rateLimit: config.throttle.rateLimit, burstLimit: config.throttle.burstLimit },
      // In every Lambda authorizer cache key; it must exist from the start (see AuthorizerCacheBump).
      stageVariables: config.authorizer.mode === 'lambda' ? { [REVOCATION_STAGE_VARIABLE]: '0' } : undefined,
    });

    // No trailing slash: API Gateway compares `iss` with this exact string.
    const issuer = config.jwt.issuer ?? this.api.apiEndpoint;
    const jwtEnv: Record<string, string> = {
      JWT_ALGORITHM: config.jwt.algorithm,
      JWT_ISSUER: issuer,
      JWT_AUDIENCE: config.jwt.audience,
      JWT_USER_ID_FIELD: config.jwt.userIdField,
      JWT_COMPANY_ID_FIELD: config.jwt.companyIdField,
      JWT_EXPIRES_IN: String(config.jwt.expiresInSeconds),
      JWT_CLOCK_TOLERANCE_SECONDS: String(config.jwt.clockToleranceSeconds),
    };

    this.discovery = new JwksDiscovery(this, 'Discovery', { api: this.api, signingKey: this.signingKey, environment: jwtEnv, logRetention });
    const auth = config.authorizer;
    const trustedIssuersJson = JSON.stringify(config.trustedIssuers);
    this.keyRegistry = new KeyRegistry(this, 'KeyRegistry');
    // Its id stays "KeyIssuer" (what it was called when it only minted), so upgrading keeps the resources.
    this.keyAdmin = new KeyAdmin(this, 'KeyIssuer', {
      api: this.api,
      signingKey: this.signingKey,
      registry: this.keyRegistry,
      environment: {
        ...jwtEnv,
        ...(auth.mode === 'lambda' ? { REVOCATION_REFRESH_SECONDS: String(auth.revocationRefreshSeconds), ROUTE_RESTRICTED_PLANS: String(auth.routeRestrictedPlans) } : {}),
        // A client id must not equal a trusted issuer: its tokens would be sent to that issuer's keys.
        ...(config.trustedIssuers.length ? { TRUSTED_ISSUERS: trustedIssuersJson } : {}),
      },
      revocationEnforced: auth.mode === 'lambda',
      minterRoleArns: config.minterRoleArns,
      logRetention,
    });
    if (auth.mode === 'lambda' && auth.cacheTtlSeconds > 0) {
      this.cacheBump = new AuthorizerCacheBump(this, 'AuthorizerCacheBump', { api: this.api, stage: this.stage, logRetention, alarmTopic: this.alarmTopic(config) });
      this.cacheBump.bindSender(this.keyAdmin.function);
    }

    const governance = auth.mode === 'lambda' ? auth.moesifGovernance : 'off';
    if (config.moesif.enabled || governance !== 'off') {
      this.moesifApplicationId = new MoesifApplicationId(this, 'MoesifApplicationId', { existingSecretArn: config.moesif.applicationIdSecretArn });
    }
    const moesifEnv: Record<string, string> = this.moesifApplicationId
      ? { MOESIF_APPLICATION_ID_SECRET_ARN: this.moesifApplicationId.secret.secretArn, MOESIF_BASE_URL: config.moesif.baseUrl }
      : {};
    // Native mode with a trusted outside issuer: API Gateway trusts that one in place of this stack's keys.
    const nativeIssuer = config.trustedIssuers[0];
    this.jwtAuthorizer =
      auth.mode === 'native'
        ? new JwtAuthorizer(this, 'Authorizer', { mode: 'native', issuer: nativeIssuer?.issuer ?? issuer, audience: nativeIssuer ? [...nativeIssuer.audience] : config.jwt.audience })
        : new JwtAuthorizer(this, 'Authorizer', {
            mode: 'lambda',
            issuer,
            audience: config.jwt.audience,
            signingKey: this.signingKey,
            cacheTtlSeconds: auth.cacheTtlSeconds,
            // Plans that restrict routes need an answer per request (an answer is reused for every request with the
            // same identity sources): the route, and the method and path the plan's patterns are matched against.
            identitySource: [
              '$request.header.Authorization',
              `$stageVariables.${REVOCATION_STAGE_VARIABLE}`,
              ...(auth.routeRestrictedPlans ? ['$context.routeKey', '$context.httpMethod', '$context.path'] : []),
            ],
            environment: {
              ...jwtEnv,
              JWT_ACCEPT_PORTAL_TOKENS: String(auth.acceptPortalTokens),
              REVOCATION_REFRESH_SECONDS: String(auth.revocationRefreshSeconds),
              REVOCATION_FAIL_MODE: auth.revocationFailMode,
              CLIENT_TOKEN_MAX_LIFETIME_SECONDS: String(auth.clientTokenMaxLifetimeSeconds),
              ROUTE_RESTRICTED_PLANS: String(auth.routeRestrictedPlans),
              ...(config.trustedIssuers.length ? { TRUSTED_ISSUERS: trustedIssuersJson } : {}),
              // Governance can read request facts only when no answer is reused across requests.
              AUTHORIZER_CACHE_TTL_SECONDS: String(auth.cacheTtlSeconds),
              MOESIF_GOVERNANCE: governance,
              ...(governance !== 'off' ? { GOVERNANCE_MAX_STALE_SECONDS: String(auth.governanceMaxStaleSeconds) } : {}),
              ...(governance !== 'off' ? moesifEnv : {}),
            },
            logRetention,
          });
    if (governance !== 'off' && this.jwtAuthorizer.function) this.moesifApplicationId?.grantRead(this.jwtAuthorizer.function);
    if (this.jwtAuthorizer.function) this.keyRegistry.bindAuthorizer(this.jwtAuthorizer.function);

    if (config.moesif.enabled && this.moesifApplicationId) {
      this.moesifForwarding = new MoesifForwarding(this, 'MoesifForwarding', {
        accessLogGroup: this.accessLog.logGroup,
        applicationId: this.moesifApplicationId,
        baseUrl: config.moesif.baseUrl,
        logRetention,
        alarmTopic: this.alarmTopic(config),
      });
    }

    const backendRoutes = this.backendRoutes(config, logRetention);

    // Nothing that serves or checks a token goes live before the key exists; the authorizer itself
    // waits for discovery, so API Gateway never sees an issuer without a JWKS.
    for (const route of backendRoutes.concat(this.keyAdmin.routes, this.discovery.routes)) route.node.addDependency(this.signingKey.ready);
    // A function configured for a new algorithm goes live only once a key of that algorithm exists.
    for (const fn of [this.keyAdmin.function, this.discovery.function, this.jwtAuthorizer.function]) fn?.node.addDependency(this.signingKey.ready);
    const cfnAuthorizers = this.api.node.findAll().filter((c): c is CfnAuthorizer => c instanceof CfnAuthorizer);
    for (const a of cfnAuthorizers) a.node.addDependency(this.signingKey.ready, this.stage, ...this.discovery.routes);

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint, description: 'Base URL of the API' });
    new CfnOutput(this, 'Issuer', { value: issuer, description: 'iss of minted keys; discovery at <Issuer>/.well-known/openid-configuration' });
    new CfnOutput(this, 'SigningSecretArn', { value: this.signingKey.secret.secretArn, description: 'Secrets Manager secret holding the signing JWK Set' });
    new CfnOutput(this, 'PublicKeysSecretArn', { value: this.signingKey.publicKeys.secretArn, description: 'Public copy of the key set (npm run secret:import writes it too)' });
    new CfnOutput(this, 'MintPolicyArn', { value: this.keyAdmin.mintPolicy.managedPolicyArn, description: 'Attach to the portal backend role to allow POST /keys' });
    new CfnOutput(this, 'KeyAdminPolicyArn', { value: this.keyAdmin.adminPolicy.managedPolicyArn, description: 'Attach to a role to allow every key route: mint, list, revoke, roll, revocations' });
    new CfnOutput(this, 'KeyRegistryTableName', { value: this.keyRegistry.table.tableName, description: 'DynamoDB table of minted keys, revocations and watermarks' });
    new CfnOutput(this, 'AccessLogGroup', { value: this.accessLog.logGroup.logGroupName });
    if (this.moesifForwarding) {
      new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.moesifForwarding.deadLetterQueue.queueUrl, description: 'Moesif forwarder DLQ (npm run dlq:redrive -- --queue-url ...)' });
      new CfnOutput(this, 'ForwarderFunctionName', { value: this.moesifForwarding.function.functionName, description: 'Moesif forwarder (npm run dlq:redrive -- --function ...)' });
    }
    if (this.moesifApplicationId) {
      new CfnOutput(this, 'MoesifApplicationIdSecretArn', { value: this.moesifApplicationId.secret.secretArn, description: 'Put {"applicationId":"<your Moesif Application Id>"} here' });
    }
  }

  private topic?: ITopic;

  /** Where alarms notify: the configured SNS topic, else one the stack creates (an alarm nobody hears is no alarm). */
  private alarmTopic(config: AppConfig): ITopic {
    if (this.topic) return this.topic;
    if (config.alarmTopicArn) return (this.topic = Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn));
    const topic = new Topic(this, 'AlarmTopic', { displayName: 'JWT API alarms', enforceSSL: true });
    Validations.of(topic).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SNS2',
      reason: 'Alarm notifications carry no data, and CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key; subscribe to the AlarmTopicArn output.',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: topic.topicArn, description: 'SNS topic the alarms notify: subscribe an email or a chat hook' });
    return (this.topic = topic);
  }

  /**
   * Choices AWS Control Tower's proactive controls (cfn-guard, run at synth) ask about, fixed where the fix
   * is ours and acknowledged with the reason where it is the user's.
   */
  private complianceChoices(config: AppConfig): void {
    Aspects.of(this).add(new ServiceInvokeFromOwnAccount());
    if (Token.isUnresolved(this.account)) {
      Validations.of(this).acknowledge({
        id: 'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
        reason: 'Every service permission names SourceAccount = the deploying account (Ref AWS::AccountId) (CT.LAMBDA.PR.2); the static check reads only a literal, which it gets when the stack has an account in its env.',
      });
    }
    if (config.logsKmsKeyArn) {
      Aspects.of(this).add(new LogGroupEncryption(config.logsKmsKeyArn));
    } else {
      Validations.of(this).acknowledge({
        id: 'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check',
        reason: 'CloudWatch Logs encrypts every log group at rest with its own keys; a customer-managed key (CT.CLOUDWATCH.PR.3) is opt-in with -c logsKmsKeyArn=<key ARN>, since its key policy must admit the logs service.',
      });
    }
    if (config.logRetentionDays < 365) {
      Validations.of(this).acknowledge({
        id: 'cdk-validator-cfnguard::cloudwatch_log_group_retention_period_check',
        reason: `Logs are kept ${config.logRetentionDays} days (logRetentionDays). CT.CLOUDWATCH.PR.2 asks for 365: storage is $0.03 per GB-month, ~0.6 GB of access log per million calls, so a year of retention holds ~12x what 30 days holds. Set -c logRetentionDays=365 where an audit needs it.`,
      });
    }
    Validations.of(this).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
      reason: 'The functions reach only AWS APIs (Secrets Manager, DynamoDB, API Gateway) and Moesif over TLS; a VPC (CT.LAMBDA.PR.3) would add NAT or endpoint cost and cold-start time and protect nothing they hold.',
    });
  }

  /** The protected routes to the backend: the configured URL, or the echo function. */
  private backendRoutes(config: AppConfig, logRetention: RetentionDays): HttpRoute[] {
    const route = (id: string, routeKey: HttpRouteKey, integration: HttpRouteIntegration) =>
      new HttpRoute(this, id, { httpApi: this.api, routeKey, integration, authorizer: this.jwtAuthorizer.authorizer });
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
