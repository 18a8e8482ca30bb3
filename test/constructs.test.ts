import { App, Stack } from 'aws-cdk-lib';
import { HttpApi, HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AccessLog, accessLogFields } from '../lib/constructs/access-log';
import { JwtAuthorizer } from '../lib/constructs/jwt-authorizer';
import { KeyAdmin } from '../lib/constructs/key-admin';
import { ROUTES as KEY_ADMIN_HANDLERS } from '../lambda/key-admin';
import { KeyRegistry } from '../lib/constructs/key-registry';
import { AuthorizerCacheBump, REVOCATION_STAGE_VARIABLE } from '../lib/constructs/authorizer-cache-bump';
import { MoesifApplicationId } from '../lib/constructs/moesif-application-id';
import { SigningKey } from '../lib/constructs/signing-key';

function stack(): Stack {
  return new Stack(new App(), 'Test');
}

const IMPORTED = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:portal-jwt-AbCdEf';

describe('SigningKey', () => {
  it('creates a retained secret, a key generator run at deploy time, and no rotation by default', () => {
    const s = stack();
    const key = new SigningKey(s, 'Key', { algorithm: 'EdDSA' });
    const t = Template.fromStack(s);
    t.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    t.hasResourceProperties('Custom::JwtSigningKey', { Algorithm: 'EdDSA' });
    t.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Generates and rotates'),
      MemorySize: 1024,
      Environment: { Variables: { JWT_ALGORITHM: 'EdDSA', JWT_EXPIRES_IN: '2592000', JWT_PUBLIC_KEYS_SECRET_ARN: { Ref: Match.stringLikeRegexp('^KeyPublicKeys') } } },
    });
    expect(key.keyFunction).toBeDefined();
  });

  it('only reads an imported secret: checked at deploy, never written, its public copy published', () => {
    const s = stack();
    const key = new SigningKey(s, 'Key', { algorithm: 'HS256', existingSecretArn: IMPORTED });
    const t = Template.fromStack(s);
    // The public copy is the one secret created; the custom resource checks the imported one.
    t.resourceCountIs('AWS::SecretsManager::Secret', 1);
    t.hasResourceProperties('Custom::JwtSigningKey', { SecretArn: IMPORTED, Imported: 'true' });
    t.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    expect(key.secret.secretArn).toBe(IMPORTED);
    const writes = Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }).Properties.PolicyDocument.Statement)
      .filter((st) => [st.Action].flat().includes('secretsmanager:PutSecretValue'))
      .flatMap((st) => [st.Resource].flat());
    expect(writes).not.toContain(IMPORTED);
    expect(writes).toEqual([{ Ref: expect.stringMatching(/^KeyPublicKeys/) }]);
  });

  it('rotates an imported secret when asked, granting the rotation function that secret only', () => {
    const s = stack();
    new SigningKey(s, 'Key', { algorithm: 'HS256', existingSecretArn: IMPORTED, rotationDays: 120 });
    const t = Template.fromStack(s);
    t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { SecretId: IMPORTED, RotationRules: { ScheduleExpression: 'rate(120 days)' } });
    t.hasResourceProperties('AWS::Lambda::Permission', { Principal: 'secretsmanager.amazonaws.com', Action: 'lambda:InvokeFunction' });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
            Effect: 'Allow',
            Resource: IMPORTED,
          },
        ]),
      },
    });
  });
});

describe('AccessLog', () => {
  it('writes JSON lines to a log group with the configured retention', () => {
    const s = stack();
    const log = new AccessLog(s, 'Log', { mode: 'lambda', userIdField: 'sub', companyIdField: 'org_id', retention: RetentionDays.ONE_YEAR });
    Template.fromStack(s).hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 365 }, DeletionPolicy: 'Retain' });
    expect(JSON.parse(log.format.toString())).toEqual(log.fields);
  });

  it('reads the caller from the JWT claims in native mode, configured claim names included', () => {
    expect(accessLogFields({ mode: 'native', userIdField: 'customer_id', companyIdField: 'tenant' })).toMatchObject({
      userId: '$context.authorizer.claims.customer_id',
      companyId: '$context.authorizer.claims.tenant',
      keyId: '$context.authorizer.claims.jti',
    });
  });
});

describe('JwtAuthorizer', () => {
  it('in native mode adds no function and binds a JWT authorizer with the issuer and audience', () => {
    const s = stack();
    const api = new HttpApi(s, 'Api');
    const auth = new JwtAuthorizer(s, 'Auth', { mode: 'native', issuer: 'https://issuer.example.com', audience: 'aud-1' });
    api.addRoutes({ path: '/x', integration: new HttpUrlIntegration('U', 'https://example.com'), authorizer: auth.authorizer });
    const t = Template.fromStack(s);
    t.resourceCountIs('AWS::Lambda::Function', 0);
    t.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerType: 'JWT', JwtConfiguration: { Issuer: 'https://issuer.example.com', Audience: ['aud-1'] } });
    expect(auth.function).toBeUndefined();
  });
});

describe('KeyAdmin', () => {
  function admin(s: Stack, extra: Partial<ConstructorParameters<typeof KeyAdmin>[2]> = {}) {
    const api = new HttpApi(s, 'Api');
    const key = new SigningKey(s, 'Key', { algorithm: 'HS256', existingSecretArn: IMPORTED });
    return new KeyAdmin(s, 'Admin', { api, signingKey: key, registry: new KeyRegistry(s, 'Registry'), environment: {}, ...extra });
  }

  // The routes the key-admin function answers: its own dispatch table.
  const ADMIN_ROUTES = Object.keys(KEY_ADMIN_HANDLERS);

  it('puts exactly the routes the function answers (keys, revocations, applications, plans, subscriptions) behind IAM on one function', () => {
    const s = stack();
    admin(s);
    const t = Template.fromStack(s);
    const routes = Object.values(t.findResources('AWS::ApiGatewayV2::Route')).map((r) => `${(r as { Properties: { RouteKey: string; AuthorizationType: string } }).Properties.RouteKey} ${(r as { Properties: { AuthorizationType: string } }).Properties.AuthorizationType}`);
    expect(routes.sort()).toEqual(ADMIN_ROUTES.map((r) => `${r} AWS_IAM`).sort());
    t.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
  });

  it('grantMint gives a principal execute-api:Invoke on POST /keys only; the admin policy covers every key route', () => {
    const s = stack();
    const keys = admin(s);
    const portal = new Role(s, 'Portal', { assumedBy: new AccountRootPrincipal() });
    keys.grantMint(portal);
    const t = Template.fromStack(s);
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Portal') }],
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'execute-api:Invoke', Resource: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('/POST/keys$')])] }) })] },
    });
    const adminPolicy = Object.values(t.findResources('AWS::IAM::ManagedPolicy')).find((p) => /every admin route/.test((p as { Properties: { Description: string } }).Properties.Description)) as { Properties: { PolicyDocument: { Statement: Array<{ Resource: unknown[] }> } } };
    const paths = adminPolicy.Properties.PolicyDocument.Statement[0].Resource.map((r) => JSON.stringify(r).match(/\$default\/([A-Z]+\/[^"]*)"/)?.[1]);
    expect(paths.sort()).toEqual(ADMIN_ROUTES.map((r) => r.replace(' ', '').replace(/\{[^}]+\}/g, '*')).sort());
  });

  it('tells the function whether revocation is enforced (not in native mode)', () => {
    const s = stack();
    admin(s, { revocationEnforced: false });
    Template.fromStack(s).hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ REVOCATION_ENFORCED: 'false', KEY_REGISTRY_TABLE: { Ref: Match.stringLikeRegexp('^RegistryTable') } }) } });
  });

  it('refuses a minter role from another account than the stack\'s', () => {
    const s = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
    const key = new SigningKey(s, 'Key', { algorithm: 'HS256', existingSecretArn: IMPORTED });
    expect(() => new KeyAdmin(s, 'Issuer', { api: new HttpApi(s, 'Api'), signingKey: key, registry: new KeyRegistry(s, 'Registry'), environment: {}, minterRoleArns: ['arn:aws:iam::222222222222:role/portal'] })).toThrow(
      /Minter role arn:aws:iam::222222222222:role\/portal is not in account 111111111111/,
    );
  });
});

describe('MoesifApplicationId', () => {
  it('creates a secret with an empty applicationId to fill in, or uses an existing one', () => {
    const s = stack();
    new MoesifApplicationId(s, 'New');
    const existing = new MoesifApplicationId(s, 'Existing', { existingSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:moesif' });
    const t = Template.fromStack(s);
    t.resourceCountIs('AWS::SecretsManager::Secret', 1);
    t.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"applicationId":""}' }) });
    expect(existing.secret.secretArn).toBe('arn:aws:secretsmanager:us-east-1:123456789012:secret:moesif');
  });
});

describe('KeyRegistry', () => {
  it('is an on-demand table with point-in-time recovery, deletion protection, KMS, a TTL, retained, and three indexes', () => {
    const s = stack();
    new KeyRegistry(s, 'Registry');
    const t = Template.fromStack(s);
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
        GlobalSecondaryIndexes: ['gsi1', 'gsi2', 'gsi3'].map((name) => Match.objectLike({ IndexName: name, Projection: { ProjectionType: 'ALL' } })),
      },
    });
  });
});

describe('AuthorizerCacheBump', () => {
  it('consumes a queue with a DLQ, one bump at a time, allowed to read and update this one stage only', () => {
    const s = stack();
    const api = new HttpApi(s, 'Api', { createDefaultStage: false });
    const stage = new HttpStage(s, 'Stage', { httpApi: api, stageName: '$default', stageVariables: { [REVOCATION_STAGE_VARIABLE]: '0' } });
    new AuthorizerCacheBump(s, 'Bump', { api, stage });
    const t = Template.fromStack(s);
    t.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('Bumps the revocationVersion'), ReservedConcurrentExecutions: 1 });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    t.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }) });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['apigateway:GET', 'apigateway:PATCH'], Resource: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('/stages/\\$default$')])] }) })]) },
    });
  });
});
