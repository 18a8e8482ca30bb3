import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig, type ConfigSources } from '../lib/config';
import { howToSet, SETTINGS, type SettingKey } from '../lib/settings';

function load(context: Record<string, unknown> = {}, env: Record<string, string> = {}, extra: Partial<ConfigSources> = {}) {
  return loadConfig({ context: (k) => context[k], contextKeys: Object.keys(context), env, ...extra });
}

function message(context: Record<string, unknown>, env: Record<string, string> = {}, extra: Partial<ConfigSources> = {}): string {
  try {
    load(context, env, extra);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const dir = mkdtempSync(path.join(tmpdir(), 'config-'));
function envFile(text: string): string {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.env`);
  writeFileSync(file, text);
  return file;
}

describe('loadConfig', () => {
  it('has secure, working defaults', () => {
    const config = load();
    expect(config).toMatchObject({
      stackName: 'JwtApi',
      authorizer: { mode: 'lambda', cacheTtlSeconds: 300, acceptPortalTokens: false, moesifGovernance: 'off', governanceMaxStaleSeconds: 600, revocationFailMode: 'closed', revocationRefreshSeconds: 5 },
      jwt: { algorithm: 'RS256', userIdField: 'sub', companyIdField: 'org_id', expiresInSeconds: 30 * 86400, audience: 'jwt-api', clockToleranceSeconds: 30 },
      keyRotationDays: 90,
      minterRoleArns: [],
      throttle: { rateLimit: 1000, burstLimit: 2000 },
      moesif: { enabled: true, baseUrl: 'https://api.moesif.net' },
      warnings: [],
    });
    expect(config.jwt.issuer).toBeUndefined();
  });

  it('synthesizes the documented native command without a warning (a day by default there)', () => {
    const config = load({ authorizer: 'native' });
    expect(config.jwt.expiresInSeconds).toBe(86400);
    expect(config.warnings).toEqual([]);
  });

  it('reads the portal vocabulary from the environment; the PLUGIN_ name wins', () => {
    const config = load({}, { PLUGIN_JWT_ALGORITHM: 'HS512', JWT_ALGORITHM: 'HS256', JWT_USER_ID_FIELD: 'customer_id', PLUGIN_JWT_COMPANY_ID_FIELD: 'tenant', JWT_EXPIRES_IN: '12h' });
    expect(config.jwt).toMatchObject({ algorithm: 'HS512', userIdField: 'customer_id', companyIdField: 'tenant', expiresInSeconds: 43200 });
  });

  describe('precedence: context, then the real environment under any name, then the env file', () => {
    it('prefers cdk context over the environment', () => {
      expect(load({ jwtAlgorithm: 'ES256' }, { JWT_ALGORITHM: 'HS256' }).jwt.algorithm).toBe('ES256');
    });

    it('prefers the shell over the file whichever names they use', () => {
      const file = envFile('PLUGIN_JWT_ALGORITHM=HS256\n');
      expect(load({ envFile: file }, { JWT_ALGORITHM: 'ES256' }).jwt.algorithm).toBe('ES256');
      expect(load({ envFile: file }).jwt.algorithm).toBe('HS256');
    });
  });

  it.each([
    [{ authorizer: 'cognito' }, /^-c authorizer is "cognito": use "native", "lambda". \(authorizer: -c authorizer=…, or AUTHORIZER_MODE in the environment\)$/],
    [{ jwtAlgorithm: 'HS1' }, /^-c jwtAlgorithm is "HS1": use one of HS256, .*EdDSA\. \(jwtAlgorithm: -c jwtAlgorithm=…, or PLUGIN_JWT_ALGORITHM \/ JWT_ALGORITHM in the environment\)$/],
    [{ authorizer: 'native', jwtAlgorithm: 'HS256' }, /only verifies RS256 .*Set jwtAlgorithm \(-c jwtAlgorithm=…, or PLUGIN_JWT_ALGORITHM \/ JWT_ALGORITHM in the environment\) to RS256, or use -c authorizer=lambda to keep HMAC keys/],
    [{ authorizer: 'native', jwtAlgorithm: 'ES256' }, /authorizer is "native": API Gateway's JWT authorizer only verifies RS256/],
    [{ jwtExpiresIn: '0' }, /^-c jwtExpiresIn is "0": give a positive lifetime/],
    [{ jwtExpiresIn: '-5' }, /give a positive lifetime in seconds \("3600"\) or with a unit/],
    [{ jwtExpiresIn: 'forever' }, /^-c jwtExpiresIn is "forever"/],
    [{ jwtUserIdField: 'org_id' }, /both "org_id": Moesif needs the user and the company apart. Set jwtUserIdField \(.*\) back to "sub"/],
    [{ jwtUserIdField: 'tenant', jwtCompanyIdField: 'tenant' }, /both "tenant": .*Set jwtCompanyIdField \(.*\) to the claim holding the company, e.g. "org_id"/],
    [{ jwtCompanyIdField: 'exp' }, /"exp" is a registered JWT claim/],
    [{ authorizer: 'native', jwtUserIdField: 'https://x/user' }, /use letters, digits and underscores only, or use -c authorizer=lambda/],
    [{ authorizer: 'native', jwtIssuer: 'https://id.example.com/' }, /drop the trailing slash/],
    [{ authorizer: 'native', jwtIssuer: 'http://id.example.com' }, /must use https:\/\//],
    [{ authorizerCacheTtlSeconds: 7200 }, /^-c authorizerCacheTtlSeconds is "7200": it must be a whole number from 0 to 3600/],
    [{ backendUrl: 'not a url' }, /must be an absolute https:\/\/ URL/],
    [{ signingSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:portal' }, /^-c signingSecretArn is ".*:secret:portal": that is a partial ARN .* describe-secret/],
    [{ moesifApplicationIdSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:moesif-apikey' }, /cannot be told whether "apikey" is the random suffix/],
    [{ signingSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:my-secret' }, /cannot be told whether "secret" is the random suffix/],
    [{ minterRoleArns: 'arn:aws:iam::111111111111:role/a,arn:aws:iam::222222222222:role/b' }, /roles in several accounts/],
    [{ keyRotationDays: 2 }, /keys live up to 2592000 s and a rotation keeps each retired key that long.*Use at least 3 days, or shorten jwtExpiresIn/],
    [{ alarmTopicArn: 'ops-alerts' }, /give an SNS topic ARN/],
    [{ throttleRateLimit: 0 }, /^-c throttleRateLimit is "0": it must be a whole number from 1 to 100000/],
    [{ minterRoleArns: 'portal' }, /item 1 \("portal"\) is not an IAM role ARN/],
    [{ authorizer: 'native', acceptPortalTokens: true }, /portal keys carry no "iss".*Use -c authorizer=lambda/],
    [{ acceptPortalTokens: 'maybe' }, /use true or false/],
    [{ authorizer: 'native', moesifGovernance: 'fail-open' }, /enforced by the Lambda authorizer/],
    [{ moesifGovernance: 'strict' }, /use "off", "fail-open", "fail-closed", "on"/],
    [{ revocationFailMode: 'sometimes' }, /^-c revocationFailMode is "sometimes": use "closed", "open"/],
    [{ stackName: 'my stack' }, /^-c stackName is "my stack": a stack name starts with a letter/],
    [{ logsKmsKeyArn: 'alias/logs' }, /give a KMS key ARN/],
    [{ envFile: '/nonexistent/.env' }, /-c envFile names \/nonexistent\/.env, which cannot be read \(ENOENT\)/],
  ])('rejects %p with a message naming the setting, how to set it and the fix', (context, expected) => {
    expect(message(context)).toMatch(expected);
  });

  it('names the environment variable when the bad value came from there', () => {
    expect(message({}, { PLUGIN_JWT_EXPIRES_IN: 'soon' })).toMatch(/^environment variable PLUGIN_JWT_EXPIRES_IN is "soon": .*\(jwtExpiresIn: -c jwtExpiresIn=…, or PLUGIN_JWT_EXPIRES_IN \/ JWT_EXPIRES_IN/);
  });

  describe('the ten mistakes of the review', () => {
    it('1. an unknown -c key is an error with a suggestion; CDK keys and feature flags are left alone', () => {
      expect(message({ authoriser: 'native' })).toBe("-c authoriser is not a setting of this app, so it would be ignored. Did you mean -c authorizer? The settings are listed in the README's Configuration table.");
      expect(message({ jwtAlgo: 'ES256' })).toMatch(/Did you mean -c jwtAlgorithm\?/);
      expect(message({ somethingElse: 'x' })).not.toMatch(/Did you mean/);
      expect(() => load({ '@aws-cdk/core:newStyleStackSynthesis': true, 'aws:cdk:enable-path-metadata': true, 'acknowledged-issue-numbers': [1], 'availability-zones:account=1:region=x': [] })).not.toThrow();
    });

    it('2. a lower-case algorithm is accepted as the algorithm', () => {
      expect(load({ jwtAlgorithm: 'rs256' }).jwt.algorithm).toBe('RS256');
      expect(load({ jwtAlgorithm: 'eddsa' }).jwt.algorithm).toBe('EdDSA');
    });

    it('3. "30 days" unquoted reaches the app as "30": too short for a key, and the message says to quote it', () => {
      expect(message({ jwtExpiresIn: '30' })).toMatch(/^-c jwtExpiresIn is "30": that is 30 seconds, too short for an API key: give a unit \("30d"\), and quote a value with spaces \("30 days"\)/);
      expect(load({ jwtExpiresIn: '30 days' }).jwt.expiresInSeconds).toBe(30 * 86400);
    });

    it('4. an http backend URL is refused', () => {
      expect(message({ backendUrl: 'http://backend.internal' })).toMatch(/^-c backendUrl is "http:\/\/backend.internal": the backend URL must use https:\/\/.* \(backendUrl: -c backendUrl=…, or BACKEND_URL in the environment\)$/);
    });

    it('5. an unsupported retention lists the accepted ones', () => {
      expect(message({}, { LOG_RETENTION_DAYS: '45' })).toMatch(/^environment variable LOG_RETENTION_DAYS is "45": CloudWatch Logs accepts 1, 3, 5, 7, 14, 30, 60, 90, .*\(logRetentionDays: /);
    });

    it('6. an empty PLUGIN_JWT_SECRET is said, not silently treated as a secret', () => {
      const config = load({ envFile: envFile('PLUGIN_JWT_SECRET=\nPLUGIN_JWT_ALGORITHM=HS256\n') });
      expect(config.warnings).toEqual([expect.stringMatching(/^PLUGIN_JWT_SECRET is set but empty in .*\.env: there is no portal secret to import/)]);
    });

    it('7. moesifForwarding=off is read as false (on/off, yes/no, 1/0 too)', () => {
      expect(load({ moesifForwarding: 'off' }).moesif.enabled).toBe(false);
      expect(load({ moesifForwarding: 'on' }).moesif.enabled).toBe(true);
    });

    it('8. space-separated roles are read as separate roles, each checked', () => {
      const a = 'arn:aws:iam::123456789012:role/portal-backend';
      const b = 'arn:aws:iam::123456789012:role/service/ops';
      expect(load({ minterRoleArns: `${a} ${b}` }).minterRoleArns).toEqual([a, b]);
      expect(load({ minterRoleArns: `${a},\n ${b}` }).minterRoleArns).toEqual([a, b]);
      expect(message({ minterRoleArns: `${a} arn:aws:iam::123456789012:user/bob` })).toMatch(/item 2 \("arn:aws:iam::123456789012:user\/bob"\) is not an IAM role ARN/);
    });

    it('9. a portal .env without an algorithm uses HS256 (the portal\'s default) and says so; native mode refuses it', () => {
      const file = envFile('PLUGIN_JWT_SECRET=some-portal-secret-value\n');
      const config = load({ envFile: file });
      expect(config.jwt.algorithm).toBe('HS256');
      expect(config.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/no algorithm is: using HS256, what the portal signs with by default. Set jwtAlgorithm/)]));
      expect(message({ envFile: file, authorizer: 'native' })).toMatch(/the portal's keys are HS256, which API Gateway's JWT authorizer cannot verify. Set jwtAlgorithm .* to RS256 if the portal signs with a PEM key/);
    });

    it('10. a bare secret name is not an ARN', () => {
      expect(message({ signingSecretArn: 'my-secret' })).toMatch(/^-c signingSecretArn is "my-secret": that is not a Secrets Manager secret ARN: give the complete ARN as `aws secretsmanager describe-secret/);
    });
  });

  it('accepts a complete secret ARN whose suffix shows it is random', () => {
    expect(load({ signingSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:portal-AbCdEf' }).signingSecretArn).toBe('arn:aws:secretsmanager:eu-west-1:123456789012:secret:portal-AbCdEf');
    expect(load({ signingSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:my-secret-x1y2z3' }).signingSecretArn).toMatch(/x1y2z3$/);
  });

  it('refuses a minter role of another account than the stack\'s, as a configuration error', () => {
    expect(message({ minterRoleArns: 'arn:aws:iam::111111111111:role/portal' }, {}, { account: '222222222222' })).toMatch(/names roles of account 111111111111, but the stack deploys to 222222222222/);
  });

  it('warns about settings the chosen mode does not use, naming them', () => {
    const config = load({ authorizer: 'native', authorizerCacheTtlSeconds: 60, jwtClockToleranceSeconds: 5, acceptPortalTokens: 'false' });
    expect(config.warnings).toEqual([
      expect.stringMatching(/^-c jwtClockToleranceSeconds has no effect with authorizer=native \(it acts in lambda mode: /),
      expect.stringMatching(/^-c authorizerCacheTtlSeconds has no effect with authorizer=native/),
      expect.stringMatching(/^-c acceptPortalTokens has no effect with authorizer=native/),
    ]);
    // Even an ignored setting must be valid.
    expect(message({ authorizer: 'native', authorizerCacheTtlSeconds: 'x' })).toMatch(/whole number/);
  });

  it('warns about a long lifetime in native mode (no revocation there)', () => {
    expect(load({ authorizer: 'native', jwtExpiresIn: '30d' }).warnings).toEqual([expect.stringMatching(/30 days\) with the native authorizer, which cannot revoke/)]);
    expect(load({ authorizer: 'native', jwtExpiresIn: '1h' }).warnings).toEqual([]);
    expect(load({ authorizer: 'lambda', jwtExpiresIn: '30d' }).warnings).toEqual([]);
  });

  it('warns, with a date to turn it off, when portal tokens are accepted', () => {
    const [warning] = load({ acceptPortalTokens: 'true', jwtExpiresIn: '10d' }).warnings;
    const until = new Date(Date.now() + 10 * 86400 * 1000).toISOString().slice(0, 10);
    expect(warning).toContain("any holder of the portal's shared secret");
    expect(warning).toContain(until);
  });

  it('takes a Moesif base URL over https, or plain http on loopback only (a local stand-in)', () => {
    expect(load({ moesifBaseUrl: 'http://127.0.0.1:4010/' }).moesif.baseUrl).toBe('http://127.0.0.1:4010');
    expect(load({}, { MOESIF_BASE_URL: 'https://api-eu.moesif.example' }).moesif.baseUrl).toBe('https://api-eu.moesif.example');
    expect(message({ moesifBaseUrl: 'http://moesif.internal' })).toMatch(/the Moesif base URL must use https:\/\//);
  });

  it('turns governance on as fail-open unless fail-closed is asked for', () => {
    expect(load({ moesifGovernance: 'on' }).authorizer).toMatchObject({ moesifGovernance: 'fail-open' });
    expect(load({ moesifGovernance: 'fail-closed' }).authorizer).toMatchObject({ moesifGovernance: 'fail-closed' });
    expect(load({}).authorizer).toMatchObject({ moesifGovernance: 'off' });
  });

  it('turns rotation off by default for an imported secret and bounds how many keys rotation keeps', () => {
    expect(load({ signingSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:portal-AbCdEf' }).keyRotationDays).toBe(0);
    expect(load({ jwtExpiresIn: '365d' }).keyRotationDays).toBe(90);
    expect(load({ jwtExpiresIn: '1500d' }).keyRotationDays).toBe(150);
  });

  describe('trusted issuers', () => {
    const idp = { issuer: 'https://idp.example.com/', audience: 'orders-api' };

    it('takes a JSON list, or a file holding one', () => {
      expect(load({ trustedIssuers: JSON.stringify([idp]) }).trustedIssuers).toEqual([{ ...idp, audience: ['orders-api'], algorithms: ['RS256'], userIdClaim: 'sub' }]);
      expect(load({ trustedIssuers: envFile(JSON.stringify([idp])) }).trustedIssuers).toHaveLength(1);
    });

    it.each([
      [{ trustedIssuers: '[{"issuer":"https://idp.example.com/"}]' }, /^-c trustedIssuers is .*: trustedIssuers\[0\]\.audience must be a non-empty string/],
      [{ trustedIssuers: JSON.stringify([{ ...idp, algorithms: ['HS256'] }]) }, /an outside issuer never shares a secret/],
      [{ trustedIssuers: 'no-such-file.json' }, /give a JSON list .* or the path of a file holding one/],
      [{ trustedIssuers: JSON.stringify([idp]), jwtIssuer: 'https://idp.example.com/' }, /lists "https:\/\/idp.example.com\/", which is this stack's own issuer/],
      [{ authorizer: 'native', trustedIssuers: JSON.stringify([idp, { ...idp, issuer: 'https://other.example.com' }]) }, /trusts one issuer: list one, or use -c authorizer=lambda/],
      [{ authorizer: 'native', trustedIssuers: JSON.stringify([{ ...idp, algorithms: ['ES256'] }]) }, /verifies RSA keys \(RS256\) only/],
      [{ authorizer: 'native', trustedIssuers: JSON.stringify([{ ...idp, jwksUri: 'https://idp.example.com/keys' }]) }, /takes none: it reads the keys from the jwks_uri of https:\/\/idp.example.com\/.well-known\/openid-configuration. Remove jwksUri/],
      [{ authorizer: 'native', trustedIssuers: JSON.stringify([{ ...idp, companyIdClaim: 'custom:tenant' }]) }, /the companyIdClaim "custom:tenant": in native mode the claim is read as \$context.authorizer.claims.custom:tenant/],
    ])('rejects %p', (context, expected) => {
      expect(message(context)).toMatch(expected);
    });

    it('in native mode, puts one RSA issuer in place of the stack\'s keys, and says what that costs', () => {
      const config = load({ authorizer: 'native', trustedIssuers: JSON.stringify([idp]) });
      expect(config.trustedIssuers[0].issuer).toBe(idp.issuer);
      expect(config.warnings).toEqual([expect.stringMatching(/keys minted by POST \/keys are not accepted, and client applications, subscriptions and plans cannot be enforced/)]);
    });

    it('in native mode, says a clientIdClaim is never read', () => {
      const config = load({ authorizer: 'native', trustedIssuers: JSON.stringify([{ ...idp, clientIdClaim: 'appid' }]) });
      expect(config.warnings).toContainEqual(expect.stringMatching(/a clientIdClaim, which authorizer=native never reads .*\(trustedIssuers: -c trustedIssuers=…/));
    });
  });

  describe('names each setting it is about with its -c key and environment names', () => {
    const idp = { issuer: 'https://idp.example.com/', audience: 'orders-api' };
    const spelled = (key: SettingKey) => `${key}: ${howToSet(SETTINGS[key])}`;
    it.each<[string, Record<string, unknown>, SettingKey[], { account?: string }?]>([
      ['acceptPortalTokens in native mode', { authorizer: 'native', acceptPortalTokens: true }, ['acceptPortalTokens', 'authorizer']],
      ['governance in native mode', { authorizer: 'native', moesifGovernance: 'fail-open' }, ['moesifGovernance', 'authorizer']],
      ['minter roles of another account', { minterRoleArns: 'arn:aws:iam::111111111111:role/portal' }, ['minterRoleArns'], { account: '222222222222' }],
      ['minter roles of several accounts', { minterRoleArns: 'arn:aws:iam::111111111111:role/a,arn:aws:iam::222222222222:role/b' }, ['minterRoleArns']],
      ['the org_id clash', { jwtUserIdField: 'org_id' }, ['jwtUserIdField', 'jwtCompanyIdField']],
      ['too frequent rotations', { keyRotationDays: '1', jwtExpiresIn: '365d' }, ['keyRotationDays', 'jwtExpiresIn']],
      ['two native issuers', { authorizer: 'native', trustedIssuers: JSON.stringify([idp, { ...idp, issuer: 'https://b.example.com' }]) }, ['trustedIssuers']],
    ])('error: %s', (_name, context, keys, extra = {}) => {
      const text = message(context, {}, extra);
      // "key: how" or "key (how)": either way the key and all its spellings.
      for (const key of keys) expect(text).toMatch(new RegExp(`${key}(: | \\()${howToSet(SETTINGS[key]).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
      expect(text).not.toMatch(/\. [a-z]/);
    });

    it('warnings: a setting the mode ignores, acceptPortalTokens on, a native issuer', () => {
      const warnings = load({ authorizer: 'native', jwtClockToleranceSeconds: '10', trustedIssuers: JSON.stringify([idp]) }).warnings;
      expect(warnings).toContainEqual(expect.stringContaining(spelled('jwtClockToleranceSeconds')));
      expect(warnings).toContainEqual(expect.stringContaining(`trustedIssuers with authorizer=native`));
      for (const w of warnings) expect(w).toMatch(/\((\w+): -c \1=…/);
      expect(load({ acceptPortalTokens: true }).warnings).toContainEqual(expect.stringContaining(spelled('acceptPortalTokens')));
    });
  });

  it('declares every setting with a key, a doc line and a default for the README', () => {
    for (const [key, s] of Object.entries(SETTINGS)) {
      expect(s.key).toBe(key);
      expect(s.doc.length).toBeGreaterThan(10);
      expect(s.defaultDoc.length).toBeGreaterThan(0);
    }
  });

  describe('a .env file from the portal (-c envFile=PATH)', () => {
    const file = envFile('PLUGIN_JWT_ALGORITHM=HS256\nPLUGIN_JWT_SECRET=super-secret-value-123\nPLUGIN_JWT_USER_ID_FIELD=customer_id\nJWT_EXPIRES_IN=7d\n');

    it('takes its settings, real environment variables first', () => {
      const config = load({ envFile: file }, { PLUGIN_JWT_USER_ID_FIELD: 'uid' });
      expect(config.jwt).toMatchObject({ algorithm: 'HS256', userIdField: 'uid', expiresInSeconds: 7 * 86400 });
    });

    it('never carries the secret value, and says how to import it (with --dotenv, which Node does not intercept)', () => {
      const config = load({ envFile: file });
      expect(JSON.stringify(config)).not.toContain('super-secret-value-123');
      expect(config.warnings).toEqual([expect.stringMatching(/PLUGIN_JWT_SECRET is set in .*, and is never read .*npm run secret:import -- --stack <StackName> --dotenv <path>/)]);
    });

    it('names the file when a bad value came from it', () => {
      expect(message({ envFile: envFile('PLUGIN_JWT_EXPIRES_IN=forever\n') })).toMatch(/^PLUGIN_JWT_EXPIRES_IN in .*\.env is "forever"/);
    });
  });
});
