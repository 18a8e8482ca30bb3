import { Duration } from 'aws-cdk-lib';
import type { HttpRouteAuthorizerBindOptions, HttpRouteAuthorizerConfig, IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer, HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct, type IDependable } from 'constructs';
import { ProjectFunction } from './project-function';
import type { SigningKey } from './signing-key';

interface CommonProps {
  /** `iss` every token must carry: this API's URL unless configured (native mode: or one trusted outside issuer). */
  readonly issuer: string;
  /** `aud` values a token may carry (one of them). */
  readonly audience: string | string[];
  /**
   * What API Gateway's authorizer must wait for (the key, discovery, the stage). It is created when the first
   * route uses it, so the dependencies are added then. @default none
   */
  readonly dependsOn?: IDependable[];
}

/** API Gateway's own JWT authorizer: RS256 keys found through `<issuer>/.well-known/openid-configuration`. */
export interface NativeJwtAuthorizerProps extends CommonProps {
  readonly mode: 'native';
}

/** The bundled Lambda authorizer: any supported algorithm, pinned by config. */
export interface LambdaJwtAuthorizerProps extends CommonProps {
  readonly mode: 'lambda';
  readonly signingKey: SigningKey;
  /** Environment of the authorizer function: the JWT_* settings it verifies with. */
  readonly environment: Record<string, string>;
  /** Seconds API Gateway caches an answer per identity source values. @default 300 */
  readonly cacheTtlSeconds?: number;
  /**
   * What API Gateway reads for the authorizer, and caches its answer under.
   * @default ['$request.header.Authorization']
   */
  readonly identitySource?: string[];
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

export type JwtAuthorizerProps = NativeJwtAuthorizerProps | LambdaJwtAuthorizerProps;

/**
 * Hands routes the real authorizer, and makes the API Gateway authorizer it creates on the first route wait
 * for what it needs: routes may be added long after this construct (a user's own routes).
 */
class DependentAuthorizer implements IHttpRouteAuthorizer {
  constructor(
    private readonly inner: IHttpRouteAuthorizer,
    private readonly id: string,
    private readonly dependencies: IDependable[],
  ) {}

  public bind(options: HttpRouteAuthorizerBindOptions): HttpRouteAuthorizerConfig {
    const config = this.inner.bind(options);
    options.scope.node.tryFindChild(this.id)?.node.addDependency(...this.dependencies);
    return config;
  }
}

/** The route authorizer every protected route uses, in the mode the config chose. */
export class JwtAuthorizer extends Construct {
  public readonly authorizer: IHttpRouteAuthorizer;
  /** The authorizer function (Lambda mode only). */
  public readonly function?: ProjectFunction;

  constructor(scope: Construct, id: string, props: JwtAuthorizerProps) {
    super(scope, id);
    if (props.mode === 'native') {
      const jwt = new HttpJwtAuthorizer('JwtAuthorizer', props.issuer, {
        jwtAudience: [props.audience].flat(),
        identitySource: ['$request.header.Authorization'],
      });
      this.authorizer = new DependentAuthorizer(jwt, 'JwtAuthorizer', props.dependsOn ?? []);
      return;
    }
    const fn = new ProjectFunction(this, 'Function', {
      entry: 'authorizer.ts',
      description: 'Verifies JWT API keys for the HTTP API (payload 2.0, simple responses)',
      environment: props.environment,
      timeout: Duration.seconds(5),
      logRetention: props.logRetention,
    });
    props.signingKey.bindVerifier(fn);
    this.function = fn;
    const lambda = new HttpLambdaAuthorizer('LambdaAuthorizer', fn, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: props.identitySource ?? ['$request.header.Authorization'],
      resultsCacheTtl: Duration.seconds(props.cacheTtlSeconds ?? 300),
    });
    this.authorizer = new DependentAuthorizer(lambda, 'LambdaAuthorizer', props.dependsOn ?? []);
  }
}
