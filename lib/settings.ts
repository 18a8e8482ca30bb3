/**
 * Every setting of the app, declared once as data: its cdk context key, its environment names (the Moesif
 * Developer Portal's `PLUGIN_JWT_*` before the plain `JWT_*`), its default, the authorizer modes it acts in,
 * one line of documentation, and its parser. `loadConfig` (lib/config.ts) reads them, the error and warning
 * messages name them from here, and the README's configuration table is generated from this list
 * (`npm run docs`, checked by test/docs.test.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { ALGORITHMS, isAlgorithm, type Algorithm } from '../lambda/jwt/algorithms';
import { parseTrustedIssuers, TrustedIssuersError, type TrustedIssuer } from '../lambda/jwt/trusted-issuers';
import { parseDurationSeconds } from '../lambda/shared/duration';

export type Mode = 'native' | 'lambda';

/** A value a setting cannot take: the message says what is wrong and how to fix it (the loader names the setting). */
export class SettingValueError extends Error {}

export interface Setting<T> {
  /** The cdk context key (`-c key=value`, or `cdk.json`). */
  readonly key: string;
  /** Environment variable names, in priority order. */
  readonly env: readonly string[];
  /** The modes it takes effect in; absent for both. Setting it in another mode gives a synth warning. */
  readonly modes?: readonly Mode[];
  /** One line for the README's table. */
  readonly doc: string;
  /** The default as the README shows it. */
  readonly defaultDoc: string;
  readonly parse: (raw: string) => T;
  /**
   * The TypeScript type of the `JwtApiKeys` prop of the same name (`npm run docs` writes the props interface,
   * lib/jwt-api-keys-settings.ts, from these); absent for a setting of the standalone app only.
   */
  readonly propType?: string;
}

function setting<T>(spec: Setting<T>): Setting<T> {
  return spec;
}

const portal = (suffix: string) => [`PLUGIN_JWT_${suffix}`, `JWT_${suffix}`];

// ------------------------------------------------------------------------------------------------------
// Parsers: raw text in, a typed value or a SettingValueError out.

function oneOf<T extends string>(values: readonly T[], aliases: Record<string, T> = {}): (raw: string) => T {
  return (raw) => {
    const lower = raw.trim().toLowerCase();
    const found = values.find((v) => v.toLowerCase() === lower) ?? aliases[lower];
    if (found === undefined) throw new SettingValueError(`use ${[...values, ...Object.keys(aliases)].map((v) => `"${v}"`).join(', ')}`);
    return found;
  };
}

export function wholeNumber(min: number, max: number, fix = ''): (raw: string) => number {
  return (raw) => {
    const n = /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new SettingValueError(`it must be a whole number from ${min} to ${max}${fix ? `. ${fix}` : ''}`);
    return n;
  };
}

/** true/false, also 1/0, yes/no and on/off (as people write them). */
export function bool(raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new SettingValueError('use true or false');
}

const MIN_LIFETIME_SECONDS = 60;

/** A lifetime: seconds ("3600") or a count with a unit ("12h", "30d", "30 days" in quotes). */
export function lifetime(raw: string): number {
  const seconds = parseDurationSeconds(raw);
  if (seconds === undefined) throw new SettingValueError('give a positive lifetime in seconds ("3600") or with a unit ("12h", "30d")');
  // "-c jwtExpiresIn=30 days" without quotes reaches the app as "30": thirty seconds.
  if (seconds < MIN_LIFETIME_SECONDS) throw new SettingValueError(`that is ${seconds} seconds, too short for an API key: give a unit ("30d"), and quote a value with spaces ("30 days")`);
  return seconds;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/** An absolute https URL; plain http only on loopback when `allowLoopback` (a local stand-in). */
export function httpsUrl(what: string, allowLoopback = false): (raw: string) => string {
  return (raw) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new SettingValueError(`${what} must be an absolute https:// URL`);
    }
    if (url.protocol === 'http:' && allowLoopback && LOOPBACK.test(url.hostname)) return raw;
    if (url.protocol !== 'https:') throw new SettingValueError(`${what} must use https://, so tokens and data never cross the network in clear text`);
    return raw;
  };
}

/**
 * A secret's complete ARN. Secrets Manager appends "-" and 6 random letters and digits to the name, and IAM
 * grants an ARN exactly: from the partial ARN (the name only) a grant cannot be written. A name that itself
 * ends in "-" and 6 letters ("my-secret", "moesif-apikey") looks like a complete ARN, so the suffix must show
 * it is random: at least one capital or digit (all-lower-case happens to 1 random suffix in ~180).
 * What syntax cannot tell ("moesif-ApiKey" as a whole name) Secrets Manager cannot either: its APIs read
 * such an ending as the suffix, so a name-only ARN of that name works nowhere. The signing-key check then
 * fails the deploy naming the complete ARN as the fix (lambda/signing-key.ts, notReadable).
 */
export function completeSecretArn(raw: string): string {
  const how = 'give the complete ARN as `aws secretsmanager describe-secret --secret-id <name> --query ARN` prints it (it ends in "-" and the 6 characters Secrets Manager adds, e.g. "-AbC1eF")';
  const arn = /^arn:(aws[a-z-]*):secretsmanager:([a-z0-9-]+):(\d{12}):secret:(.+)$/.exec(raw.trim());
  if (!arn) throw new SettingValueError(`that is not a Secrets Manager secret ARN: ${how}`);
  const suffix = /-([A-Za-z0-9]{6})$/.exec(arn[4])?.[1];
  if (!suffix) throw new SettingValueError(`that is a partial ARN (the name only), which IAM cannot grant exactly: ${how}`);
  if (!/[A-Z0-9]/.test(suffix)) {
    throw new SettingValueError(`it cannot be told whether "${suffix}" is the random suffix Secrets Manager adds or the end of the secret's name: ${how}`);
  }
  return raw.trim();
}

function snsTopicArn(raw: string): string {
  if (!/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/.test(raw.trim())) throw new SettingValueError('give an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)');
  return raw.trim();
}

function kmsKeyArn(raw: string): string {
  if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/.test(raw.trim())) {
    throw new SettingValueError('give a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>) whose key policy lets logs.<region>.amazonaws.com use it');
  }
  return raw.trim();
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/** IAM role ARNs, separated by commas and/or white space; each one checked. */
export function roleArns(raw: string): string[] {
  const arns = raw.split(/[\s,]+/).filter(Boolean);
  for (const [i, arn] of arns.entries()) {
    if (!ROLE_ARN.test(arn)) throw new SettingValueError(`item ${i + 1} ("${arn}") is not an IAM role ARN: list role ARNs like arn:aws:iam::123456789012:role/portal-backend, separated by commas or spaces`);
  }
  return arns;
}

const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Claims the issuer sets itself (`sub` is the default user claim, so it is not among them). */
const REGISTERED_CLAIMS = ['iss', 'aud', 'exp', 'nbf', 'iat', 'jti'];

export function claimName(raw: string): string {
  const name = raw.trim();
  if (name === '') throw new SettingValueError('give a claim name');
  if (REGISTERED_CLAIMS.includes(name)) throw new SettingValueError(`"${name}" is a registered JWT claim the issuer sets itself: pick another claim name, such as "sub" or "org_id"`);
  return name;
}

export function isPlainClaimName(name: string): boolean {
  return CLAIM_NAME.test(name);
}

function nonEmpty(raw: string): string {
  if (raw.trim() === '') throw new SettingValueError('give a value');
  return raw.trim();
}

/** A CloudFormation stack name: a letter, then letters, digits and hyphens, at most 128. */
function stackName(raw: string): string {
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(raw.trim())) throw new SettingValueError('a stack name starts with a letter and has only letters, digits and hyphens (at most 128)');
  return raw.trim();
}

const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

function retentionDays(raw: string): number {
  const n = wholeNumber(1, 3653)(raw);
  if (!LOG_RETENTION_DAYS.includes(n)) throw new SettingValueError(`CloudWatch Logs accepts ${LOG_RETENTION_DAYS.join(', ')}`);
  return n;
}

function algorithm(raw: string): Algorithm {
  const found = ALGORITHMS.find((a) => a.toLowerCase() === raw.trim().toLowerCase());
  if (!found || !isAlgorithm(found)) throw new SettingValueError(`use one of ${ALGORITHMS.join(', ')}`);
  return found;
}

/** A JSON list, or the path of a file holding one. */
function trustedIssuers(raw: string): TrustedIssuer[] {
  const text = raw.trim();
  let json = text;
  if (!text.startsWith('[')) {
    if (!existsSync(text)) throw new SettingValueError('give a JSON list ([{"issuer":"https://idp.example.com/","audience":"my-api"}]) or the path of a file holding one');
    json = readFileSync(text, 'utf8');
  }
  try {
    return parseTrustedIssuers(json);
  } catch (err) {
    if (err instanceof TrustedIssuersError) throw new SettingValueError(err.message.replace(/\.$/, ''));
    throw err;
  }
}

/** A client token's longest lifetime: a short duration. */
function clientLifetime(raw: string): number {
  const seconds = parseDurationSeconds(raw);
  if (seconds === undefined || seconds > 3600) throw new SettingValueError('give a short lifetime: seconds ("300") or with a unit ("5m"), at most an hour');
  return seconds;
}

export type GovernanceMode = 'off' | 'fail-open' | 'fail-closed';
export type FailMode = 'closed' | 'open';

// ------------------------------------------------------------------------------------------------------
// The settings.

export const SETTINGS = {
  authorizer: setting({
    key: 'authorizer',
    propType: "'native' | 'lambda'",
    env: ['AUTHORIZER_MODE'],
    doc: '`native` (API Gateway JWT authorizer, RS256 only) or `lambda` (bundled Lambda authorizer, any algorithm)',
    defaultDoc: '`lambda`',
    parse: oneOf<Mode>(['native', 'lambda']),
  }),
  jwtAlgorithm: setting({
    key: 'jwtAlgorithm',
    propType: 'Algorithm',
    env: portal('ALGORITHM'),
    doc: 'HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512, EdDSA (any letter case)',
    defaultDoc: '`RS256`; `HS256` when a portal secret (`PLUGIN_JWT_SECRET`) is present',
    parse: algorithm,
  }),
  jwtUserIdField: setting({ key: 'jwtUserIdField', propType: 'string', env: portal('USER_ID_FIELD'), doc: 'claim holding the user id', defaultDoc: '`sub`', parse: claimName }),
  jwtCompanyIdField: setting({ key: 'jwtCompanyIdField', propType: 'string', env: portal('COMPANY_ID_FIELD'), doc: 'claim holding the company id', defaultDoc: '`org_id`', parse: claimName }),
  jwtExpiresIn: setting({
    key: 'jwtExpiresIn',
    propType: 'number | string',
    env: portal('EXPIRES_IN'),
    doc: 'longest key lifetime, and the ceiling the authorizer enforces on `exp`: seconds (`3600`) or `12h`, `30d`, `1w`',
    defaultDoc: '`30d`; `1d` in native mode',
    parse: lifetime,
  }),
  jwtIssuer: setting({
    key: 'jwtIssuer',
    propType: 'string',
    env: portal('ISSUER'),
    doc: '`iss` of minted keys (native: an https URL serving this API\'s discovery, no trailing slash)',
    defaultDoc: 'the API\'s URL',
    parse: nonEmpty,
  }),
  jwtAudience: setting({ key: 'jwtAudience', propType: 'string', env: portal('AUDIENCE'), doc: '`aud` of minted keys', defaultDoc: '`jwt-api`', parse: nonEmpty }),
  jwtClockToleranceSeconds: setting({
    key: 'jwtClockToleranceSeconds',
    propType: 'number',
    env: portal('CLOCK_TOLERANCE_SECONDS'),
    modes: ['lambda'],
    doc: 'allowed clock skew for `exp`, `nbf` and `iat`',
    defaultDoc: '`30`',
    parse: wholeNumber(0, 300, 'A few seconds covers clock skew.'),
  }),
  authorizerCacheTtlSeconds: setting({
    key: 'authorizerCacheTtlSeconds',
    propType: 'number',
    env: ['AUTHORIZER_CACHE_TTL_SECONDS'],
    modes: ['lambda'],
    doc: 'how long API Gateway caches a Lambda authorizer answer per key (revocations bypass it, see Key lifecycle)',
    defaultDoc: '`300`',
    parse: wholeNumber(0, 3600, 'API Gateway caches authorizer results for at most 3600 seconds.'),
  }),
  acceptPortalTokens: setting({
    key: 'acceptPortalTokens',
    propType: 'boolean',
    env: ['JWT_ACCEPT_PORTAL_TOKENS'],
    modes: ['lambda'],
    doc: 'accept keys the Moesif Developer Portal minted (no `iss`/`aud`/`kid`)',
    defaultDoc: '`false`',
    parse: bool,
  }),
  backendUrl: setting({
    key: 'backendUrl',
    env: ['BACKEND_URL'],
    doc: 'https URL the API proxies to: `/orders/7` goes to `<backendUrl>/orders/7`',
    defaultDoc: 'the echo Lambda',
    parse: httpsUrl('the backend URL'),
  }),
  signingSecretArn: setting({
    key: 'signingSecretArn',
    propType: 'string',
    env: ['JWT_SECRET_ARN'],
    doc: 'complete ARN of an existing signing secret (JWK Set, plain shared secret or PEM); checked at deploy, never written unless rotation is on',
    defaultDoc: 'a new secret',
    parse: completeSecretArn,
  }),
  keyRotationDays: setting({
    key: 'keyRotationDays',
    propType: 'number',
    env: ['KEY_ROTATION_DAYS'],
    doc: 'days between automatic rotations; `0` = off; at least a tenth of the lifetime',
    defaultDoc: '`90`; `0` for an imported secret',
    parse: wholeNumber(0, 1000, 'Use 0 to turn rotation off.'),
  }),
  minterRoleArns: setting({
    key: 'minterRoleArns',
    propType: 'string[]',
    env: ['KEY_MINTER_ROLE_ARNS'],
    doc: 'IAM role ARNs (commas or spaces between) allowed to mint and administer keys; the functions refuse other callers',
    defaultDoc: 'any principal granted `MintPolicyArn` / `KeyAdminPolicyArn`',
    parse: roleArns,
  }),
  logRetentionDays: setting({
    key: 'logRetentionDays',
    propType: 'number',
    env: ['LOG_RETENTION_DAYS'],
    doc: 'retention of the access log and function logs (Control Tower asks for 365; see Security)',
    defaultDoc: '`30`',
    parse: retentionDays,
  }),
  logsKmsKeyArn: setting({
    key: 'logsKmsKeyArn',
    propType: 'string',
    env: ['LOGS_KMS_KEY_ARN'],
    doc: 'customer-managed KMS key for every log group (its key policy must admit the logs service)',
    defaultDoc: 'CloudWatch Logs\' own encryption',
    parse: kmsKeyArn,
  }),
  throttleRateLimit: setting({
    key: 'throttleRateLimit',
    env: ['THROTTLE_RATE_LIMIT'],
    doc: 'the stage\'s steady request rate limit (caps what floods of junk tokens can cost)',
    defaultDoc: '`1000`',
    parse: wholeNumber(1, 100_000, 'Requests per second across the stage.'),
  }),
  throttleBurstLimit: setting({
    key: 'throttleBurstLimit',
    env: ['THROTTLE_BURST_LIMIT'],
    doc: 'the stage\'s burst limit',
    defaultDoc: '`2000`',
    parse: wholeNumber(1, 100_000, 'Concurrent requests the stage absorbs in a burst.'),
  }),
  revocationFailMode: setting({
    key: 'revocationFailMode',
    propType: "'closed' | 'open'",
    env: ['REVOCATION_FAIL_MODE'],
    modes: ['lambda'],
    doc: 'what a cold authorizer answers while the key registry cannot be read: `closed` (refuse) or `open` (allow)',
    defaultDoc: '`closed`',
    parse: oneOf<FailMode>(['closed', 'open']),
  }),
  revocationRefreshSeconds: setting({
    key: 'revocationRefreshSeconds',
    propType: 'number',
    env: ['REVOCATION_REFRESH_SECONDS'],
    modes: ['lambda'],
    doc: 'how often a warm authorizer reads what was revoked since (one DynamoDB query each time)',
    defaultDoc: '`5`',
    parse: wholeNumber(1, 60, 'The revocation delay grows with it.'),
  }),
  moesifForwarding: setting({ key: 'moesifForwarding', propType: 'boolean', env: ['MOESIF_FORWARDING'], doc: 'ship access logs to Moesif', defaultDoc: '`true`', parse: bool }),
  moesifApplicationIdSecretArn: setting({
    key: 'moesifApplicationIdSecretArn',
    propType: 'string',
    env: ['MOESIF_APPLICATION_ID_SECRET_ARN'],
    doc: 'complete ARN of a secret holding the Moesif Application Id',
    defaultDoc: 'a new secret to fill in',
    parse: completeSecretArn,
  }),
  moesifBaseUrl: setting({
    key: 'moesifBaseUrl',
    propType: 'string',
    env: ['MOESIF_BASE_URL'],
    doc: 'Moesif API base URL (plain http only on loopback, for a local stand-in)',
    defaultDoc: '`https://api.moesif.net`',
    parse: (raw) => httpsUrl('the Moesif base URL', true)(raw).replace(/\/+$/, ''),
  }),
  alarmTopicArn: setting({
    key: 'alarmTopicArn',
    propType: 'string',
    env: ['ALARM_TOPIC_ARN'],
    doc: 'SNS topic the alarms notify',
    defaultDoc: 'a new topic (output `AlarmTopicArn`)',
    parse: snsTopicArn,
  }),
  moesifGovernance: setting({
    key: 'moesifGovernance',
    propType: "'off' | 'fail-open' | 'fail-closed'",
    env: ['MOESIF_GOVERNANCE'],
    modes: ['lambda'],
    doc: 'enforce Moesif governance rules: `on` (= `fail-open`), `fail-closed` or `off`',
    defaultDoc: '`off`',
    parse: oneOf<GovernanceMode>(['off', 'fail-open', 'fail-closed'], { on: 'fail-open', true: 'fail-open', false: 'off' }),
  }),
  governanceMaxStaleSeconds: setting({
    key: 'governanceMaxStaleSeconds',
    propType: 'number',
    env: ['GOVERNANCE_MAX_STALE_SECONDS'],
    modes: ['lambda'],
    doc: 'after this long without reading Moesif\'s rules, `fail-closed` refuses and `fail-open` allows',
    defaultDoc: '`600`',
    parse: wholeNumber(60, 86_400, 'Rules are re-read every 60 seconds.'),
  }),
  trustedIssuers: setting({
    key: 'trustedIssuers',
    propType: 'TrustedIssuerInput[]',
    env: ['TRUSTED_ISSUERS'],
    doc: 'outside identity providers whose tokens the API accepts: a JSON list of `{issuer, audience, jwksUri?, algorithms?, userIdClaim?, companyIdClaim?, clientIdClaim?}`, or a file holding it (native mode: one, RSA, in place of this stack\'s keys)',
    defaultDoc: 'none',
    parse: trustedIssuers,
  }),
  clientTokenMaxLifetime: setting({
    key: 'clientTokenMaxLifetime',
    propType: 'number | string',
    env: ['CLIENT_TOKEN_MAX_LIFETIME'],
    modes: ['lambda'],
    doc: 'longest `exp − iat` of a token a client application signs itself',
    defaultDoc: '`5m`',
    parse: clientLifetime,
  }),
  routeRestrictedPlans: setting({
    key: 'routeRestrictedPlans',
    propType: 'boolean',
    env: ['ROUTE_RESTRICTED_PLANS'],
    modes: ['lambda'],
    doc: 'let plans restrict routes: the authorizer\'s answer is then cached per key and route (the request\'s method and path join its identity sources)',
    defaultDoc: '`false`',
    parse: bool,
  }),
  stackName: setting({ key: 'stackName', env: [], doc: 'CloudFormation stack name', defaultDoc: '`JwtApi`', parse: stackName }),
  envFile: setting({
    key: 'envFile',
    env: [],
    doc: 'a Moesif Developer Portal `.env` to read settings from (under the real environment); its secret is never read',
    defaultDoc: 'none',
    parse: nonEmpty,
  }),
} as const;

export type SettingKey = keyof typeof SETTINGS;
export type SettingValue<K extends SettingKey> = ReturnType<(typeof SETTINGS)[K]['parse']>;

/** How to set it, for messages: `-c key=…` and its environment names. */
export function howToSet(s: Setting<unknown>): string {
  return s.env.length ? `-c ${s.key}=…, or ${s.env.join(' / ')} in the environment` : `-c ${s.key}=…`;
}

/** The settings the `JwtApiKeys` construct takes as props (the others belong to the standalone app). */
export const PROP_KEYS = (Object.keys(SETTINGS) as SettingKey[]).filter((k) => (SETTINGS[k] as Setting<unknown>).propType !== undefined);

/** Markdown to JSDoc: code spans kept as they are, nothing that would end the comment. */
function jsdoc(text: string): string {
  return text.replace(/\*\//g, '*\u2215');
}

/** The text of lib/jwt-api-keys-settings.ts: one typed, documented prop per setting the construct takes. */
export function propsInterfaceSource(): string {
  const props = PROP_KEYS.map((key) => {
    const s = SETTINGS[key] as Setting<unknown>;
    const modes = s.modes ? ` (${s.modes.join(', ')} mode)` : '';
    const doc = jsdoc(s.doc);
    return [`  /**`, `   * ${doc[0].toUpperCase()}${doc.slice(1)}${modes}.`, `   * @default ${jsdoc(s.defaultDoc)}`, `   */`, `  readonly ${key}?: ${s.propType};`].join('\n');
  });
  return [
    '// Generated by `npm run docs` from lib/settings.ts: edit the settings there, not this file.',
    "import type { Algorithm } from '../lambda/jwt/algorithms';",
    "import type { TrustedIssuerInput } from '../lambda/jwt/trusted-issuers';",
    "import type { SettingKey, SettingValue } from './settings';",
    '',
    '/** The settings of `JwtApiKeys`: the app\'s `-c` settings of the same names, checked by the same validator (lib/config.ts). */',
    'export interface JwtApiKeysSettings {',
    props.join('\n'),
    '}',
    '',
    '/** Compile-time check that every prop accepts what its setting parses to (the validator hands that back). */',
    'type AllTrue<T extends Record<string, true>> = T;',
    'export type PropsAcceptParsedValues = AllTrue<{ [K in keyof JwtApiKeysSettings & SettingKey]-?: SettingValue<K> extends NonNullable<JwtApiKeysSettings[K]> ? true : false }>;',
    '',
  ].join('\n');
}

/** The README's configuration table, from the list above. */
export function settingsTable(): string {
  const rows = Object.values(SETTINGS).map((s: Setting<unknown>) => {
    const modes = s.modes ? s.modes.join(', ') : 'both';
    const prop = s.propType ? `\`${s.propType.replace(/\|/g, '\\|')}\`` : 'app only';
    return `| \`${s.key}\` | ${s.env.map((e) => `\`${e}\``).join(', ') || '—'} | ${s.defaultDoc} | ${modes} | ${prop} | ${s.doc} |`;
  });
  return ['| setting (`-c`) | environment | default | modes | `JwtApiKeys` prop | meaning |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
