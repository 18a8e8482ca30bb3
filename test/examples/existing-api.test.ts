/**
 * JwtApiKeys added to an app's own HTTP API (examples/existing-api.ts): the app's routes carry our authorizer,
 * nothing else of theirs changes but the stage (our access log and the cache's stage variable), our part passes
 * cdk-nag and the Control Tower rules, and bad props fail at synth the way bad `-c` settings do.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AccountPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { AwsSolutionsChecks } from 'cdk-nag';
import { existingApi, OrdersStack } from '../../examples/existing-api';
import { ConfigError, JwtApiKeys, type JwtApiKeysProps } from '../../lib';
import { CDK_CONTEXT, compliance } from '../support/synth';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: string[] }>;

function app(validate = false): App {
  const a = new App({ context: CDK_CONTEXT, builtinCloudFormationValidation: validate });
  if (validate) Validations.of(a).addPlugins(new AwsSolutionsChecks(a), new CfnGuardValidator());
  return a;
}

const ENV = { account: '123456789012', region: 'eu-west-1' };

describe('examples/existing-api.ts', () => {
  let withKeys: OrdersStack;
  let template: Template;
  let before: Resources;
  let after: Resources;

  beforeAll(() => {
    withKeys = new OrdersStack(app(), 'Orders', { env: ENV });
    template = Template.fromStack(withKeys);
    after = template.toJSON().Resources;
    const plain = new Stack(app(), 'Orders', { env: ENV });
    existingApi(plain);
    before = Template.fromStack(plain).toJSON().Resources;
  });

  it("puts the keys' authorizer on the app's own routes", () => {
    const routes = Object.values(after).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route' && /^GET \/orders/.test(String(r.Properties?.RouteKey)));
    expect(routes.map((r) => r.Properties?.RouteKey).sort()).toEqual(['GET /orders', 'GET /orders/{id}']);
    const [authorizerId] = Object.keys(template.findResources('AWS::ApiGatewayV2::Authorizer', { Properties: { AuthorizerType: 'REQUEST' } }));
    for (const route of routes) expect(route.Properties).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
    // API Gateway's authorizer is created on the first route, long after the construct: it still waits for the key and discovery.
    expect(after[authorizerId].DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^KeysSigningKeyFirstKey/), expect.stringMatching(/^KeysDiscoveryRoute0/), expect.stringMatching(/^OrdersApiDefaultStage/)]));
  });

  it('changes nothing else of the app: same resources, same properties, the stage gains only the access log and the cache variable', () => {
    for (const [id, resource] of Object.entries(before)) {
      expect({ id, type: after[id]?.Type }).toEqual({ id, type: resource.Type });
      if (resource.Type === 'AWS::ApiGatewayV2::Stage') {
        const { AccessLogSettings, StageVariables, ...rest } = after[id].Properties!;
        expect(rest).toEqual(resource.Properties);
        expect(AccessLogSettings).toMatchObject({ DestinationArn: { 'Fn::GetAtt': [expect.stringMatching(/^KeysAccessLogLogGroup/), 'Arn'] } });
        expect(StageVariables).toEqual({ revocationVersion: '0' });
      } else {
        // The portal role included: its mint grant is a policy of its own.
        expect({ id, properties: after[id].Properties }).toEqual({ id, properties: resource.Properties });
      }
    }
  });

  it('lets the portal role mint (POST /keys on the stage) and nothing else', () => {
    const policies = Object.entries(after).filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties).includes('PortalBackend'));
    expect(policies).toHaveLength(1);
    const [statement] = (policies[0][1].Properties as { PolicyDocument: { Statement: Array<{ Action: string; Resource: unknown[] }> } }).PolicyDocument.Statement;
    expect(statement.Action).toBe('execute-api:Invoke');
    // One route ARN: POST /keys on the stage.
    expect(JSON.stringify(statement.Resource)).toMatch(/^\{"Fn::Join":.*\/\$default\/POST\/keys"\]\]\}$/);
  });

  it('has the construct add no warning when every route of the app is protected', () => {
    expect(Annotations.fromStack(withKeys).findWarning('*', Match.stringLikeRegexp('jwt-api:unprotected-route'))).toEqual([]);
    expect(Annotations.fromStack(withKeys).findWarning('*', Match.anyValue())).toEqual([]);
  });

  it('passes cdk-nag and the Control Tower rules in everything the construct adds', () => {
    const a = app(true);
    new OrdersStack(a, 'Orders', { env: ENV });
    const findings = compliance({ app: a });
    // The example's own function and role are the app's business, not the construct's.
    const ours = (list: string[]) => list.filter((f) => f.includes('/Keys/'));
    // The report was read: the example's own inline function does have findings.
    expect(findings.open.AwsSolutions.length).toBeGreaterThan(0);
    expect(findings.acknowledged.AwsSolutions).toBeGreaterThan(0);
    expect({ nag: ours(findings.open.AwsSolutions), guard: ours(findings.open['cdk-validator-cfnguard']), cfn: findings.open['CloudFormation Validate'] }).toEqual({ nag: [], guard: [], cfn: [] });
  });
});

describe('JwtApiKeys on any HTTP API', () => {
  function build(props: Partial<JwtApiKeysProps> & { stageName?: string } = {}, setup?: (stack: Stack, api: HttpApi) => Partial<JwtApiKeysProps>) {
    const stack = new Stack(app(), 'App', { env: ENV });
    const api = new HttpApi(stack, 'Api', { createDefaultStage: props.stageName === undefined });
    const extra = setup?.(stack, api) ?? {};
    const { stageName, ...rest } = props;
    const stage = stageName ? new HttpStage(stack, 'Stage', { httpApi: api, stageName, autoDeploy: true }) : undefined;
    const keys = new JwtApiKeys(stack, 'Keys', { httpApi: api, stage, ...rest, ...extra });
    return { stack, api, keys };
  }

  it('on a named stage: the issuer is the stage URL, and the policies name that stage', () => {
    const { stack, keys } = build({ stageName: 'prod' });
    const template = Template.fromStack(stack);
    expect(stack.resolve(keys.issuer)).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Api/), 'ApiEndpoint'] }, '/prod']] });
    const mint = Object.values(template.findResources('AWS::IAM::ManagedPolicy', { Properties: { Description: Match.stringLikeRegexp('POST /keys') } }));
    expect(JSON.stringify(mint)).toMatch(/\/prod\/POST\/keys"/);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: 'prod', StageVariables: { revocationVersion: '0' } });
  });

  it('warns at synth about a route of the API that has no authorizer', () => {
    const { stack, api } = build();
    api.addRoutes({ path: '/open', methods: [HttpMethod.GET], integration: new HttpUrlIntegration('Open', 'https://example.com') });
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('Route "GET /open" has no authorizer'));
    expect(warnings).toHaveLength(1);
  });

  it('takes settings as typed props, checked by the same validator as -c settings', () => {
    const { stack, api, keys } = build({ authorizer: 'lambda', jwtAlgorithm: 'ES256', jwtExpiresIn: '7d', authorizerCacheTtlSeconds: 60, minterRoleArns: ['arn:aws:iam::123456789012:role/portal'], trustedIssuers: [{ issuer: 'https://idp.example.com/', audience: 'orders' }] });
    api.addRoutes({ path: '/orders', methods: [HttpMethod.GET], integration: new HttpUrlIntegration('Orders', 'https://example.com'), authorizer: keys.authorizer });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Verifies JWT API keys'),
      Environment: { Variables: Match.objectLike({ JWT_ALGORITHM: 'ES256', JWT_EXPIRES_IN: String(7 * 86400), TRUSTED_ISSUERS: Match.stringLikeRegexp('idp.example.com') }) },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerResultTtlInSeconds: 60 });
  });

  it.each<[string, Partial<JwtApiKeysProps>, RegExp]>([
    ['an algorithm native mode cannot verify', { authorizer: 'native', jwtAlgorithm: 'ES256' }, /^props\.jwtAlgorithm is "ES256" but authorizer is "native".*Set the prop jwtAlgorithm to RS256, or use authorizer: 'lambda'\.$/],
    ['a value out of range', { authorizerCacheTtlSeconds: 7200 }, /^props\.authorizerCacheTtlSeconds is "7200": it must be a whole number from 0 to 3600/],
    ['a setting of the standalone app only', { backendUrl: 'https://example.com' } as Partial<JwtApiKeysProps>, /^props\.backendUrl is a setting of the standalone app only/],
    ['a misspelt setting', { jwtAlgoritm: 'RS256' } as Partial<JwtApiKeysProps>, /^props\.jwtAlgoritm is not a setting of JwtApiKeys/],
    ['a partial secret ARN', { signingSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt' }, /^props\.signingSecretArn is ".*": that is a partial ARN/],
    ['minter roles of another account', { minterRoleArns: ['arn:aws:iam::999999999999:role/portal'] }, /names roles of account 999999999999, but the stack deploys to 123456789012/],
  ])('refuses %s at synth, naming the prop and the fix', (_case, props, message) => {
    expect(() => build(props)).toThrow(ConfigError);
    expect(() => build(props)).toThrow(message);
  });

  it('refuses a stage it cannot configure: none, one of another API, or one whose own access log Moesif cannot read', () => {
    const noStage = new Stack(app(), 'A');
    expect(() => new JwtApiKeys(noStage, 'Keys', { httpApi: new HttpApi(noStage, 'Api', { createDefaultStage: false }) })).toThrow(/has no default stage/);

    const other = new Stack(app(), 'B');
    const one = new HttpApi(other, 'One');
    const two = new HttpApi(other, 'Two');
    expect(() => new JwtApiKeys(other, 'Keys', { httpApi: one, stage: two.defaultStage as HttpStage })).toThrow(/belongs to another API/);

    const logged = new Stack(app(), 'C');
    const api = new HttpApi(logged, 'Api', { createDefaultStage: false });
    const stage = new HttpStage(logged, 'Stage', { httpApi: api, stageName: '$default', accessLogSettings: { destination: new LogGroupLogDestination(new LogGroup(logged, 'Mine')) } });
    expect(() => new JwtApiKeys(logged, 'Keys', { httpApi: api, stage })).toThrow(/writes its own access log.*set moesifForwarding: false to keep yours/);
    expect(() => new JwtApiKeys(logged, 'Keys2', { httpApi: api, stage, moesifForwarding: false })).not.toThrow();
  });

  it('grants minting and administration to any principal', () => {
    const { stack, keys } = build();
    const role = new Role(stack, 'Ops', { assumedBy: new AccountPrincipal('123456789012') });
    keys.grantAdmin(role);
    const [policy] = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Ops') }] } }));
    const resources = (policy.Properties.PolicyDocument.Statement[0].Resource as unknown[]).map((r) => JSON.stringify(r));
    expect(resources.length).toBeGreaterThan(10);
    expect(resources.some((r) => r.includes('/$default/DELETE/keys/*'))).toBe(true);
  });
});
