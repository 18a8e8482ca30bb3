import { HttpMethod, HttpNoneAuthorizer, HttpRoute, HttpRouteKey, type HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Validations } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ProjectFunction } from './project-function';
import type { SigningKey } from './signing-key';

export const DISCOVERY_PATHS = ['/.well-known/openid-configuration', '/.well-known/jwks.json'] as const;

export interface JwksDiscoveryProps {
  readonly api: HttpApi;
  readonly signingKey: SigningKey;
  /** Environment of the discovery function: the JWT_* settings (issuer, algorithm, secret). */
  readonly environment: Record<string, string>;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * The two public routes API Gateway's JWT authorizer (and anyone verifying our keys) reads:
 * the OpenID configuration and the public JWK Set, served from the signing secret.
 */
export class JwksDiscovery extends Construct {
  public readonly function: ProjectFunction;
  public readonly routes: HttpRoute[];

  constructor(scope: Construct, id: string, props: JwksDiscoveryProps) {
    super(scope, id);
    this.function = new ProjectFunction(this, 'Function', {
      entry: 'discovery.ts',
      description: 'Serves /.well-known/openid-configuration and /.well-known/jwks.json',
      environment: props.environment,
      logRetention: props.logRetention,
    });
    // Only the public copy: this function answers a public route and never holds a private key.
    props.signingKey.bindPublicReader(this.function);
    const integration = new HttpLambdaIntegration('Discovery', this.function);
    this.routes = DISCOVERY_PATHS.map(
      (path, i) =>
        new HttpRoute(this, `Route${i}`, {
          httpApi: props.api,
          routeKey: HttpRouteKey.with(path, HttpMethod.GET),
          integration,
          authorizer: new HttpNoneAuthorizer(),
        }),
    );
    for (const route of this.routes) {
      Validations.of(route).acknowledge({
        id: 'cdk-validator-cfnguard::api_gw_v2_authorization_type_configured_check',
        reason: 'OpenID discovery and the JWKS are public by design (CT.APIGATEWAY.PR.5): verifiers, API Gateway itself among them, fetch them without credentials. They expose public keys only.',
      });
      Validations.of(route).acknowledge({
        id: 'AwsSolutions::AwsSolutions-APIG4',
        reason: 'OpenID discovery and the JWKS are public by design: verifiers (API Gateway itself) fetch them without credentials. They expose public keys only.',
      });
    }
  }
}
