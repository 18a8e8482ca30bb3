import { readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { isSymmetric, type Algorithm } from '../lambda/jwt/algorithms';
import type { TrustedIssuer } from '../lambda/jwt/trusted-issuers';
import { howToSet, isPlainClaimName, SETTINGS, SettingValueError, type FailMode, type GovernanceMode, type Mode, type Setting, type SettingKey, type SettingValue } from './settings';

export type { FailMode, GovernanceMode } from './settings';

/** A setting that cannot work: the message names the setting, how to set it, and how to fix it. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** How the gateway checks tokens: a discriminated union, so mode-only settings cannot leak across. */
export type AuthorizerConfig =
  | { mode: 'native' }
  | {
      mode: 'lambda';
      /** Seconds API Gateway caches an authorizer answer per key. */
      cacheTtlSeconds: number;
      /** Accept the keys the Moesif Developer Portal's JWT plugin minted (no iss/aud/kid). */
      acceptPortalTokens: boolean;
      /** Deny callers a Moesif governance rule blocks. */
      moesifGovernance: GovernanceMode;
      /** After this long without reading Moesif's rules, fail-closed refuses and fail-open allows. */
      governanceMaxStaleSeconds: number;
      /** What a cold authorizer answers while the key registry cannot be read. */
      revocationFailMode: FailMode;
      /** How often a warm authorizer reads the revocations made since its last read. */
      revocationRefreshSeconds: number;
      /** Longest `exp − iat` of a client-signed token, in seconds. */
      clientTokenMaxLifetimeSeconds: number;
      /** Plans may restrict routes: answers are cached per key and route. */
      routeRestrictedPlans: boolean;
    };

export interface JwtConfig {
  algorithm: Algorithm;
  userIdField: string;
  companyIdField: string;
  /** Longest lifetime of a minted key, in seconds (JWT_EXPIRES_IN); also the ceiling on `exp` at the gateway. */
  expiresInSeconds: number;
  /** `iss` of minted keys; undefined means the API's own URL. */
  issuer?: string;
  audience: string;
  clockToleranceSeconds: number;
}

export interface MoesifConfig {
  /** Ship access logs to Moesif. */
  enabled: boolean;
  /** Secret holding the Moesif Application Id; undefined means the stack creates one to fill in. */
  applicationIdSecretArn?: string;
  baseUrl: string;
}

export interface AppConfig {
  stackName: string;
  authorizer: AuthorizerConfig;
  jwt: JwtConfig;
  /** An existing signing secret; undefined means the stack creates and fills one. */
  signingSecretArn?: string;
  /** Days between automatic key rotations; 0 turns rotation off. */
  keyRotationDays: number;
  /** HTTPS URL the API proxies to; undefined means the bundled echo backend. */
  backendUrl?: string;
  /** IAM roles allowed to call POST /keys and the key admin routes (the portal backend). */
  minterRoleArns: string[];
  logRetentionDays: number;
  /** Customer-managed KMS key for every log group; undefined means CloudWatch Logs' own encryption. */
  logsKmsKeyArn?: string;
  /** The $default stage's default route throttling. */
  throttle: { rateLimit: number; burstLimit: number };
  moesif: MoesifConfig;
  /** SNS topic the alarms notify; undefined means the stack creates one. */
  alarmTopicArn?: string;
  /**
   * Outside identity providers whose tokens the authorizer accepts (Lambda mode: any number, with client
   * applications and subscriptions; native mode: at most one, which replaces this stack's own keys).
   */
  trustedIssuers: TrustedIssuer[];
  /** Things that synthesize but deserve a look; the stack prints them as CDK warnings. */
  warnings: string[];
}

/** Where settings come from: cdk context, then the real environment, then a portal .env (`-c envFile`). */
export interface ConfigSources {
  context: (key: string) => unknown;
  env: Record<string, string | undefined>;
  /** Every context key given (to catch a misspelt `-c` key); CDK's own keys are left alone. */
  contextKeys?: string[];
  /** The account the stack deploys to, when known (CDK_DEFAULT_ACCOUNT). */
  account?: string;
  /**
   * Which front door the settings came through, for messages: the app's `-c key=value` (default), or the
   * props of the `JwtApiKeys` construct (`context` then reads the props, and `env` is empty).
   */
  door?: Door;
}

export type Door = 'app' | 'props';

const DAY = 86_400;
const LONG_NATIVE_LIFETIME = 7 * DAY;
const MAX_LIVE_KEYS = 10;

/** Variables a portal `.env` may hold that name a secret value: noticed, never read. */
export const SECRET_VARIABLES = ['PLUGIN_JWT_SECRET', 'JWT_SECRET'];

interface Found {
  raw: string;
  /** Where it came from, for messages: `-c jwtAlgorithm`, `environment variable JWT_ALGORITHM`, `JWT_ALGORITHM in .env`. */
  from: string;
}

/**
 * Reads settings from the three sources in one order, written once: cdk context, then the real environment
 * (under any of the setting's names, the portal's `PLUGIN_JWT_*` first), then the `.env` file. Empty
 * strings count as unset.
 */
class Sources {
  private readonly file: Record<string, string> = {};
  private readonly fileName?: string;
  private readonly values = new Map<SettingKey, unknown>();

  constructor(private readonly sources: ConfigSources) {
    const file = this.contextValue('envFile');
    if (file === undefined) return;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`-c envFile names ${file}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
    this.file = parseDotenv(text);
    this.fileName = file;
    // The secret's value is dropped here, before anything else can see it.
    for (const name of SECRET_VARIABLES) if (name in this.file) this.file[name] = this.file[name] === '' ? '' : '<present>';
  }

  private contextValue(key: string): string | undefined {
    const v = this.sources.context(key);
    return v === undefined || v === null || v === '' ? undefined : String(v);
  }

  find(s: Setting<unknown>): Found | undefined {
    const fromContext = this.contextValue(s.key);
    if (fromContext !== undefined) return { raw: fromContext, from: this.sources.door === 'props' ? `props.${s.key}` : `-c ${s.key}` };
    for (const name of s.env) {
      const v = this.sources.env[name];
      if (v !== undefined && v !== '') return { raw: v, from: `environment variable ${name}` };
    }
    for (const name of s.env) {
      const v = this.file[name];
      if (v !== undefined && v !== '') return { raw: v, from: `${name} in ${this.fileName}` };
    }
    return undefined;
  }

  /** The setting's value, or `fallback` when it is not set; a bad value throws naming the setting and how to set it. */
  get<K extends SettingKey>(key: K, fallback: SettingValue<K>): SettingValue<K>;
  get<K extends SettingKey>(key: K): SettingValue<K> | undefined;
  get<K extends SettingKey>(key: K, fallback?: SettingValue<K>): SettingValue<K> | undefined {
    if (this.values.has(key)) return this.values.get(key) as SettingValue<K>;
    const s = SETTINGS[key] as Setting<SettingValue<K>>;
    const found = this.find(s);
    let value = fallback;
    if (found) {
      try {
        value = s.parse(found.raw);
      } catch (err) {
        if (!(err instanceof SettingValueError)) throw err;
        // A prop names itself already (`props.key`); a -c flag or a variable is told its other spellings.
        const how = this.sources.door === 'props' ? '' : ` (${key}: ${howToSet(s)})`;
        throw new ConfigError(`${found.from} is "${found.raw}": ${err.message.replace(/\.$/, '')}.${how}`);
      }
    }
    this.values.set(key, value);
    return value;
  }

  /** Where a setting was given, or undefined when it was not. */
  given(key: SettingKey): string | undefined {
    return this.find(SETTINGS[key])?.from;
  }

  /** The secret variables present (in the environment or the file), with whether they are empty. */
  secretVariables(): Array<{ name: string; where: string; empty: boolean }> {
    const out: Array<{ name: string; where: string; empty: boolean }> = [];
    for (const name of SECRET_VARIABLES) {
      if (this.sources.env[name] !== undefined) out.push({ name, where: 'the environment', empty: this.sources.env[name] === '' });
      else if (name in this.file) out.push({ name, where: this.fileName!, empty: this.file[name] === '' });
    }
    return out;
  }
}

/** Context keys of this app look like `jwtAlgorithm`; CDK's own have `:`, `@`, `/` or `-` (feature flags, lookups). */
const APP_KEY = /^[a-z][A-Za-z0-9]*$/;

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
  }
  return d[a.length][b.length];
}

function unknownKeys(keys: string[]): void {
  const known = Object.keys(SETTINGS);
  for (const key of keys) {
    if (!APP_KEY.test(key) || known.includes(key)) continue;
    // A near spelling, or a truncation ("jwtAlgo"), is worth suggesting.
    const best = known.map((k) => ({ k, d: k.toLowerCase().startsWith(key.toLowerCase()) ? 0 : distance(key, k) })).sort((a, b) => a.d - b.d)[0];
    const hint = best.d <= Math.max(2, Math.floor(key.length / 4)) ? ` Did you mean -c ${best.k}?` : '';
    throw new ConfigError(`-c ${key} is not a setting of this app, so it would be ignored.${hint} The settings are listed in the README's Configuration table.`);
  }
}

/** Builds and validates the whole configuration; every failure is a ConfigError naming the setting, how to set it and the fix. */
export function loadConfig(sources: ConfigSources): AppConfig {
  unknownKeys(sources.contextKeys ?? []);
  const s = new Sources(sources);
  const warnings: string[] = [];
  const set = (key: SettingKey) => (sources.door === 'props' ? `the prop ${key}` : `${key} (${howToSet(SETTINGS[key])})`);
  /** A fix as the user writes it at their front door. */
  const use = (key: SettingKey, value: string) => (sources.door === 'props' ? `${key}: '${value}'` : `-c ${key}=${value}`);
  /** How to set the settings a message is about, for a -c flag or a variable (a prop names itself). */
  const named = (...keys: SettingKey[]) => (sources.door === 'props' ? '' : ` (${keys.map((k) => `${k}: ${howToSet(SETTINGS[k])}`).join('; ')})`);

  const mode: Mode = s.get('authorizer', 'lambda');
  const secrets = s.secretVariables();
  const portalSecret = secrets.find((v) => !v.empty);

  // A portal .env without an algorithm signs HS256 (jsonwebtoken's default): default to it, and say so.
  let algorithm = s.get('jwtAlgorithm');
  if (algorithm === undefined && portalSecret) {
    if (mode === 'native') {
      throw new ConfigError(
        `${portalSecret.name} is set in ${portalSecret.where} and no algorithm is, so the portal's keys are HS256, which API Gateway's JWT authorizer cannot verify. ` +
          `Set ${set('jwtAlgorithm')} to RS256 if the portal signs with a PEM key, or use ${use('authorizer', 'lambda')}.`,
      );
    }
    algorithm = 'HS256';
    warnings.push(`${portalSecret.name} is set in ${portalSecret.where} and no algorithm is: using HS256, what the portal signs with by default. Set ${set('jwtAlgorithm')} to say otherwise.`);
  }
  algorithm ??= 'RS256';
  if (mode === 'native' && algorithm !== 'RS256') {
    throw new ConfigError(
      `${s.given('jwtAlgorithm')} is "${algorithm}" but authorizer is "native": API Gateway's JWT authorizer only verifies RS256 (RSA keys from a JWKS). ` +
        `Set ${set('jwtAlgorithm')} to RS256, or use ${use('authorizer', 'lambda')}${isSymmetric(algorithm) ? ' to keep HMAC keys' : ''}.`,
    );
  }

  const userIdField = s.get('jwtUserIdField', 'sub');
  const companyIdField = s.get('jwtCompanyIdField', 'org_id');
  for (const [key, field] of [['jwtUserIdField', userIdField], ['jwtCompanyIdField', companyIdField]] as const) {
    if (mode === 'native' && !isPlainClaimName(field)) {
      throw new ConfigError(`${s.given(key)} is "${field}": in native mode the claim is read as $context.authorizer.claims.${field}, so use letters, digits and underscores only, or use ${use('authorizer', 'lambda')}. (${set(key)})`);
    }
  }
  if (userIdField === companyIdField) {
    const fix = userIdField === 'org_id' ? `Set ${set('jwtUserIdField')} back to "sub" (the user claim), or set ${set('jwtCompanyIdField')} to the claim holding the company` : `Set ${set('jwtCompanyIdField')} to the claim holding the company, e.g. "org_id"`;
    throw new ConfigError(`jwtUserIdField and jwtCompanyIdField are both "${userIdField}": Moesif needs the user and the company apart. ${fix}.`);
  }

  // Native mode cannot revoke a key: its default lifetime is a day, so the documented command is clean.
  const expiresInSeconds = s.get('jwtExpiresIn', mode === 'native' ? DAY : 30 * DAY);
  if (mode === 'native' && expiresInSeconds > LONG_NATIVE_LIFETIME) {
    warnings.push(
      `${s.given('jwtExpiresIn')} is ${expiresInSeconds} s (${Math.round(expiresInSeconds / DAY)} days) with the native authorizer, which cannot revoke a key before it expires. ` +
        `Shorten ${set('jwtExpiresIn')}, or use ${use('authorizer', 'lambda')}.`,
    );
  }

  const issuer = s.get('jwtIssuer');
  if (issuer !== undefined && mode === 'native') {
    const from = s.given('jwtIssuer');
    if (!/^https:\/\//.test(issuer)) throw new ConfigError(`${from} is "${issuer}": the issuer must use https:// (API Gateway fetches <issuer>/.well-known/openid-configuration). (${set('jwtIssuer')})`);
    if (issuer.endsWith('/')) {
      throw new ConfigError(`${from} is "${issuer}": drop the trailing slash. API Gateway compares "iss" as an exact string and appends /.well-known/openid-configuration itself. (${set('jwtIssuer')})`);
    }
  }

  const acceptPortalTokens = s.get('acceptPortalTokens', false);
  if (acceptPortalTokens && mode === 'native') {
    throw new ConfigError(`${s.given('acceptPortalTokens')} is true but authorizer is "native": portal keys carry no "iss", which API Gateway's JWT authorizer requires. Use ${use('authorizer', 'lambda')} while old portal keys are in use.${named('acceptPortalTokens', 'authorizer')}`);
  }
  if (acceptPortalTokens) {
    const until = new Date(Date.now() + expiresInSeconds * 1000).toISOString().slice(0, 10);
    warnings.push(
      "acceptPortalTokens is on: any holder of the portal's shared secret can mint keys that this API accepts, without iss, aud or kid. " +
        `Turn it off once the portal's keys have expired (the longest jwtExpiresIn ahead: ${until}).${named('acceptPortalTokens')}`,
    );
  }

  const governance = s.get('moesifGovernance', 'off');
  if (governance !== 'off' && mode === 'native') {
    throw new ConfigError(`${s.given('moesifGovernance')} is "${governance}" but authorizer is "native": Moesif governance rules are enforced by the Lambda authorizer. Use ${use('authorizer', 'lambda')}, or remove it.${named('moesifGovernance', 'authorizer')}`);
  }

  const signingSecretArn = s.get('signingSecretArn');
  // A rotation keeps each retired key while its tokens can be valid: rotating much more often than keys
  // live would pile keys up in the secret (64 KB at most).
  const minRotationDays = Math.max(1, Math.ceil(expiresInSeconds / DAY / MAX_LIVE_KEYS));
  const keyRotationDays = s.get('keyRotationDays', signingSecretArn ? 0 : Math.max(90, minRotationDays));
  if (keyRotationDays > 0 && keyRotationDays < minRotationDays) {
    throw new ConfigError(
      `${s.given('keyRotationDays')} is ${keyRotationDays} but keys live up to ${expiresInSeconds} s and a rotation keeps each retired key that long, ` +
        `so the secret would hold more than ${MAX_LIVE_KEYS} keys. Use at least ${minRotationDays} days, or shorten ${set('jwtExpiresIn')}.${named('keyRotationDays')}`,
    );
  }

  for (const secret of secrets) {
    warnings.push(
      secret.empty
        ? `${secret.name} is set but empty in ${secret.where}: there is no portal secret to import, and portal keys cannot be checked. Fill it in, or remove it.`
        : `${secret.name} is set in ${secret.where}, and is never read into this app or its template. Put it into the signing secret with ` +
            '`npm run secret:import -- --stack <StackName> --dotenv <path>` after the first deploy.',
    );
  }

  const minterRoleArns = s.get('minterRoleArns', []);
  // HTTP APIs have no resource policy, so IAM authorization only admits principals of the API's own account.
  const minterAccounts = new Set(minterRoleArns.map((a) => a.split(':')[4]));
  if (minterAccounts.size > 1) {
    throw new ConfigError(`${s.given('minterRoleArns')} names roles in several accounts (${[...minterAccounts].join(', ')}): the key routes use IAM authorization, which admits only roles of the account the API runs in. List roles of one account, the one the stack deploys to.${named('minterRoleArns')}`);
  }
  if (sources.account && minterAccounts.size === 1 && !minterAccounts.has(sources.account)) {
    throw new ConfigError(`${s.given('minterRoleArns')} names roles of account ${[...minterAccounts][0]}, but the stack deploys to ${sources.account}: the key routes use IAM authorization, which admits only roles of the API's own account. List roles of ${sources.account}, or deploy the stack to ${[...minterAccounts][0]}.${named('minterRoleArns')}`);
  }

  const trustedIssuers = s.get('trustedIssuers', []);
  if (issuer !== undefined && trustedIssuers.some((t) => t.issuer === issuer)) {
    throw new ConfigError(`${s.given('trustedIssuers')} lists "${issuer}", which is this stack's own issuer (jwtIssuer): its tokens would never reach that entry. Remove it from trustedIssuers.${named('trustedIssuers', 'jwtIssuer')}`);
  }
  if (mode === 'native' && trustedIssuers.length > 0) {
    const [only, ...more] = trustedIssuers;
    if (more.length > 0) {
      throw new ConfigError(`${s.given('trustedIssuers')} lists ${trustedIssuers.length} issuers, but API Gateway's JWT authorizer trusts one issuer: list one, or use ${use('authorizer', 'lambda')} for several.${named('trustedIssuers')}`);
    }
    if (only.algorithms.some((a) => !a.startsWith('RS'))) {
      throw new ConfigError(`${s.given('trustedIssuers')} gives ${only.issuer} the algorithms ${only.algorithms.join(', ')}, but API Gateway's JWT authorizer verifies RSA keys (RS256) only. Use ["RS256"], or ${use('authorizer', 'lambda')}.${named('trustedIssuers')}`);
    }
    if (only.jwksUri !== undefined) {
      throw new ConfigError(
        `${s.given('trustedIssuers')} gives ${only.issuer} a jwksUri, but API Gateway's JWT authorizer takes none: it reads the keys from the jwks_uri of ${only.issuer.replace(/\/$/, '')}/.well-known/openid-configuration. ` +
          `Remove jwksUri, or use ${use('authorizer', 'lambda')}.${named('trustedIssuers')}`,
      );
    }
    // The access log reads the issuer's claims as $context.authorizer.claims.<name>.
    for (const [field, claim] of [['userIdClaim', only.userIdClaim], ['companyIdClaim', only.companyIdClaim]] as const) {
      if (claim !== undefined && !isPlainClaimName(claim)) {
        throw new ConfigError(
          `${s.given('trustedIssuers')} gives ${only.issuer} the ${field} "${claim}": in native mode the claim is read as $context.authorizer.claims.${claim}, so use letters, digits and underscores only, or use ${use('authorizer', 'lambda')}.${named('trustedIssuers')}`,
        );
      }
    }
    if (only.clientIdClaim !== undefined) warnings.push(`${s.given('trustedIssuers')} gives ${only.issuer} a clientIdClaim, which authorizer=native never reads (it checks no client application). Remove it, or use ${use('authorizer', 'lambda')}.${named('trustedIssuers')}`);
    warnings.push(
      `trustedIssuers with authorizer=native: API Gateway's JWT authorizer trusts ${only.issuer} in place of this stack's own keys, so keys minted by POST /keys are not accepted, ` +
        `and client applications, subscriptions and plans cannot be enforced (the native authorizer checks the token only). Use ${use('authorizer', 'lambda')} to keep both.${named('trustedIssuers')}`,
    );
  }

  const config: AppConfig = {
    stackName: s.get('stackName', 'JwtApi'),
    authorizer:
      mode === 'native'
        ? { mode }
        : {
            mode,
            cacheTtlSeconds: s.get('authorizerCacheTtlSeconds', 300),
            acceptPortalTokens,
            moesifGovernance: governance,
            governanceMaxStaleSeconds: s.get('governanceMaxStaleSeconds', 600),
            revocationFailMode: s.get('revocationFailMode', 'closed'),
            revocationRefreshSeconds: s.get('revocationRefreshSeconds', 5),
            clientTokenMaxLifetimeSeconds: s.get('clientTokenMaxLifetime', 300),
            routeRestrictedPlans: s.get('routeRestrictedPlans', false),
          },
    jwt: { algorithm, userIdField, companyIdField, expiresInSeconds, issuer, audience: s.get('jwtAudience', 'jwt-api'), clockToleranceSeconds: s.get('jwtClockToleranceSeconds', 30) },
    signingSecretArn,
    keyRotationDays,
    backendUrl: s.get('backendUrl'),
    minterRoleArns,
    logRetentionDays: s.get('logRetentionDays', 30),
    logsKmsKeyArn: s.get('logsKmsKeyArn'),
    throttle: { rateLimit: s.get('throttleRateLimit', 1000), burstLimit: s.get('throttleBurstLimit', 2000) },
    moesif: {
      enabled: s.get('moesifForwarding', true),
      applicationIdSecretArn: s.get('moesifApplicationIdSecretArn'),
      baseUrl: s.get('moesifBaseUrl', 'https://api.moesif.net'),
    },
    alarmTopicArn: s.get('alarmTopicArn'),
    trustedIssuers,
    warnings,
  };

  // Settings the chosen mode does not use: said, not silently dropped.
  for (const [key, spec] of Object.entries(SETTINGS) as Array<[SettingKey, Setting<unknown>]>) {
    const from = s.given(key);
    if (from && spec.modes && !spec.modes.includes(mode)) {
      s.get(key);
      warnings.push(`${from} has no effect with authorizer=${mode} (it acts in ${spec.modes.join(', ')} mode: ${spec.doc}). Remove it, or use ${use('authorizer', spec.modes[0])}.${named(key)}`);
    }
  }
  return config;
}

/** A prop's value as the settings' parsers read it: the same text a `-c` flag would carry. */
function asText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * The second front door: the `JwtApiKeys` construct's props, checked by the same validator as the app's
 * context (so the same mistakes fail the same way), reading nothing from the environment or cdk context.
 * `settings` is the props without the construct's own (httpApi, stage, ...).
 */
export function configFromProps(settings: Record<string, unknown>, options: { account?: string } = {}): AppConfig {
  const given = Object.keys(settings).filter((k) => settings[k] !== undefined);
  for (const key of given) {
    const spec = (SETTINGS as Record<string, Setting<unknown>>)[key];
    if (!spec) throw new ConfigError(`props.${key} is not a setting of JwtApiKeys. Its settings are listed in the README's Configuration table (column "JwtApiKeys prop").`);
    if (spec.propType === undefined) {
      throw new ConfigError(`props.${key} is a setting of the standalone app only (${spec.doc}): on your own API, set it on your own stage or routes.`);
    }
  }
  return loadConfig({ door: 'props', context: (key) => asText(settings[key]), env: {}, account: options.account });
}
