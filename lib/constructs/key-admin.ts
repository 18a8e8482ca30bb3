import { Stack, Token, Validations } from 'aws-cdk-lib';
import { HttpMethod, HttpRoute, HttpRouteKey, type CfnApi, type HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Grant, ManagedPolicy, PolicyStatement, Role, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ADMIN_ROUTES } from '../../lambda/registry/routes';
import type { KeyRegistry } from './key-registry';
import { ProjectFunction } from './project-function';
import type { SigningKey } from './signing-key';

/**
 * The admin routes, all behind IAM authorization and served by one function: keys (POST /keys alone is what
 * the mint policy allows), revocations, client applications, plans and subscriptions. The list is the
 * handler's own (lambda/registry/routes.ts), so the two cannot drift apart.
 */
export const KEY_ROUTES: ReadonlyArray<{ method: HttpMethod; path: string }> = ADMIN_ROUTES.map(({ method, path }) => ({ method: HttpMethod[method], path }));

export interface KeyAdminProps {
  readonly api: HttpApi;
  readonly signingKey: SigningKey;
  readonly registry: KeyRegistry;
  /** Environment of the function: the JWT_* settings it mints with. */
  readonly environment: Record<string, string>;
  /**
   * Whether revocation is enforced (the Lambda authorizer); in native mode the revoke routes answer 409.
   * @default true
   */
  readonly revocationEnforced?: boolean;
  /**
   * IAM roles allowed to mint and administer keys (the portal backend). They get both policies attached, and
   * the function refuses any other caller even if IAM lets it through.
   * @default [] (any principal granted the policies)
   */
  readonly minterRoleArns?: string[];
  /** The stage callers reach the routes through (the route ARNs in the policies name it). @default '$default' */
  readonly stageName?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * The key routes: `POST /keys` mints a customer's API key and records it; the others list, show, revoke and
 * roll keys and set revocation watermarks (lambda/key-admin.ts). The one function that writes the registry.
 */
export class KeyAdmin extends Construct {
  public readonly function: ProjectFunction;
  public readonly routes: HttpRoute[];
  /** `POST /keys` only: attach to the portal backend's role to let it mint keys. */
  public readonly mintPolicy: ManagedPolicy;
  /** Every key route: minting, listing, revocation, rolling, watermarks. */
  public readonly adminPolicy: ManagedPolicy;
  private readonly mintArns: string[];
  private readonly adminArns: string[];

  constructor(scope: Construct, id: string, props: KeyAdminProps) {
    super(scope, id);
    const minters = props.minterRoleArns ?? [];
    const stageName = props.stageName ?? '$default';
    this.function = new ProjectFunction(this, 'Function', {
      entry: 'key-admin.ts',
      description: 'Mints JWT API keys (POST /keys) and administers them: list, revoke, roll, watermarks (IAM-authorized)',
      environment: { ...props.environment, KEY_MINTER_ROLE_ARNS: minters.join(','), REVOCATION_ENFORCED: String(props.revocationEnforced ?? true) },
      logRetention: props.logRetention,
    });
    props.signingKey.bindSigner(this.function);
    props.registry.bindWriter(this.function);

    const integration = new HttpLambdaIntegration('KeyAdmin', this.function);
    const authorizer = new HttpIamAuthorizer();
    // POST /keys keeps the id it had when this construct only minted: a new logical id would make
    // CloudFormation create a second "POST /keys" route before deleting the first, which API Gateway refuses.
    const routeId = (method: string, path: string) => (method === 'POST' && path === '/keys' ? 'Route' : `${method}${path.replace(/[^A-Za-z]/g, '')}`);
    this.routes = KEY_ROUTES.map(
      ({ method, path }) => new HttpRoute(this, routeId(method, path), { httpApi: props.api, routeKey: HttpRouteKey.with(path, method), integration, authorizer }),
    );

    const routeArn = (method: string, path: string) =>
      Stack.of(this).formatArn({ service: 'execute-api', resource: props.api.apiId, resourceName: `${stageName}/${method}${path.replace(/\{[^}]+\}/g, '*')}` });
    this.mintArns = [routeArn('POST', '/keys')];
    this.adminArns = KEY_ROUTES.map(({ method, path }) => routeArn(method, path));
    this.mintPolicy = new ManagedPolicy(this, 'MintPolicy', {
      description: 'Allows calling POST /keys on the JWT API to mint customer API keys',
      statements: [new PolicyStatement({ actions: ['execute-api:Invoke'], resources: this.mintArns })],
    });
    this.adminPolicy = new ManagedPolicy(this, 'AdminPolicy', {
      description: 'Allows every admin route of the JWT API: keys (mint, list, show, revoke, roll), revocation watermarks, applications, plans, subscriptions',
      statements: [new PolicyStatement({ actions: ['execute-api:Invoke'], resources: this.adminArns })],
    });
    // Route ARNs name a path parameter's segment with "*": that is the {keyId} (or {planId}, …) of one route, nothing wider.
    // cdk-nag names the resource as synthesized: a pseudo parameter, or its value when the stack's env knows it.
    const stack = Stack.of(this);
    const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
    const arnPrefix = `arn:${shown(stack.partition, 'Partition')}:execute-api:${shown(stack.region, 'Region')}:${shown(stack.account, 'AccountId')}`;
    const apiId = `<${stack.getLogicalId(props.api.node.defaultChild as CfnApi)}>`;
    for (const { method, path } of KEY_ROUTES.filter((r) => r.path.includes('{'))) {
      Validations.of(this.adminPolicy).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::${arnPrefix}:${apiId}/${stageName}/${method}${path.replace(/\{[^}]+\}/g, '*')}]`,
        reason: `Each "*" is a path parameter (${path.match(/\{[^}]+\}/g)!.join(', ')}) of ${method} ${path}: the policy allows that one route for any value, as an admin needs.`,
      });
    }
    const account = Stack.of(this).account;
    minters.forEach((arn, i) => {
      // IAM authorization admits only principals of the API's own account (HTTP APIs have no resource policy).
      if (!Token.isUnresolved(account) && arn.split(':')[4] !== account) {
        throw new Error(`Minter role ${arn} is not in account ${account}: the key routes use IAM authorization, which admits only roles of the API's account.`);
      }
      const role = Role.fromRoleArn(this, `Minter${i}`, arn);
      this.mintPolicy.attachToRole(role);
      this.adminPolicy.attachToRole(role);
    });
  }

  /** Lets a principal mint keys (the same permission as the mint policy). */
  public grantMint(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: this.mintArns });
  }

  /** Lets a principal call every admin route (the same permissions as the admin policy). */
  public grantAdmin(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: this.adminArns });
  }
}
