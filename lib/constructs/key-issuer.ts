import { Stack, Token } from 'aws-cdk-lib';
import { HttpMethod, HttpRoute, HttpRouteKey, type HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { ManagedPolicy, PolicyStatement, Role, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ProjectFunction } from './project-function';
import type { SigningKey } from './signing-key';

export interface KeyIssuerProps {
  readonly api: HttpApi;
  readonly signingKey: SigningKey;
  /** Environment of the issuing function: the JWT_* settings it mints with. */
  readonly environment: Record<string, string>;
  /**
   * IAM roles allowed to mint (the portal backend). They get the mint policy attached, and the
   * function refuses any other caller even if IAM lets it through.
   * @default [] (any principal granted the mint policy)
   */
  readonly minterRoleArns?: string[];
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/** `POST /keys` behind IAM authorization: mints a customer's API key. */
export class KeyIssuer extends Construct {
  public readonly function: ProjectFunction;
  public readonly route: HttpRoute;
  /** Attach to the portal backend's role to let it mint keys. */
  public readonly mintPolicy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: KeyIssuerProps) {
    super(scope, id);
    const minters = props.minterRoleArns ?? [];
    this.function = new ProjectFunction(this, 'Function', {
      entry: 'issue-key.ts',
      description: 'Mints JWT API keys for customers (POST /keys, IAM-authorized)',
      environment: { ...props.environment, KEY_MINTER_ROLE_ARNS: minters.join(',') },
      logRetention: props.logRetention,
    });
    props.signingKey.bindSigner(this.function);

    this.route = new HttpRoute(this, 'Route', {
      httpApi: props.api,
      routeKey: HttpRouteKey.with('/keys', HttpMethod.POST),
      integration: new HttpLambdaIntegration('IssueKey', this.function),
      authorizer: new HttpIamAuthorizer(),
    });

    this.mintPolicy = new ManagedPolicy(this, 'MintPolicy', {
      description: 'Allows calling POST /keys on the JWT API to mint customer API keys',
      statements: [
        new PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: [Stack.of(this).formatArn({ service: 'execute-api', resource: props.api.apiId, resourceName: '$default/POST/keys' })],
        }),
      ],
    });
    const account = Stack.of(this).account;
    minters.forEach((arn, i) => {
      // IAM authorization admits only principals of the API's own account (HTTP APIs have no resource policy).
      if (!Token.isUnresolved(account) && arn.split(':')[4] !== account) {
        throw new Error(`Minter role ${arn} is not in account ${account}: POST /keys uses IAM authorization, which admits only roles of the API's account.`);
      }
      this.mintPolicy.attachToRole(Role.fromRoleArn(this, `Minter${i}`, arn));
    });
  }

  /** Lets a principal mint keys (attaches the same permission as the mint policy). */
  public grantMint(grantee: IGrantable): void {
    this.route.grantInvoke(grantee);
  }
}
