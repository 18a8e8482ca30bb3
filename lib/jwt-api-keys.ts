import { Annotations, Aspects, Stack, Token, type IAspect } from 'aws-cdk-lib';
import { CfnRoute, CfnStage, HttpStage, type HttpApi, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic, type ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct, type IConstruct } from 'constructs';
import { complianceChoices } from './compliance';
import { ConfigError, configFromProps, type AppConfig } from './config';
import { AccessLog } from './constructs/access-log';
import { AuthorizerCacheBump, REVOCATION_STAGE_VARIABLE } from './constructs/authorizer-cache-bump';
import { Dashboard } from './constructs/dashboard';
import { JwksDiscovery } from './constructs/jwks-discovery';
import { JwtAuthorizer } from './constructs/jwt-authorizer';
import { KeyAdmin } from './constructs/key-admin';
import { KeyRegistry } from './constructs/key-registry';
import { MoesifApplicationId } from './constructs/moesif-application-id';
import { MoesifForwarding } from './constructs/moesif-forwarding';
import { SigningKey } from './constructs/signing-key';
import type { JwtApiKeysSettings } from './jwt-api-keys-settings';

export interface JwtApiKeysProps extends JwtApiKeysSettings {
  /**
   * The HTTP API whose routes the keys protect. The construct adds its own routes to it: `POST /keys` and the
   * other key, application, plan and subscription routes (IAM authorization), and the public
   * `GET /.well-known/openid-configuration` and `GET /.well-known/jwks.json`.
   */
  readonly httpApi: HttpApi;
  /**
   * The stage callers use. The construct writes its access log (the caller's user and company on every
   * line, what the Moesif forwarder reads) and, in Lambda mode, the `revocationVersion` variable the
   * authorizer's cache is keyed on.
   * @default the API's default stage
   */
  readonly stage?: HttpStage;
  /** A CloudWatch dashboard of the keys and the API, and alarms on authorizer errors and a rise of refusals. @default true */
  readonly dashboard?: boolean;
  /** CloudWatch namespace of the functions' embedded metrics. @default `JwtApi/<stack name>` */
  readonly metricsNamespace?: string;
  /**
   * A configuration `loadConfig` validated already (the standalone app's front door: cdk context and the
   * environment). When given, the setting props must be left out.
   * @default the setting props, validated here
   */
  readonly config?: AppConfig;
}

/** Props of the construct itself, not settings. */
const OWN_PROPS = ['httpApi', 'stage', 'dashboard', 'metricsNamespace', 'config'];

/**
 * JWT API keys on an existing HTTP API: the signing key (created and rotated inside AWS), `POST /keys` and the
 * admin routes, discovery and JWKS, the key registry (list, revoke, roll), the authorizer for your routes, the
 * access log to Moesif, and a dashboard.
 *
 *   const keys = new JwtApiKeys(this, 'Keys', { httpApi });
 *   httpApi.addRoutes({ path: '/orders', methods: [HttpMethod.GET], integration, authorizer: keys.authorizer });
 *   keys.grantMint(portalBackendRole);
 */
export class JwtApiKeys extends Construct {
  /** The validated settings. */
  public readonly config: AppConfig;
  /** Give this to your routes (`authorizer: keys.authorizer`). */
  public readonly authorizer: IHttpRouteAuthorizer;
  /** `iss` of the keys: the stage's URL unless `jwtIssuer` is set. */
  public readonly issuer: string;
  public readonly stage: HttpStage;
  public readonly signingKey: SigningKey;
  /** The stage's access log; absent when you keep your own (possible only without Moesif forwarding). */
  public readonly accessLog?: AccessLog;
  public readonly jwtAuthorizer: JwtAuthorizer;
  /** The key routes (POST /keys and the admin routes) and the one function that writes the registry. */
  public readonly keyAdmin: KeyAdmin;
  public readonly keyRegistry: KeyRegistry;
  /** Lambda mode with an authorizer cache: invalidates API Gateway's cache after a revocation. */
  public readonly cacheBump?: AuthorizerCacheBump;
  public readonly discovery: JwksDiscovery;
  /** The Moesif Application Id secret, when forwarding or governance is on. */
  public readonly moesifApplicationId?: MoesifApplicationId;
  public readonly moesifForwarding?: MoesifForwarding;
  public readonly dashboard?: Dashboard;
  /** Where the alarms notify: `alarmTopicArn`, else a topic created here (`alarmTopicCreated`). */
  public readonly alarmTopic: ITopic;
  public readonly alarmTopicCreated: boolean;

  constructor(scope: Construct, id: string, props: JwtApiKeysProps) {
    super(scope, id);
    const config = this.validate(props);
    this.config = config;
    for (const warning of config.warnings) Annotations.of(this).addWarningV2('jwt-api:config', warning);
    const logRetention = config.logRetentionDays as RetentionDays;
    complianceChoices(this, config);
    const api = props.httpApi;
    this.stage = stageOf(props);
    const stageName = this.stage.stageName;
    const auth = config.authorizer;

    if (config.alarmTopicArn) {
      this.alarmTopic = Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn);
      this.alarmTopicCreated = false;
    } else {
      const topic = new Topic(this, 'AlarmTopic', { displayName: 'JWT API alarms', enforceSSL: true });
      this.alarmTopic = topic;
      this.alarmTopicCreated = true;
    }

    this.signingKey = new SigningKey(this, 'SigningKey', {
      algorithm: config.jwt.algorithm,
      existingSecretArn: config.signingSecretArn,
      rotationDays: config.keyRotationDays,
      maxLifetimeSeconds: config.jwt.expiresInSeconds,
      logRetention,
    });
    this.accessLog = this.writeAccessLog(config, logRetention);
    if (auth.mode === 'lambda') this.addStageVariable(REVOCATION_STAGE_VARIABLE, '0');

    // No trailing slash: API Gateway compares `iss` with this exact string.
    this.issuer = config.jwt.issuer ?? (stageName === '$default' ? api.apiEndpoint : `${api.apiEndpoint}/${stageName}`);
    const jwtEnv: Record<string, string> = {
      JWT_ALGORITHM: config.jwt.algorithm,
      JWT_ISSUER: this.issuer,
      JWT_AUDIENCE: config.jwt.audience,
      JWT_USER_ID_FIELD: config.jwt.userIdField,
      JWT_COMPANY_ID_FIELD: config.jwt.companyIdField,
      JWT_EXPIRES_IN: String(config.jwt.expiresInSeconds),
      JWT_CLOCK_TOLERANCE_SECONDS: String(config.jwt.clockToleranceSeconds),
    };

    this.discovery = new JwksDiscovery(this, 'Discovery', { api, signingKey: this.signingKey, environment: jwtEnv, logRetention });
    const trustedIssuersJson = JSON.stringify(config.trustedIssuers);
    this.keyRegistry = new KeyRegistry(this, 'KeyRegistry');
    // Its id stays "KeyIssuer" (what it was called when it only minted), so upgrading keeps the resources.
    this.keyAdmin = new KeyAdmin(this, 'KeyIssuer', {
      api,
      stageName,
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
      this.cacheBump = new AuthorizerCacheBump(this, 'AuthorizerCacheBump', { api, stage: this.stage, logRetention, alarmTopic: this.alarmTopic });
      this.cacheBump.bindSender(this.keyAdmin.function);
    }

    const governance = auth.mode === 'lambda' ? auth.moesifGovernance : 'off';
    if (config.moesif.enabled || governance !== 'off') {
      this.moesifApplicationId = new MoesifApplicationId(this, 'MoesifApplicationId', { existingSecretArn: config.moesif.applicationIdSecretArn });
    }
    const moesifEnv: Record<string, string> = this.moesifApplicationId
      ? { MOESIF_APPLICATION_ID_SECRET_ARN: this.moesifApplicationId.secret.secretArn, MOESIF_BASE_URL: config.moesif.baseUrl }
      : {};
    // API Gateway's authorizer waits for the key and the discovery routes (a JWT authorizer reads the issuer's
    // JWKS), and for the stage that serves them.
    const dependsOn = [this.signingKey.ready, this.stage, ...this.discovery.routes];
    // Native mode with a trusted outside issuer: API Gateway trusts that one in place of this stack's keys.
    const nativeIssuer = config.trustedIssuers[0];
    this.jwtAuthorizer =
      auth.mode === 'native'
        ? new JwtAuthorizer(this, 'Authorizer', { mode: 'native', issuer: nativeIssuer?.issuer ?? this.issuer, audience: nativeIssuer ? [...nativeIssuer.audience] : config.jwt.audience, dependsOn })
        : new JwtAuthorizer(this, 'Authorizer', {
            mode: 'lambda',
            issuer: this.issuer,
            audience: config.jwt.audience,
            signingKey: this.signingKey,
            cacheTtlSeconds: auth.cacheTtlSeconds,
            dependsOn,
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
    this.authorizer = this.jwtAuthorizer.authorizer;
    if (governance !== 'off' && this.jwtAuthorizer.function) this.moesifApplicationId?.grantRead(this.jwtAuthorizer.function);
    if (this.jwtAuthorizer.function) this.keyRegistry.bindAuthorizer(this.jwtAuthorizer.function);

    if (config.moesif.enabled && this.moesifApplicationId && this.accessLog) {
      this.moesifForwarding = new MoesifForwarding(this, 'MoesifForwarding', {
        accessLogGroup: this.accessLog.logGroup,
        applicationId: this.moesifApplicationId,
        baseUrl: config.moesif.baseUrl,
        logRetention,
        alarmTopic: this.alarmTopic,
      });
    }

    // Nothing that serves or checks a token goes live before the key exists.
    for (const route of [...this.keyAdmin.routes, ...this.discovery.routes]) route.node.addDependency(this.signingKey.ready);
    // A function configured for a new algorithm goes live only once a key of that algorithm exists.
    for (const fn of [this.keyAdmin.function, this.discovery.function, this.jwtAuthorizer.function]) fn?.node.addDependency(this.signingKey.ready);

    const namespace = props.metricsNamespace ?? `JwtApi/${Stack.of(this).stackName}`;
    for (const fn of [this.jwtAuthorizer.function, this.keyAdmin.function, this.moesifForwarding?.function]) fn?.addEnvironment('METRICS_NAMESPACE', namespace);
    if (props.dashboard ?? true) {
      this.dashboard = new Dashboard(this, 'Dashboard', {
        namespace,
        api,
        stageName,
        authorizer: this.jwtAuthorizer.function,
        keyAdmin: this.keyAdmin.function,
        forwarder: this.moesifForwarding,
        alarmTopic: this.alarmTopic,
      });
    }
    Aspects.of(api).add(new UnprotectedRouteWarning(new Set(this.discovery.routes.map((r) => r.node.defaultChild as CfnRoute))));
  }

  /** Lets a principal mint keys: `POST /keys` (the mint policy's one permission). */
  public grantMint(grantee: IGrantable): Grant {
    return this.keyAdmin.grantMint(grantee);
  }

  /** Lets a principal call every admin route: keys, revocations, applications, plans, subscriptions. */
  public grantAdmin(grantee: IGrantable): Grant {
    return this.keyAdmin.grantAdmin(grantee);
  }

  private validate(props: JwtApiKeysProps): AppConfig {
    const settings = Object.fromEntries(Object.entries(props).filter(([k]) => !OWN_PROPS.includes(k)));
    const account = Stack.of(this).account;
    if (props.config) {
      const given = Object.keys(settings).filter((k) => settings[k] !== undefined);
      if (given.length) throw new ConfigError(`JwtApiKeys got both config and setting props (${given.join(', ')}): put the settings in one place.`);
      return props.config;
    }
    return configFromProps(settings, { account: Token.isUnresolved(account) ? undefined : account });
  }

  private cfnStage(): CfnStage {
    return this.stage.node.defaultChild as CfnStage;
  }

  /** Our JSON access log on the stage: refused when the stage has its own and Moesif needs ours. */
  private writeAccessLog(config: AppConfig, retention: RetentionDays): AccessLog | undefined {
    const cfn = this.cfnStage();
    if (cfn.accessLogSettings) {
      if (config.moesif.enabled) {
        throw new ConfigError(
          `The stage "${this.stage.stageName}" writes its own access log, but JwtApiKeys writes the stage's access log in the JSON format the Moesif forwarder reads (the caller's user and company on every line). ` +
            'Remove accessLogSettings from the stage, or set moesifForwarding: false to keep yours.',
        );
      }
      return undefined;
    }
    // Native mode with an outside issuer: API Gateway passes on that issuer's claims, so its names are read.
    const nativeIssuer = config.authorizer.mode === 'native' ? config.trustedIssuers[0] : undefined;
    const log = new AccessLog(this, 'AccessLog', {
      mode: config.authorizer.mode,
      userIdField: nativeIssuer?.userIdClaim ?? config.jwt.userIdField,
      companyIdField: nativeIssuer?.companyIdClaim ?? config.jwt.companyIdField,
      retention,
    });
    cfn.accessLogSettings = { destinationArn: log.logGroup.logGroupArn, format: log.format.toString() };
    return log;
  }

  private addStageVariable(name: string, value: string): void {
    // HttpStage keeps its variables in a private record it renders lazily: read it to refuse a clash.
    const existing = (this.stage as unknown as { stageVariables?: Record<string, string> }).stageVariables ?? {};
    if (name in existing && existing[name] !== value) {
      throw new ConfigError(`The stage "${this.stage.stageName}" sets the stage variable ${name}, which JwtApiKeys owns (a revocation changes it to invalidate the authorizer cache). Remove it from the stage.`);
    }
    this.stage.addStageVariable(name, value);
  }
}

/** The stage given, else the API's default stage; a stage this construct can configure. */
function stageOf(props: JwtApiKeysProps): HttpStage {
  const stage = props.stage ?? props.httpApi.defaultStage;
  if (!stage) {
    throw new ConfigError('The HTTP API has no default stage (createDefaultStage: false): pass the stage callers use as the stage prop of JwtApiKeys.');
  }
  if (!(stage instanceof HttpStage)) throw new ConfigError('The stage must be an HttpStage of this app (not an imported one): JwtApiKeys writes its access log and variables.');
  if (stage.api !== props.httpApi) throw new ConfigError(`The stage "${stage.stageName}" belongs to another API than httpApi: pass a stage of httpApi.`);
  return stage;
}

/** Says so at synth when a route of the API can be called without any authorization (secure by default). */
class UnprotectedRouteWarning implements IAspect {
  constructor(private readonly publicByDesign: Set<CfnRoute>) {}

  public visit(node: IConstruct): void {
    if (!(node instanceof CfnRoute) || this.publicByDesign.has(node)) return;
    if (node.authorizationType === undefined || node.authorizationType === 'NONE') {
      Annotations.of(node).addWarningV2(
        'jwt-api:unprotected-route',
        `Route "${node.routeKey}" has no authorizer: anyone can call it. Pass authorizer: keys.authorizer (the JwtApiKeys construct) to it, or acknowledge this warning if it is public on purpose.`,
      );
    }
  }
}
