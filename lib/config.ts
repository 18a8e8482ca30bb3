import { readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { ALGORITHMS, isAlgorithm, isSymmetric, type Algorithm } from '../lambda/jwt/algorithms';
import { parseDurationSeconds } from '../lambda/shared/duration';

/** A setting that cannot work: the message names the setting and how to fix it. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type GovernanceMode = 'off' | 'fail-open' | 'fail-closed';

/** How the gateway checks tokens: a discriminated union, so mode-only settings cannot leak across. */
export type AuthorizerConfig =
  | { mode: 'native' }
  | {
      mode: 'lambda';
      /** Seconds API Gateway caches an authorizer answer per token and route. */
      cacheTtlSeconds: number;
      /** Accept the keys the Moesif Developer Portal's JWT plugin minted (no iss/aud/kid). */
      acceptPortalTokens: boolean;
      /** Deny users and companies that a Moesif blocking rule covers. */
      moesifGovernance: GovernanceMode;
    };

export interface JwtConfig {
  algorithm: Algorithm;
  userIdField: string;
  companyIdField: string;
  /** Longest lifetime of a minted key, in seconds (JWT_EXPIRES_IN). */
  expiresInSeconds: number;
  /** `iss` of minted keys; undefined means the API's own URL. */
  issuer?: string;
  audience: string;
  clockToleranceSeconds: number;
}

export interface MoesifConfig {
  /** Ship access logs to Moesif. */
  enabled: boolean;
  /** SNS topic the forwarding alarms notify. */
  alarmTopicArn?: string;
  /** Secret holding the Moesif Application Id; undefined means the stack creates one to fill in. */
  applicationIdSecretArn?: string;
  baseUrl: string;
}

export interface AppConfig {
  authorizer: AuthorizerConfig;
  jwt: JwtConfig;
  /** An existing signing secret; undefined means the stack creates and fills one. */
  signingSecretArn?: string;
  /** Days between automatic key rotations; 0 turns rotation off. */
  keyRotationDays: number;
  /** HTTPS URL the API proxies to; undefined means the bundled echo backend. */
  backendUrl?: string;
  /** IAM roles allowed to call POST /keys (the portal backend). */
  minterRoleArns: string[];
  logRetentionDays: number;
  /** Customer-managed KMS key for every log group; undefined means CloudWatch Logs' own encryption. */
  logsKmsKeyArn?: string;
  /** The $default stage's default route throttling. */
  throttle: { rateLimit: number; burstLimit: number };
  moesif: MoesifConfig;
  /** Things that synthesize but deserve a look; the stack prints them as CDK warnings. */
  warnings: string[];
}

/** Where settings come from: cdk context first, then the environment (portal names accepted). */
export interface ConfigSources {
  context: (key: string) => unknown;
  env: Record<string, string | undefined>;
}

const DAY = 86_400;
const LONG_NATIVE_LIFETIME = 7 * DAY;
const MAX_ROTATION_DAYS = 1000;
const MAX_LIVE_KEYS = 10;
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REGISTERED_CLAIMS = ['iss', 'aud', 'exp', 'nbf', 'iat', 'jti'];

/** Variables the portal's `.env` may hold that name a secret value: noticed, never read. */
export const SECRET_VARIABLES = ['PLUGIN_JWT_SECRET', 'JWT_SECRET'];

/**
 * Reads one setting: the cdk context key, then each environment name in order
 * (the portal's `PLUGIN_JWT_*` before the plain `JWT_*`). Empty strings count as unset.
 */
function lookup(sources: ConfigSources, contextKey: string, envNames: string[]): { value: string | undefined; from: string } {
  const fromContext = sources.context(contextKey);
  if (fromContext !== undefined && fromContext !== null && fromContext !== '') return { value: String(fromContext), from: `context "${contextKey}"` };
  for (const name of envNames) {
    const v = sources.env[name];
    if (v !== undefined && v !== '') return { value: v, from: `environment variable ${name}` };
  }
  return { value: undefined, from: `context "${contextKey}"` };
}

function jwtNames(suffix: string): string[] {
  return [`PLUGIN_JWT_${suffix}`, `JWT_${suffix}`];
}

function integer(raw: { value: string | undefined; from: string }, fallback: number, min: number, max: number, fix: string): number {
  if (raw.value === undefined) return fallback;
  const n = Number(raw.value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${raw.from} is "${raw.value}": it must be a whole number from ${min} to ${max}. ${fix}`);
  }
  return n;
}

function bool(raw: { value: string | undefined; from: string }, fallback: boolean): boolean {
  if (raw.value === undefined) return fallback;
  const v = raw.value.toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  throw new ConfigError(`${raw.from} is "${raw.value}": use true or false.`);
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/** An https URL; plain http only for loopback when `allowLoopback` (a local Moesif stand-in). */
function httpsUrl(raw: { value: string | undefined; from: string }, what: string, allowLoopback = false): string | undefined {
  if (raw.value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw.value);
  } catch {
    throw new ConfigError(`${raw.from} is "${raw.value}": ${what} must be an absolute https:// URL.`);
  }
  if (url.protocol === 'http:' && allowLoopback && LOOPBACK.test(url.hostname)) return raw.value;
  if (url.protocol !== 'https:') throw new ConfigError(`${raw.from} is "${raw.value}": ${what} must use https://, so tokens and data never cross the network in clear text.`);
  return raw.value;
}

/**
 * A secret's complete ARN, with the six characters Secrets Manager appends to the name: from a name
 * alone the IAM grants cannot tell "my-secret-AbCdEf" (complete) from "my-secret" (partial).
 */
function secretArn(raw: { value: string | undefined; from: string }): string | undefined {
  if (raw.value === undefined) return undefined;
  if (!/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/.test(raw.value)) {
    throw new ConfigError(
      `${raw.from} is "${raw.value}": give the secret's complete ARN, ending in the 6 characters Secrets Manager adds to the name ` +
        '(arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf, as `aws secretsmanager describe-secret` shows it).',
    );
  }
  return raw.value;
}

function topicArn(raw: { value: string | undefined; from: string }): string | undefined {
  if (raw.value === undefined) return undefined;
  if (!/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/.test(raw.value)) {
    throw new ConfigError(`${raw.from} is "${raw.value}": give an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>).`);
  }
  return raw.value;
}

/** Merges the `.env` file named by `-c envFile=PATH` under the real environment (real variables win). */
function withEnvFile(sources: ConfigSources): ConfigSources {
  const file = sources.context('envFile');
  if (file === undefined || file === '') return sources;
  let text: string;
  try {
    text = readFileSync(String(file), 'utf8');
  } catch (err) {
    throw new ConfigError(`context "envFile" names ${String(file)}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
  const fromFile = parseDotenv(text);
  // The secret's value is dropped here, before anything else can see it.
  for (const name of SECRET_VARIABLES) if (name in fromFile) fromFile[name] = '<present>';
  return { context: sources.context, env: { ...fromFile, ...sources.env } };
}

/** Builds and validates the whole configuration; every failure is a ConfigError naming the setting and the fix. */
export function loadConfig(rawSources: ConfigSources): AppConfig {
  const sources = withEnvFile(rawSources);
  const warnings: string[] = [];

  const modeRaw = lookup(sources, 'authorizer', ['AUTHORIZER_MODE']);
  const mode = modeRaw.value ?? 'lambda';
  if (mode !== 'native' && mode !== 'lambda') {
    throw new ConfigError(`${modeRaw.from} is "${mode}": use "native" (API Gateway's JWT authorizer, RS256) or "lambda" (bundled Lambda authorizer, any algorithm).`);
  }

  const algRaw = lookup(sources, 'jwtAlgorithm', jwtNames('ALGORITHM'));
  const algorithm = algRaw.value ?? 'RS256';
  if (!isAlgorithm(algorithm)) throw new ConfigError(`${algRaw.from} is "${algorithm}": use one of ${ALGORITHMS.join(', ')}.`);
  if (mode === 'native' && algorithm !== 'RS256') {
    throw new ConfigError(
      `${algRaw.from} is "${algorithm}" but authorizer is "native": API Gateway's JWT authorizer only verifies RS256 ` +
        `(RSA keys from a JWKS). Set jwtAlgorithm to RS256, or use -c authorizer=lambda${isSymmetric(algorithm) ? ' to keep HMAC keys' : ''}.`,
    );
  }

  const userRaw = lookup(sources, 'jwtUserIdField', jwtNames('USER_ID_FIELD'));
  const companyRaw = lookup(sources, 'jwtCompanyIdField', jwtNames('COMPANY_ID_FIELD'));
  const userIdField = userRaw.value ?? 'sub';
  const companyIdField = companyRaw.value ?? 'org_id';
  for (const [raw, field] of [[userRaw, userIdField], [companyRaw, companyIdField]] as const) {
    if (REGISTERED_CLAIMS.includes(field)) throw new ConfigError(`${raw.from} is "${field}", a registered JWT claim the issuer sets itself: pick another claim name, such as "sub" or "org_id".`);
    if (mode === 'native' && !CLAIM_NAME.test(field)) {
      throw new ConfigError(`${raw.from} is "${field}": in native mode the claim is read as $context.authorizer.claims.${field}, so use letters, digits and underscores only, or use -c authorizer=lambda.`);
    }
  }
  if (userIdField === companyIdField) {
    throw new ConfigError(`jwtUserIdField and jwtCompanyIdField are both "${userIdField}": Moesif needs the user and the company apart. Set JWT_COMPANY_ID_FIELD to another claim, e.g. "org_id".`);
  }

  const expRaw = lookup(sources, 'jwtExpiresIn', jwtNames('EXPIRES_IN'));
  const expiresInSeconds = parseDurationSeconds(expRaw.value ?? '30d');
  if (expiresInSeconds === undefined) {
    throw new ConfigError(`${expRaw.from} is "${expRaw.value}": give a positive lifetime in seconds ("3600") or with a unit ("12h", "30d").`);
  }
  if (mode === 'native' && expiresInSeconds > LONG_NATIVE_LIFETIME) {
    warnings.push(
      `JWT_EXPIRES_IN is ${expiresInSeconds} s (${Math.round(expiresInSeconds / DAY)} days) with the native authorizer, which cannot revoke a key before it expires. ` +
        'Shorten it, or use -c authorizer=lambda.',
    );
  }

  const issRaw = lookup(sources, 'jwtIssuer', jwtNames('ISSUER'));
  let issuer = issRaw.value;
  if (issuer !== undefined && mode === 'native') {
    httpsUrl(issRaw, 'the issuer (API Gateway fetches <issuer>/.well-known/openid-configuration)');
    if (issuer.endsWith('/')) {
      throw new ConfigError(`${issRaw.from} is "${issuer}": drop the trailing slash. API Gateway compares "iss" as an exact string and appends /.well-known/openid-configuration itself.`);
    }
  }
  if (issuer === '') issuer = undefined;
  const audience = lookup(sources, 'jwtAudience', jwtNames('AUDIENCE')).value ?? 'jwt-api';
  const clockToleranceSeconds = integer(lookup(sources, 'jwtClockToleranceSeconds', jwtNames('CLOCK_TOLERANCE_SECONDS')), 30, 0, 300, 'A few seconds covers clock skew.');

  const acceptRaw = lookup(sources, 'acceptPortalTokens', ['JWT_ACCEPT_PORTAL_TOKENS']);
  const acceptPortalTokens = bool(acceptRaw, false);
  if (acceptPortalTokens && mode === 'native') {
    throw new ConfigError(`${acceptRaw.from} is true but authorizer is "native": portal keys carry no "iss", which API Gateway's JWT authorizer requires. Use -c authorizer=lambda while old portal keys are in use.`);
  }
  if (acceptPortalTokens) {
    const until = new Date(Date.now() + expiresInSeconds * 1000).toISOString().slice(0, 10);
    warnings.push(
      'acceptPortalTokens is on: any holder of the portal\'s shared secret can mint keys that this API accepts, without iss, aud or kid. ' +
        `Turn it off once the portal's keys have expired (the longest JWT_EXPIRES_IN ahead: ${until}).`,
    );
  }

  const governanceRaw = lookup(sources, 'moesifGovernance', ['MOESIF_GOVERNANCE']);
  // "on" picks the safe default: analytics must not take the API down.
  const governance = (governanceRaw.value === 'on' || governanceRaw.value === 'true' ? 'fail-open' : governanceRaw.value === 'false' ? 'off' : governanceRaw.value ?? 'off') as GovernanceMode;
  if (!['off', 'fail-open', 'fail-closed'].includes(governance)) {
    throw new ConfigError(`${governanceRaw.from} is "${governance}": use off, on (= fail-open: allow calls when Moesif is unreachable) or fail-closed.`);
  }
  if (governance !== 'off' && mode === 'native') {
    throw new ConfigError(`${governanceRaw.from} is "${governance}" but authorizer is "native": Moesif governance rules are enforced by the Lambda authorizer. Use -c authorizer=lambda.`);
  }

  const cacheTtlSeconds = integer(lookup(sources, 'authorizerCacheTtlSeconds', ['AUTHORIZER_CACHE_TTL_SECONDS']), 300, 0, 3600, 'API Gateway caches authorizer results for at most 3600 seconds.');

  const signingSecretArn = secretArn(lookup(sources, 'signingSecretArn', ['JWT_SECRET_ARN']));
  // A rotation retires the signer and keeps it while its tokens can be valid: rotating much more
  // often than keys live would pile retired keys up in the secret (64 KB at most).
  const minRotationDays = Math.max(1, Math.ceil(expiresInSeconds / DAY / MAX_LIVE_KEYS));
  const rotationRaw = lookup(sources, 'keyRotationDays', ['KEY_ROTATION_DAYS']);
  const defaultRotation = signingSecretArn ? 0 : Math.max(90, minRotationDays);
  const keyRotationDays = integer(rotationRaw, defaultRotation, 0, MAX_ROTATION_DAYS, 'Use 0 to turn rotation off.');
  if (keyRotationDays > 0 && keyRotationDays < minRotationDays) {
    throw new ConfigError(
      `${rotationRaw.from} is ${keyRotationDays} but keys live up to ${expiresInSeconds} s and a rotation keeps each retired key that long, ` +
        `so the secret would hold more than ${MAX_LIVE_KEYS} keys. Use at least ${minRotationDays} days, or shorten JWT_EXPIRES_IN.`,
    );
  }

  for (const name of SECRET_VARIABLES) {
    if (sources.env[name] !== undefined && sources.env[name] !== '') {
      warnings.push(
        `${name} is set, and is never read into this app or its template. Put it into the signing secret with ` +
          '`npm run secret:import -- --stack <StackName> --env-file <path>` after the first deploy.',
      );
      break;
    }
  }

  const minterRoleArns = (lookup(sources, 'minterRoleArns', ['KEY_MINTER_ROLE_ARNS']).value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const roleArn of minterRoleArns) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+/.test(roleArn)) {
      throw new ConfigError(`minterRoleArns has "${roleArn}": list IAM role ARNs (arn:aws:iam::123456789012:role/portal-backend), comma separated.`);
    }
  }
  // HTTP APIs have no resource policy, so IAM authorization only admits principals of the API's own account.
  const minterAccounts = new Set(minterRoleArns.map((a) => a.split(':')[4]));
  if (minterAccounts.size > 1) {
    throw new ConfigError(`minterRoleArns names roles in several accounts (${[...minterAccounts].join(', ')}): POST /keys uses IAM authorization, which admits only roles of the account the API runs in.`);
  }

  const retentionRaw = lookup(sources, 'logRetentionDays', ['LOG_RETENTION_DAYS']);
  const logRetentionDays = integer(retentionRaw, 30, 1, 3653, '');
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    throw new ConfigError(`${retentionRaw.from} is ${logRetentionDays}: CloudWatch Logs accepts ${LOG_RETENTION_DAYS.join(', ')}.`);
  }

  const kmsRaw = lookup(sources, 'logsKmsKeyArn', ['LOGS_KMS_KEY_ARN']);
  if (kmsRaw.value !== undefined && !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/.test(kmsRaw.value)) {
    throw new ConfigError(`${kmsRaw.from} is "${kmsRaw.value}": give a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>) whose key policy lets logs.<region>.amazonaws.com use it.`);
  }

  const throttle = {
    rateLimit: integer(lookup(sources, 'throttleRateLimit', ['THROTTLE_RATE_LIMIT']), 1000, 1, 100_000, 'Requests per second across the stage.'),
    burstLimit: integer(lookup(sources, 'throttleBurstLimit', ['THROTTLE_BURST_LIMIT']), 2000, 1, 100_000, 'Concurrent requests the stage absorbs in a burst.'),
  };

  const moesifBaseRaw = lookup(sources, 'moesifBaseUrl', ['MOESIF_BASE_URL']);
  const moesifBaseUrl = (httpsUrl(moesifBaseRaw, 'the Moesif base URL', true) ?? 'https://api.moesif.net').replace(/\/+$/, '');
  const moesif: MoesifConfig = {
    enabled: bool(lookup(sources, 'moesifForwarding', ['MOESIF_FORWARDING']), true),
    alarmTopicArn: topicArn(lookup(sources, 'alarmTopicArn', ['ALARM_TOPIC_ARN'])),
    applicationIdSecretArn: secretArn(lookup(sources, 'moesifApplicationIdSecretArn', ['MOESIF_APPLICATION_ID_SECRET_ARN'])),
    baseUrl: moesifBaseUrl,
  };

  const authorizer: AuthorizerConfig =
    mode === 'native' ? { mode } : { mode, cacheTtlSeconds, acceptPortalTokens, moesifGovernance: governance };

  return {
    authorizer,
    jwt: { algorithm, userIdField, companyIdField, expiresInSeconds, issuer, audience, clockToleranceSeconds },
    signingSecretArn,
    keyRotationDays,
    backendUrl: httpsUrl(lookup(sources, 'backendUrl', ['BACKEND_URL']), 'the backend URL'),
    minterRoleArns,
    logRetentionDays,
    logsKmsKeyArn: kmsRaw.value,
    throttle,
    moesif,
    warnings,
  };
}
