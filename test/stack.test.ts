import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { compliance, normalizeTemplate, synth, type Synthesized } from './support/synth';

// Synthesizing bundles every function with esbuild: one stack per mode for the whole file.
let lambdaMode: Synthesized;
let nativeMode: Synthesized;
beforeAll(() => {
  lambdaMode = synth({ authorizer: 'lambda', jwtAlgorithm: 'ES256' }, {}, { validate: true });
  nativeMode = synth({ authorizer: 'native', jwtAlgorithm: 'RS256', jwtExpiresIn: '1d' }, {}, { validate: true });
});

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[]; DeletionPolicy?: string };
function resources(s: Synthesized, type: string): Record<string, Resource> {
  return s.template.findResources(type) as Record<string, Resource>;
}
function logicalIdOf(s: Synthesized, type: string, match: (r: Resource) => boolean): string {
  const found = Object.entries(resources(s, type)).filter(([, r]) => match(r));
  expect(found).toHaveLength(1);
  return found[0][0];
}

describe.each([
  ['lambda', () => lambdaMode],
  ['native', () => nativeMode],
])('%s mode', (mode, get) => {
  it('requires authorization on every route but the two public discovery routes', () => {
    const routes = Object.values(resources(get(), 'AWS::ApiGatewayV2::Route')).map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType]);
    const open = routes.filter(([, auth]) => auth === undefined || auth === 'NONE').map(([key]) => key).sort();
    expect(open).toEqual(['GET /.well-known/jwks.json', 'GET /.well-known/openid-configuration']);
    expect(routes).toEqual(expect.arrayContaining([['POST /keys', 'AWS_IAM'], ['$default', mode === 'native' ? 'JWT' : 'CUSTOM']]));
  });

  it('deploys a $default stage with JSON access logs carrying the caller identity', () => {
    const [stage] = Object.values(resources(get(), 'AWS::ApiGatewayV2::Stage'));
    expect(stage.Properties).toMatchObject({ StageName: '$default', AutoDeploy: true, DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 } });
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    const identity = mode === 'native'
      ? { userId: '$context.authorizer.claims.sub', companyId: '$context.authorizer.claims.org_id', keyId: '$context.authorizer.claims.jti' }
      : { userId: '$context.authorizer.userId', companyId: '$context.authorizer.companyId', keyId: '$context.authorizer.keyId' };
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      requestTime: '$context.requestTime',
      httpMethod: '$context.httpMethod',
      routeKey: '$context.routeKey',
      path: '$context.path',
      status: '$context.status',
      protocol: '$context.protocol',
      responseLength: '$context.responseLength',
      responseLatency: '$context.responseLatency',
      integrationLatency: '$context.integrationLatency',
      userAgent: '$context.identity.userAgent',
      authorizerError: '$context.authorizer.error',
      ...identity,
    });
    for (const value of Object.values(format)) expect(value).toMatch(/^\$context\.[A-Za-z_.]+$/);
    const destination = stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
    expect(get().template.toJSON().Resources[destination]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
  });

  it('keeps key material out of the template and generates it at deploy time', () => {
    const json = JSON.stringify(get().template.toJSON());
    expect(json).not.toMatch(/PRIVATE KEY|"kty"/);
    const secrets = Object.entries(resources(get(), 'AWS::SecretsManager::Secret'));
    const [secretId, secret] = secrets.find(([id]) => id.startsWith('SigningKeySecret'))!;
    const [publicId, publicCopy] = secrets.find(([id]) => id.startsWith('SigningKeyPublicKeys'))!;
    expect(secret.DeletionPolicy).toBe('Retain');
    expect(secret.Properties.GenerateSecretString).toEqual({ SecretStringTemplate: '{"keys":[]}', GenerateStringKey: 'placeholder', ExcludePunctuation: true });
    // The only literal secret value: the public copy's empty set, until the key function writes it.
    expect(publicCopy.Properties.SecretString).toBe('{"keys":[]}');
    expect(secret.Properties.Tags).toEqual([{ Key: 'jwt-api:public-keys-secret', Value: { Ref: publicId } }]);
    get().template.hasResourceProperties('Custom::JwtSigningKey', {
      SecretArn: { Ref: secretId },
      PublicKeysSecretArn: { Ref: publicId },
      Algorithm: mode === 'native' ? 'RS256' : 'ES256',
      MaxLifetimeSeconds: mode === 'native' ? '86400' : '2592000',
      Imported: 'false',
    });
    get().template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: secretId },
      RotateImmediatelyOnUpdate: false,
      RotationRules: { ScheduleExpression: 'rate(90 days)' },
    });
    const [schedule] = Object.values(resources(get(), 'AWS::SecretsManager::RotationSchedule'));
    expect(schedule.DependsOn).toEqual(expect.arrayContaining([logicalIdOf(get(), 'Custom::JwtSigningKey', () => true)]));
  });

  it('lets only the key function write the key sets, and only the issuer (and key function) read private keys', () => {
    const policies = Object.entries(resources(get(), 'AWS::IAM::Policy'));
    const writers = policies.filter(([, p]) => JSON.stringify(p.Properties.PolicyDocument).includes('secretsmanager:PutSecretValue')).map(([id]) => id);
    expect(writers).toEqual([expect.stringMatching(/^SigningKeyKeyFunctionRole/)]);
    const readersOf = (secret: string) =>
      policies
        .filter(([, p]) =>
          p.Properties.PolicyDocument.Statement.some(
            (st: { Action: string | string[]; Resource: unknown }) => [st.Action].flat().includes('secretsmanager:GetSecretValue') && JSON.stringify(st.Resource).includes(secret),
          ),
        )
        .map(([id]) => id.replace(/(Function)?Role.*$/, ''))
        .sort();
    // The functions behind public routes (discovery, and the ES256 authorizer) hold no private key.
    expect(readersOf('SigningKeySecret')).toEqual(['KeyIssuer', 'SigningKeyKey']);
    expect(readersOf('SigningKeyPublicKeys')).toEqual(['Discovery', 'SigningKeyKey', ...(mode === 'lambda' ? ['Authorizer'] : [])].sort());
    for (const [, p] of policies) {
      for (const statement of p.Properties.PolicyDocument.Statement) {
        if ([statement.Action].flat().includes('secretsmanager:GetSecretValue')) {
          // Exact secret ARNs, never a wildcard (the key function's statement names both key sets).
          for (const resource of [statement.Resource].flat()) expect(resource).toEqual({ Ref: expect.stringMatching(/^(SigningKeySecret|SigningKeyPublicKeys|MoesifApplicationIdSecret)/) });
        }
      }
    }
  });

  it('names the own account as the source of every service permission (confused deputy)', () => {
    const permissions = Object.values(resources(get(), 'AWS::Lambda::Permission'));
    expect(permissions.length).toBeGreaterThan(3);
    for (const permission of permissions) expect(permission.Properties.SourceAccount).toEqual({ Ref: 'AWS::AccountId' });
  });

  it('puts POST /keys behind IAM with a mint policy scoped to that one route', () => {
    get().template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          {
            Action: 'execute-api:Invoke',
            Effect: 'Allow',
            Resource: { 'Fn::Join': ['', Match.arrayWith([':execute-api:', { Ref: Match.stringLikeRegexp('^Api') }, '/$default/POST/keys'])] },
          },
        ],
      },
    });
  });

  it('starts the functions that read the key only after the key exists', () => {
    const key = logicalIdOf(get(), 'Custom::JwtSigningKey', () => true);
    const fns = Object.values(resources(get(), 'AWS::Lambda::Function')).filter((f) => /Mints|Serves|Verifies/.test(f.Properties.Description ?? ''));
    expect(fns).toHaveLength(mode === 'lambda' ? 3 : 2);
    for (const fn of fns) expect(fn.DependsOn).toEqual(expect.arrayContaining([key]));
  });

  it('names its outputs plainly, for scripts and the README', () => {
    expect(Object.keys(get().template.toJSON().Outputs).sort()).toEqual(
      ['AccessLogGroup', 'AlarmTopicArn', 'ApiUrl', 'DashboardUrl', 'DeadLetterQueueUrl', 'ForwarderFunctionName', 'Issuer', 'KeyAdminPolicyArn', 'KeyRegistryTableName', 'MintPolicyArn', 'MoesifApplicationIdSecretArn', 'PublicKeysSecretArn', 'SigningSecretArn'],
    );
  });

  it('runs every function on Node.js 22, ARM64, with JSON logs in a retained log group', () => {
    const fns = Object.entries(resources(get(), 'AWS::Lambda::Function')).filter(([, f]) => f.Properties.Runtime?.startsWith('nodejs22'));
    // key admin, discovery, signing key, echo backend, Moesif forwarder (+ the Lambda authorizer and the cache bump)
    expect(fns.length).toBe(mode === 'lambda' ? 7 : 5);
    for (const [, fn] of fns) {
      expect(fn.Properties).toMatchObject({ Architectures: ['arm64'], Handler: 'index.handler', LoggingConfig: { LogFormat: 'JSON' } });
    }
  });

  it('passes cdk-nag (AwsSolutions) and the Control Tower proactive controls with no unacknowledged finding', () => {
    const findings = compliance(get());
    expect(findings.open).toEqual({ AwsSolutions: [], 'cdk-validator-cfnguard': [], 'CloudFormation Validate': [] });
    expect(findings.acknowledged.AwsSolutions).toBeGreaterThan(0);
    expect(findings.acknowledged['cdk-validator-cfnguard']).toBeGreaterThan(0);
  });

  it('keeps the logical ids of its stateful resources from before JwtApiKeys (an upgrade replaces no secret, table or log)', () => {
    const ids = Object.entries(get().template.toJSON().Resources as Record<string, { Type: string }>)
      .filter(([, r]) => ['AWS::SecretsManager::Secret', 'AWS::DynamoDB::Table', 'AWS::Logs::LogGroup'].includes(r.Type))
      .map(([id]) => id);
    expect(ids).toEqual(expect.arrayContaining([expect.stringMatching(/^SigningKeySecret[0-9A-F]{8}$/), expect.stringMatching(/^KeyRegistryTable[0-9A-F]{8}$/), expect.stringMatching(/^AccessLogLogGroup[0-9A-F]{8}$/)]));
    expect(ids.filter((id) => id.startsWith('Default'))).toEqual([]);
  });

  it('matches the snapshot (asset hashes masked)', () => {
    expect(normalizeTemplate(get().template.toJSON())).toMatchSnapshot();
  });
});

describe('lambda mode authorizer', () => {
  it('is a REQUEST authorizer with payload 2.0, simple responses and a 300 s cache keyed by the key and the revocation version', () => {
    lambdaMode.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization', '$stageVariables.revocationVersion'],
      AuthorizerResultTtlInSeconds: 300,
    });
    // The variable exists from the start: a missing identity source makes API Gateway answer 401 without asking.
    lambdaMode.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageVariables: { revocationVersion: '0' } });
  });

  it('reads the registry (revocation feed, application directory) but never writes it; only the key admin writes the registry', () => {
    const policies = Object.entries(resources(lambdaMode, 'AWS::IAM::Policy'));
    const statementsOf = (prefix: string) => policies.filter(([id]) => id.startsWith(prefix)).flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>);
    const dynamo = (prefix: string) => statementsOf(prefix).filter((st) => [st.Action].flat().some((a) => a.startsWith('dynamodb:')));
    expect(dynamo('AuthorizerFunctionRole')).toEqual([
      {
        Action: 'dynamodb:Query',
        Effect: 'Allow',
        // gsi3: the change feed of revocations; gsi1: an application's registered keys and subscriptions
        Resource: expect.arrayContaining([
          { 'Fn::Join': ['', expect.arrayContaining([{ Ref: expect.stringMatching(/^KeyRegistryTable/) }, '/index/gsi3'])] },
          { 'Fn::Join': ['', expect.arrayContaining([{ Ref: expect.stringMatching(/^KeyRegistryTable/) }, '/index/gsi1'])] },
        ]),
      },
      { Action: 'dynamodb:GetItem', Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^KeyRegistryTable/), 'Arn'] } },
    ]);
    const writers = policies.filter(([, p]) => /dynamodb:(PutItem|UpdateItem|DeleteItem)/.test(JSON.stringify(p.Properties.PolicyDocument))).map(([id]) => id);
    expect(writers).toEqual([expect.stringMatching(/^KeyIssuerFunctionRole/)]);
    lambdaMode.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Verifies JWT API keys'),
      Environment: { Variables: Match.objectLike({ KEY_REGISTRY_TABLE: { Ref: Match.stringLikeRegexp('^KeyRegistryTable') }, REVOCATION_REFRESH_SECONDS: '5', REVOCATION_FAIL_MODE: 'closed' }) },
    });
    lambdaMode.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Mints JWT API keys'),
      Environment: { Variables: Match.objectLike({ REVOCATION_ENFORCED: 'true', STAGE_BUMP_QUEUE_URL: { Ref: Match.stringLikeRegexp('^AuthorizerCacheBumpQueue') } }) },
    });
  });

  it('gives the authorizer function its settings and pinned algorithm', () => {
    lambdaMode.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Verifies JWT API keys'),
      Timeout: 5,
      Environment: {
        Variables: Match.objectLike({
          JWT_ALGORITHM: 'ES256',
          JWT_AUDIENCE: 'jwt-api',
          JWT_USER_ID_FIELD: 'sub',
          JWT_COMPANY_ID_FIELD: 'org_id',
          JWT_ACCEPT_PORTAL_TOKENS: 'false',
          JWT_ISSUER: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Api'), 'ApiEndpoint'] },
          JWT_PUBLIC_KEYS_SECRET_ARN: { Ref: Match.stringLikeRegexp('^SigningKeyPublicKeys') },
          JWT_SECRET_ARN: Match.absent(),
        }),
      },
    });
  });

  it('takes the cache TTL from config', () => {
    const s = synth({ authorizer: 'lambda', authorizerCacheTtlSeconds: 0 });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerResultTtlInSeconds: 0 });
  });

  it('passes -c revocationFailMode=open and revocationRefreshSeconds on to the authorizer function', () => {
    // As the CLI gives them: strings.
    const s = synth({ authorizer: 'lambda', revocationFailMode: 'open', revocationRefreshSeconds: '9' });
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Verifies JWT API keys'),
      Environment: { Variables: Match.objectLike({ REVOCATION_FAIL_MODE: 'open', REVOCATION_REFRESH_SECONDS: '9' }) },
    });
  });
});

describe('native mode authorizer', () => {
  it('is a JWT authorizer on this API\'s own URL and the configured audience', () => {
    nativeMode.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Audience: ['jwt-api'], Issuer: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Api'), 'ApiEndpoint'] } },
    });
    // The issuer mints with the same string API Gateway compares against.
    nativeMode.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Mints JWT API keys'),
      Environment: { Variables: Match.objectLike({ JWT_ISSUER: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Api'), 'ApiEndpoint'] } }) },
    });
  });

  it('is created only after the first key and the discovery routes exist', () => {
    const [authorizer] = Object.values(resources(nativeMode, 'AWS::ApiGatewayV2::Authorizer'));
    const key = logicalIdOf(nativeMode, 'Custom::JwtSigningKey', () => true);
    const discovery = Object.entries(resources(nativeMode, 'AWS::ApiGatewayV2::Route'))
      .filter(([, r]) => String(r.Properties.RouteKey).includes('.well-known'))
      .map(([id]) => id);
    const [stage] = Object.keys(resources(nativeMode, 'AWS::ApiGatewayV2::Stage'));
    expect(authorizer.DependsOn).toEqual(expect.arrayContaining([key, stage, ...discovery]));
  });

  it('has no authorizer function and no cache to bump; the revoke routes are told revocation is not enforced', () => {
    nativeMode.template.resourcePropertiesCountIs('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('Verifies JWT') }, 0);
    nativeMode.template.resourcePropertiesCountIs('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('Bumps the revocationVersion') }, 0);
    nativeMode.template.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('Mints JWT API keys'), Environment: { Variables: Match.objectLike({ REVOCATION_ENFORCED: 'false' }) } });
  });
});

describe('configuration in the stack', () => {
  it('has the outputs the README says each setting adds or removes', () => {
    const outputs = (context: Record<string, string>) => Object.keys(synth(context).template.toJSON().Outputs).sort();
    const all = outputs({});
    const without = (...names: string[]) => all.filter((n) => !names.includes(n));
    expect(outputs({ moesifForwarding: 'false' })).toEqual(without('MoesifApplicationIdSecretArn', 'DeadLetterQueueUrl', 'ForwarderFunctionName'));
    expect(outputs({ moesifForwarding: 'false', moesifGovernance: 'fail-open' })).toEqual(without('DeadLetterQueueUrl', 'ForwarderFunctionName'));
    expect(outputs({ alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops' })).toEqual(without('AlarmTopicArn'));
  });

  it('shows config warnings at synth', () => {
    const s = synth({ authorizer: 'native', jwtExpiresIn: '30d' });
    Annotations.fromStack(s.stack).hasWarning('*', Match.stringLikeRegexp('cannot revoke a key before it expires'));
  });

  it('native mode with a trusted issuer: API Gateway trusts that issuer and its audiences', () => {
    const s = synth({ authorizer: 'native', trustedIssuers: JSON.stringify([{ issuer: 'https://idp.example.com/', audience: ['orders-api', 'web'] }]) });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerType: 'JWT', JwtConfiguration: { Issuer: 'https://idp.example.com/', Audience: ['orders-api', 'web'] } });
  });

  it("native mode with a trusted issuer: the access log reads that issuer's user and company claims", () => {
    const s = synth({ authorizer: 'native', trustedIssuers: JSON.stringify([{ issuer: 'https://idp.example.com/', audience: 'orders-api', userIdClaim: 'email', companyIdClaim: 'tenant' }]) });
    const [stage] = Object.values(s.template.findResources('AWS::ApiGatewayV2::Stage')) as Resource[];
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format as string);
    expect(format).toMatchObject({ userId: '$context.authorizer.claims.email', companyId: '$context.authorizer.claims.tenant' });
  });

  it('lambda mode: the authorizer learns the trusted issuers and, with route-restricted plans, answers per route', () => {
    const s = synth({ authorizer: 'lambda', routeRestrictedPlans: 'true', trustedIssuers: JSON.stringify([{ issuer: 'https://idp.example.com/', audience: 'orders-api' }]) });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { IdentitySource: ['$request.header.Authorization', '$stageVariables.revocationVersion', '$context.routeKey', '$context.httpMethod', '$context.path'] });
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Verifies JWT API keys'),
      Environment: { Variables: Match.objectLike({ TRUSTED_ISSUERS: JSON.stringify([{ issuer: 'https://idp.example.com/', audience: ['orders-api'], algorithms: ['RS256'], userIdClaim: 'sub' }]), ROUTE_RESTRICTED_PLANS: 'true', CLIENT_TOKEN_MAX_LIFETIME_SECONDS: '300' }) },
    });
  });

  it('proxies to a configured backend URL instead of the echo function', () => {
    const s = synth({ backendUrl: 'https://backend.example.com/v1/' });
    const integrations = s.template.findResources('AWS::ApiGatewayV2::Integration', { Properties: { IntegrationType: 'HTTP_PROXY' } });
    const byId = Object.fromEntries(Object.entries(integrations).map(([id, r]) => [id, (r as Resource).Properties.IntegrationUri]));
    const routes = Object.values(s.template.findResources('AWS::ApiGatewayV2::Route')) as Resource[];
    const target = (key: string) => {
      const route = routes.find((r) => r.Properties.RouteKey === key)!;
      expect(route.Properties.AuthorizationType).toBe('CUSTOM');
      return byId[route.Properties.Target['Fn::Join'][1][1].Ref];
    };
    // The path travels through the greedy route's {proxy}; the root path through $default.
    expect(target('ANY /{proxy+}')).toBe('https://backend.example.com/v1/{proxy}');
    expect(target('$default')).toBe('https://backend.example.com/v1');
    s.template.resourcePropertiesCountIs('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('Demo backend') }, 0);
    expect(() => s.app.synth()).not.toThrow();
  });

  it('reads an imported secret without generating or rotating keys, and attaches the mint policy to the minter roles', () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:portal-jwt-AbCdEf';
    const s = synth({ signingSecretArn: arn, jwtAlgorithm: 'HS256', minterRoleArns: 'arn:aws:iam::123456789012:role/portal-backend', moesifForwarding: 'false' });
    // Only the public copy is created; the imported secret is checked at deploy time, never written.
    s.template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    s.template.hasResourceProperties('Custom::JwtSigningKey', { SecretArn: arn, Algorithm: 'HS256', Imported: 'true' });
    s.template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    const writesImported = Object.values(s.template.findResources('AWS::IAM::Policy')).some((p) =>
      (p as Resource).Properties.PolicyDocument.Statement.some((st: { Action: string | string[]; Resource: unknown }) => [st.Action].flat().includes('secretsmanager:PutSecretValue') && st.Resource === arn),
    );
    expect(writesImported).toBe(false);
    s.template.hasResourceProperties('AWS::IAM::ManagedPolicy', { Roles: ['portal-backend'] });
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Mints JWT'),
      Environment: { Variables: Match.objectLike({ JWT_SECRET_ARN: arn, KEY_MINTER_ROLE_ARNS: 'arn:aws:iam::123456789012:role/portal-backend' }) },
    });
    expect(() => s.app.synth()).not.toThrow();
  });

  it('never writes the secret of a portal .env file (-c envFile) into cdk.out', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'portal-env-'));
    const envFile = path.join(dir, '.env');
    writeFileSync(envFile, 'PLUGIN_JWT_ALGORITHM=HS256\nPLUGIN_JWT_SECRET=dotenv-portal-secret-977\nJWT_SECRET=fallback-secret-978\nPLUGIN_JWT_EXPIRES_IN=7d\n');
    const s = synth({ envFile });
    expect(s.config.jwt).toMatchObject({ algorithm: 'HS256', expiresInSeconds: 7 * 86400 });
    Annotations.fromStack(s.stack).hasWarning('*', Match.stringLikeRegexp('PLUGIN_JWT_SECRET is set in .*, and is never read'));
    const out = s.app.synth().directory;
    for (const file of readdirSync(out)) {
      if (!file.endsWith('.json')) continue;
      const text = readFileSync(path.join(out, file), 'utf8');
      expect(text).not.toContain('dotenv-portal-secret-977');
      expect(text).not.toContain('fallback-secret-978');
    }
  });

  it('never writes a portal secret from the environment into cdk.out', () => {
    const s = synth({ jwtAlgorithm: 'HS256' }, { PLUGIN_JWT_SECRET: 'portal-shared-secret-value-42' });
    const dir = s.app.synth().directory;
    const files = ['JwtApi.template.json', 'manifest.json', 'tree.json'].map((f) => readFileSync(path.join(dir, f), 'utf8'));
    for (const text of files) expect(text).not.toContain('portal-shared-secret-value-42');
  });
});
