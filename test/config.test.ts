import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig } from '../lib/config';

function load(context: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  return loadConfig({ context: (k) => context[k], env });
}

function message(context: Record<string, unknown>, env: Record<string, string> = {}): string {
  try {
    load(context, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has secure, working defaults', () => {
    const config = load();
    expect(config).toMatchObject({
      authorizer: { mode: 'lambda', cacheTtlSeconds: 300, acceptPortalTokens: false, moesifGovernance: 'off' },
      jwt: { algorithm: 'RS256', userIdField: 'sub', companyIdField: 'org_id', expiresInSeconds: 30 * 86400, audience: 'jwt-api', clockToleranceSeconds: 30 },
      keyRotationDays: 90,
      minterRoleArns: [],
      throttle: { rateLimit: 1000, burstLimit: 2000 },
      moesif: { enabled: true, baseUrl: 'https://api.moesif.net' },
      warnings: [],
    });
    expect(config.jwt.issuer).toBeUndefined();
  });

  it('reads the portal vocabulary from the environment; the PLUGIN_ name wins', () => {
    const config = load({}, { PLUGIN_JWT_ALGORITHM: 'HS512', JWT_ALGORITHM: 'HS256', JWT_USER_ID_FIELD: 'customer_id', PLUGIN_JWT_COMPANY_ID_FIELD: 'tenant', JWT_EXPIRES_IN: '12h' });
    expect(config.jwt).toMatchObject({ algorithm: 'HS512', userIdField: 'customer_id', companyIdField: 'tenant', expiresInSeconds: 43200 });
  });

  it('prefers cdk context over the environment', () => {
    expect(load({ jwtAlgorithm: 'ES256' }, { JWT_ALGORITHM: 'HS256' }).jwt.algorithm).toBe('ES256');
  });

  it.each([
    [{ authorizer: 'cognito' }, /context "authorizer" is "cognito": use "native" .* or "lambda"/],
    [{ jwtAlgorithm: 'HS1' }, /context "jwtAlgorithm" is "HS1": use one of HS256, .*EdDSA/],
    [{ authorizer: 'native', jwtAlgorithm: 'HS256' }, /only verifies RS256 .*Set jwtAlgorithm to RS256, or use -c authorizer=lambda to keep HMAC keys/],
    [{ authorizer: 'native', jwtAlgorithm: 'ES256' }, /authorizer is "native": API Gateway's JWT authorizer only verifies RS256/],
    [{ jwtExpiresIn: '0' }, /context "jwtExpiresIn" is "0": give a positive lifetime/],
    [{ jwtExpiresIn: '-5' }, /give a positive lifetime in seconds \("3600"\) or with a unit/],
    [{ jwtExpiresIn: 'forever' }, /context "jwtExpiresIn" is "forever"/],
    [{ jwtUserIdField: 'org_id' }, /both "org_id": Moesif needs the user and the company apart. Set JWT_COMPANY_ID_FIELD/],
    [{ jwtCompanyIdField: 'exp' }, /"exp", a registered JWT claim/],
    [{ authorizer: 'native', jwtUserIdField: 'https://x/user' }, /use letters, digits and underscores only, or use -c authorizer=lambda/],
    [{ authorizer: 'native', jwtIssuer: 'https://id.example.com/' }, /drop the trailing slash/],
    [{ authorizer: 'native', jwtIssuer: 'http://id.example.com' }, /must use https:\/\//],
    [{ authorizerCacheTtlSeconds: 7200 }, /"authorizerCacheTtlSeconds" is "7200": it must be a whole number from 0 to 3600/],
    [{ backendUrl: 'http://backend.internal' }, /backend URL must use https:\/\//],
    [{ backendUrl: 'not a url' }, /must be an absolute https:\/\/ URL/],
    [{ signingSecretArn: 'my-secret' }, /give the secret's complete ARN, ending in the 6 characters/],
    [{ signingSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:portal' }, /"signingSecretArn" is ".*:secret:portal": give the secret's complete ARN/],
    [{ moesifApplicationIdSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:moesif' }, /"moesifApplicationIdSecretArn" .* complete ARN/],
    [{ minterRoleArns: 'arn:aws:iam::111111111111:role/a,arn:aws:iam::222222222222:role/b' }, /roles in several accounts/],
    [{ keyRotationDays: 2 }, /keys live up to 2592000 s and a rotation keeps each retired key that long.*Use at least 3 days, or shorten JWT_EXPIRES_IN/],
    [{ logRetentionDays: 10 }, /CloudWatch Logs accepts 1, 3, 5, 7, 14, 30/],
    [{ alarmTopicArn: 'ops-alerts' }, /give an SNS topic ARN/],
    [{ throttleRateLimit: 0 }, /"throttleRateLimit" is "0": it must be a whole number from 1 to 100000/],
    [{ minterRoleArns: 'portal' }, /list IAM role ARNs/],
    [{ authorizer: 'native', acceptPortalTokens: true }, /portal keys carry no "iss".*Use -c authorizer=lambda/],
    [{ acceptPortalTokens: 'maybe' }, /use true or false/],
    [{ authorizer: 'native', moesifGovernance: 'fail-open' }, /enforced by the Lambda authorizer/],
    [{ moesifGovernance: 'strict' }, /use off, on \(= fail-open: .*\) or fail-closed/],
    [{ envFile: '/nonexistent/.env' }, /context "envFile" names \/nonexistent\/.env, which cannot be read \(ENOENT\)/],
  ])('rejects %p with a message naming the setting and the fix', (context, expected) => {
    expect(message(context)).toMatch(expected);
  });

  it('names the environment variable when the bad value came from there', () => {
    expect(message({}, { PLUGIN_JWT_EXPIRES_IN: 'soon' })).toMatch(/environment variable PLUGIN_JWT_EXPIRES_IN is "soon"/);
  });

  it('warns about a long lifetime in native mode (no revocation there)', () => {
    expect(load({ authorizer: 'native', jwtExpiresIn: '30d' }).warnings).toEqual([expect.stringMatching(/30 days\) with the native authorizer, which cannot revoke/)]);
    expect(load({ authorizer: 'native', jwtExpiresIn: '1h' }).warnings).toEqual([]);
    expect(load({ authorizer: 'lambda', jwtExpiresIn: '30d' }).warnings).toEqual([]);
  });

  it('warns, with a date to turn it off, when portal tokens are accepted', () => {
    const [warning] = load({ acceptPortalTokens: 'true', jwtExpiresIn: '10d' }).warnings;
    const until = new Date(Date.now() + 10 * 86400 * 1000).toISOString().slice(0, 10);
    expect(warning).toContain('any holder of the portal\'s shared secret');
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

  describe('a .env file from the portal (-c envFile=PATH)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'envfile-'));
    const file = path.join(dir, '.env');
    writeFileSync(file, 'PLUGIN_JWT_ALGORITHM=HS256\nPLUGIN_JWT_SECRET=super-secret-value-123\nPLUGIN_JWT_USER_ID_FIELD=customer_id\nJWT_EXPIRES_IN=7d\n');

    it('takes its settings, real environment variables first', () => {
      const config = load({ envFile: file }, { PLUGIN_JWT_USER_ID_FIELD: 'uid' });
      expect(config.jwt).toMatchObject({ algorithm: 'HS256', userIdField: 'uid', expiresInSeconds: 7 * 86400 });
    });

    it('never carries the secret value, and says how to import it', () => {
      const config = load({ envFile: file });
      expect(JSON.stringify(config)).not.toContain('super-secret-value-123');
      expect(config.warnings).toEqual([expect.stringMatching(/PLUGIN_JWT_SECRET is set, and is never read .*npm run secret:import/)]);
    });
  });
});
