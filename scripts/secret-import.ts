/**
 * Imports the Moesif Developer Portal's JWT signing secret into this stack's signing secret.
 *
 *   npm run secret:import -- --stack NAME --dotenv ../my-dev-portal-api/.env
 *
 * The secret becomes one key of the private JWK Set the stack keeps in Secrets Manager: a plain
 * string is an HMAC (`kty: "oct"`) key over its UTF-8 bytes, a PEM private key its JWK. It goes
 * first, so it signs new keys as the portal did, and API keys the portal already handed out verify.
 * The value never reaches stdout, a log or the CDK app; only `kid`s are printed.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parse as parseDotenv } from 'dotenv';
import { ALGORITHMS, hmacKeyBytes, isAlgorithm, isSymmetric, type Algorithm } from '../lambda/jwt/algorithms';
import { jwkFromPem, jwkFromSharedSecret, KeySetError, parseKeySet, publicJwks, thumbprint, type PrivateJwk } from '../lambda/jwt/jwk-set';
import { importKey } from '../lambda/jwt/lifecycle';
import { parseDurationSeconds } from '../lambda/shared/duration';
import { idProblem } from '../lambda/shared/ids';

export const USAGE = `Usage: npm run secret:import -- --stack NAME [options]
       node --import tsx scripts/secret-import.ts --stack NAME [options]

Puts the Moesif Developer Portal's JWT signing secret into the stack's signing secret (a private
JWK Set), so the API keys the portal handed out keep working and new keys are signed with it.

Where it goes (one of):
  --stack NAME         the deployed stack; its SigningSecretArn and PublicKeysSecretArn outputs name
                       the secret and its public copy
  --secret-arn ARN     the signing secret itself; its public copy is found from the secret's
                       jwt-api:public-keys-secret tag, else give --public-keys-secret-arn

Where it comes from (one of):
  --env-file PATH      the portal's .env (default: .env). Reads PLUGIN_JWT_SECRET (else JWT_SECRET),
                       PLUGIN_JWT_ALGORITHM (else JWT_ALGORITHM; default HS256) and
                       PLUGIN_JWT_KID (else JWT_KID)
  --dotenv PATH        the same as --env-file. Node checks an --env-file path itself, relative to the
                       directory npm runs in, and stops with "node: PATH: not found" if it is not there
                       (nodejs/node#54232); --dotenv avoids that
  --from-stdin         the secret itself on standard input (a pipe or a file, not a terminal)

Options:
  --algorithm ALG      the algorithm the portal signs with (overrides the .env; default HS256)
  --kid KID            the key id (overrides the .env; default: the key's RFC 7638 thumbprint, or a
                       random id for a shared secret, whose thumbprint would reveal a hash of it)
  --public-keys-secret-arn ARN
                       the public copy of the key set, which the discovery route and the
                       authorizer read (the stack's PublicKeysSecretArn output)
  --replace            drop the keys already in the secret. Without it, keys of the same algorithm
                       stay after the imported one, so keys this stack already minted still verify
  --no-trim            take the secret byte for byte; by default surrounding whitespace is removed,
                       as the portal's JWT plugin does before it signs
  --region REGION      AWS region (default: the secret ARN's, else the AWS SDK's usual sources)
  -h, --help           show this help

Prints the kid of every key in the secret, one per line, the signing key first; never the secret.
No error message repeats the value of an argument, so a secret typed in the wrong place stays out of logs.
Exit status: 0 done, 1 failed, 2 bad arguments.`;

/** The portal reads the prefixed name first and falls back to the plain one (empty counts as unset). */
const SECRET_NAMES = ['PLUGIN_JWT_SECRET', 'JWT_SECRET'];
const ALGORITHM_NAMES = ['PLUGIN_JWT_ALGORITHM', 'JWT_ALGORITHM'];
const KID_NAMES = ['PLUGIN_JWT_KID', 'JWT_KID'];
const EXPIRES_IN_NAMES = ['PLUGIN_JWT_EXPIRES_IN', 'JWT_EXPIRES_IN'];
/** The stack's default JWT_EXPIRES_IN: how long keys this import retires are kept, unless the .env says more. */
const DEFAULT_LIFETIME_SECONDS = 30 * 86_400;
/** What jsonwebtoken uses when the portal sets no algorithm. */
const DEFAULT_ALGORITHM: Algorithm = 'HS256';

/** Bad command line: exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The import cannot go ahead; the message says why and what to do. Exit status 1. */
export class ImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportError';
  }
}

export interface ImportFlags {
  stack?: string;
  secretArn?: string;
  publicKeysSecretArn?: string;
  /** Path of the portal's .env (the default source). */
  envFile?: string;
  fromStdin: boolean;
  algorithm?: string;
  kid?: string;
  replace: boolean;
  /** Remove surrounding whitespace, as the portal's plugin does (`--no-trim` turns it off). */
  trim: boolean;
  region?: string;
}

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+/;
const OPTION_NAME = /^--?[A-Za-z][A-Za-z0-9-]*$/;
const KNOWN_OPTIONS = ['--stack', '--secret-arn', '--public-keys-secret-arn', '--env-file', '--dotenv', '--from-stdin', '--algorithm', '--kid', '--replace', '--no-trim', '--region', '--help'];

/**
 * node:util parseArgs quotes the offending argument in its messages ("Unexpected argument 'hunter2'"):
 * a secret typed as a positional argument would land in a CI log. Say what is wrong without the value.
 */
function argumentProblem(err: Error & { code?: string }): string {
  const quoted = /'([^']*)'/.exec(err.message)?.[1] ?? '';
  const option = OPTION_NAME.test(quoted.split(' ')[0]) ? quoted.split(' ')[0] : undefined;
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return 'This command takes no positional arguments (the argument is not shown here): give every value after its option, and the secret in the .env file or on standard input.';
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      // Not even the option's name is repeated: `--<secret>` is an easy slip.
      return `Unknown option (not shown here); the options are ${KNOWN_OPTIONS.join(', ')}.`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return option ? `Option '${option}' needs a value (argument missing).` : 'An option is missing its value (argument missing).';
    default:
      return 'The arguments cannot be read.';
  }
}

/** Parses the command line; 'help' for -h/--help. */
export function parseFlags(argv: string[]): ImportFlags | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        stack: { type: 'string' },
        'secret-arn': { type: 'string' },
        'public-keys-secret-arn': { type: 'string' },
        'env-file': { type: 'string' },
        dotenv: { type: 'string' },
        'from-stdin': { type: 'boolean' },
        algorithm: { type: 'string' },
        kid: { type: 'string' },
        replace: { type: 'boolean' },
        'no-trim': { type: 'boolean' },
        region: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(argumentProblem(err as Error & { code?: string }));
  }
  if (values.help) return 'help';
  const text = (name: string): string | undefined => {
    const v = values[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`--${name} needs a value.`);
    return v;
  };
  const flags: ImportFlags = {
    stack: text('stack'),
    secretArn: text('secret-arn'),
    publicKeysSecretArn: text('public-keys-secret-arn'),
    envFile: text('env-file') ?? text('dotenv'),
    fromStdin: values['from-stdin'] === true,
    algorithm: text('algorithm'),
    kid: text('kid'),
    replace: values.replace === true,
    trim: values['no-trim'] !== true,
    region: text('region'),
  };
  if (!flags.stack && !flags.secretArn) throw new UsageError('Name the target: --stack NAME (or --secret-arn ARN).');
  if (values['env-file'] !== undefined && values.dotenv !== undefined) throw new UsageError('Give --env-file or --dotenv, not both.');
  if (flags.stack && flags.secretArn) throw new UsageError('Give --stack or --secret-arn, not both.');
  for (const [name, value] of [['--secret-arn', flags.secretArn], ['--public-keys-secret-arn', flags.publicKeysSecretArn]] as const) {
    // The value is not repeated: a secret pasted into the wrong argument must not reach a CI log.
    if (value !== undefined && !SECRET_ARN.test(value)) throw new UsageError(`${name} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME).`);
  }
  if (flags.kid !== undefined && idProblem(flags.kid)) throw new UsageError(`--kid ${idProblem(flags.kid)}.`);
  if (flags.fromStdin && flags.envFile) throw new UsageError('Give --env-file (or --dotenv) or --from-stdin, not both.');
  if (!flags.fromStdin) flags.envFile ??= '.env';
  return flags;
}

/** The portal's secret and how it signs with it, before conversion. */
export interface PortalSecret {
  secret: string;
  algorithm: Algorithm;
  kid?: string;
  /** Where the secret came from, for messages (e.g. "PLUGIN_JWT_SECRET in .env"); never the value. */
  source: string;
  /** The longest lifetime of the keys it signed (PLUGIN_JWT_EXPIRES_IN): how long the keys it retires are kept. */
  lifetimeSeconds: number;
}

function firstSet(env: Record<string, string>, names: string[]): { name: string; value: string } | undefined {
  for (const name of names) if (env[name] !== undefined && env[name] !== '') return { name, value: env[name] };
  return undefined;
}

/**
 * Reads the secret, algorithm and kid from the portal's .env text (or the raw secret from stdin).
 * Flags win over the file.
 */
export function readPortalSecret(flags: ImportFlags, input: { envText?: string; envFileName?: string; stdinText?: string }): PortalSecret {
  let raw: string;
  let source: string;
  let algorithm: { value: string; from: string } | undefined;
  let kid: { value: string; from: string } | undefined;
  let lifetime: { value: string; from: string } | undefined;
  if (flags.fromStdin) {
    raw = input.stdinText ?? '';
    source = 'standard input';
  } else {
    const file = input.envFileName ?? flags.envFile ?? '.env';
    // dotenv's own line parsing: unquoted values are trimmed, "double quoted" ones expand \n (PEM keys).
    const env = parseDotenv(input.envText ?? '');
    const chosen = firstSet(env, SECRET_NAMES);
    if (!chosen) {
      const present = SECRET_NAMES.find((n) => n in env);
      throw new ImportError(present ? `${present} in ${file} is empty.` : `${file} sets neither ${SECRET_NAMES.join(' nor ')}.`);
    }
    raw = chosen.value;
    source = `${chosen.name} in ${file}`;
    const alg = firstSet(env, ALGORITHM_NAMES);
    if (alg) algorithm = { value: alg.value, from: `${alg.name} in ${file}` };
    const kidVar = firstSet(env, KID_NAMES);
    if (kidVar) kid = { value: kidVar.value, from: `${kidVar.name} in ${file}` };
    const expVar = firstSet(env, EXPIRES_IN_NAMES);
    if (expVar) lifetime = { value: expVar.value, from: `${expVar.name} in ${file}` };
  }
  if (flags.algorithm) algorithm = { value: flags.algorithm, from: '--algorithm' };
  if (flags.kid) kid = { value: flags.kid, from: '--kid' };
  // The kid travels into every token header and log line (lambda/shared/ids.ts); its value is not echoed.
  const kidProblem = kid && idProblem(kid.value);
  if (kidProblem) throw new ImportError(`${kid!.from} ${kidProblem}.`);
  const lifetimeSeconds = lifetime ? parseDurationSeconds(lifetime.value) : DEFAULT_LIFETIME_SECONDS;
  if (lifetimeSeconds === undefined) throw new ImportError(`${lifetime!.from} is not a lifetime: give seconds ("3600") or a duration ("30d").`);

  // The portal's JWT plugin signs with getConfig('PLUGIN_JWT_SECRET').trim(): those are the bytes to keep.
  const secret = flags.trim ? raw.trim() : raw;
  if (secret === '') throw new ImportError(`The secret from ${source} is empty${raw === '' ? '' : ' (only whitespace)'}.`);

  const alg = algorithm?.value ?? DEFAULT_ALGORITHM;
  if (!isAlgorithm(alg)) {
    throw new ImportError(`${algorithm?.from ?? 'The algorithm'} is "${alg}", which is not supported: use one of ${ALGORITHMS.join(', ')}.`);
  }
  return { secret, algorithm: alg, kid: kid?.value, source, lifetimeSeconds };
}

const PEM = /^-----BEGIN [A-Z0-9 ]+-----/;

/** The portal's secret as a private JWK (kid: the portal's KID, else the RFC 7638 thumbprint; random for a shared secret). */
export async function portalJwk(portal: PortalSecret): Promise<PrivateJwk> {
  const { secret, algorithm, kid, source } = portal;
  const isPem = PEM.test(secret);
  if (isPem && isSymmetric(algorithm)) {
    throw new ImportError(
      `The secret from ${source} is a PEM key but the algorithm is ${algorithm}: jsonwebtoken signs HS* only with a plain string. ` +
        'Set PLUGIN_JWT_ALGORITHM (or --algorithm) to the algorithm the portal signs with, such as RS256.',
    );
  }
  if (!isPem && !isSymmetric(algorithm)) {
    throw new ImportError(`The secret from ${source} is a plain string but the algorithm is ${algorithm}, which needs a PEM private key. Use HS256, HS384 or HS512 for a shared secret.`);
  }
  try {
    return isPem ? await jwkFromPem(secret, algorithm, kid) : await jwkFromSharedSecret(secret, algorithm, kid);
  } catch (err) {
    if (!(err instanceof KeySetError)) throw err;
    const escaped = isPem && !secret.includes('\n') && secret.includes('\\n');
    throw new ImportError(
      `The secret from ${source}: ${err.message}` +
        (escaped ? ' Its line breaks are written as \\n: in a .env file put the PEM in "double quotes" so they become real line breaks.' : ''),
    );
  }
}

/** The HS* key is shorter than RFC 7518 §3.2 asks: a warning, since the portal signed with it anyway. */
export function shortSecretWarning(portal: PortalSecret, secretArn: string): string | undefined {
  if (!isSymmetric(portal.algorithm)) return undefined;
  const bytes = Buffer.byteLength(portal.secret, 'utf8');
  const want = hmacKeyBytes(portal.algorithm);
  if (bytes >= want) return undefined;
  return (
    `the secret is ${bytes} bytes, shorter than the ${want} bytes ${portal.algorithm} calls for (RFC 7518, section 3.2), ` +
    'which makes it easier to guess from any one API key. The portal accepted it, so it is imported as it is and the keys it minted keep working. ' +
    'To move away from it, keep rotation on (-c keyRotationDays=<days>, the default for a secret the stack created) and rotate now ' +
    `(aws secretsmanager rotate-secret --secret-id ${secretArn}): a generated full-length key then signs every new key, ` +
    'and this one only verifies until the rotation after that, so hand customers new keys before then.'
  );
}

export interface Target {
  secretArn: string;
  /** The public copy of the key set; undefined when it cannot be found (the import then stops before writing). */
  publicKeysSecretArn?: string;
}

/** Where the stack keeps its signing secret and its public copy: the SigningSecretArn and PublicKeysSecretArn outputs. */
export async function findSecretArn(
  flags: Pick<ImportFlags, 'stack' | 'secretArn' | 'publicKeysSecretArn'>,
  cloudformation: Pick<CloudFormationClient, 'send'>,
  region?: string,
): Promise<Target> {
  if (flags.secretArn) return { secretArn: flags.secretArn, publicKeysSecretArn: flags.publicKeysSecretArn };
  const name = flags.stack!;
  let stacks;
  try {
    ({ Stacks: stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: name })));
  } catch (err) {
    const e = err as Error;
    if (e.name === 'ValidationError' && /does not exist/.test(e.message)) {
      throw new ImportError(`Stack "${name}" does not exist${region ? ` in ${region}` : ''}: check --stack and --region.`);
    }
    throw err;
  }
  const stack = stacks?.[0];
  const output = (key: string) => stack?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
  const arn = output('SigningSecretArn');
  if (!arn) {
    throw new ImportError(
      `Stack "${name}" has no SigningSecretArn output${stack?.StackStatus ? ` (status ${stack.StackStatus})` : ''}: ` +
        'deploy this project\'s stack first, or pass --secret-arn.',
    );
  }
  return { secretArn: arn, publicKeysSecretArn: flags.publicKeysSecretArn ?? output('PublicKeysSecretArn') };
}

/** The tag the stack puts on a signing secret it created, naming the public copy. */
export const PUBLIC_COPY_TAG = 'jwt-api:public-keys-secret';

async function publicCopyFromTag(secrets: Pick<SecretsManagerClient, 'send'>, secretArn: string): Promise<string | undefined> {
  try {
    return (await secrets.send(new DescribeSecretCommand({ SecretId: secretArn }))).Tags?.find((t) => t.Key === PUBLIC_COPY_TAG)?.Value;
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') throw new ImportError(`Secret ${secretArn} does not exist (or is deleted): check the ARN and the region.`);
    return undefined;
  }
}

/** The keys now in the secret, for the imported key's algorithm; [] for no value or the stack's placeholder. */
async function currentKeys(secrets: Pick<SecretsManagerClient, 'send'>, secretArn: string, algorithm: Algorithm): Promise<PrivateJwk[]> {
  let value: string | undefined;
  try {
    value = (await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
  } catch (err) {
    // No value yet (or no secret: PutSecretValue then says so).
    if ((err as Error).name === 'ResourceNotFoundException') return [];
    throw err;
  }
  if (value === undefined || value.trim() === '') return [];
  try {
    // The placeholder the stack creates the secret with ({"keys":[],"placeholder":...}) holds no key.
    const parsed = JSON.parse(value) as { keys?: unknown };
    if (Array.isArray(parsed.keys) && parsed.keys.length === 0) return [];
  } catch {
    // Not JSON: parseKeySet reads a plain string or PEM as one key, as the stack does.
  }
  try {
    return (await parseKeySet(value, algorithm)).keys;
  } catch (err) {
    if (!(err instanceof KeySetError)) throw err;
    throw new ImportError(`The secret's current value is not a key set this stack reads (${err.message}) Rerun with --replace to overwrite it.`);
  }
}

export interface ImportOptions {
  flags: ImportFlags;
  /** Text of the portal's .env (unless --from-stdin). */
  envText?: string;
  /** The .env's name as the user gave it, for messages. */
  envFileName?: string;
  /** What came on standard input (with --from-stdin). */
  stdinText?: string;
  /** A client, or a factory given the secret's ARN (so it can use the ARN's region). */
  secrets: Pick<SecretsManagerClient, 'send'> | ((secretArn: string) => Pick<SecretsManagerClient, 'send'>);
  cloudformation: Pick<CloudFormationClient, 'send'>;
  /** Region shown in messages. */
  region?: string;
  /** Warnings and notes for a human (stderr); never carries the secret. */
  log?: (line: string) => void;
}

export interface ImportResult {
  secretArn: string;
  /** Every kid in the secret now, the signing key first. */
  kids: string[];
  imported: { kid: string; alg: Algorithm };
  /** kids kept from before, after the imported key. */
  kept: string[];
  /** kids that were in the secret and are gone. */
  dropped: string[];
  /** False when the secret already held exactly this set. */
  written: boolean;
}

/**
 * The import: read the portal secret, convert it, merge it ahead of the keys already in the secret
 * (unless --replace) and write the set. Clients are parameters, so tests run it against local servers.
 */
export async function importPortalSecret(options: ImportOptions): Promise<ImportResult> {
  const { flags, cloudformation, log = () => undefined } = options;
  // Everything that can be checked locally is checked before any AWS call.
  const portal = readPortalSecret(flags, options);
  let jwk = await portalJwk(portal);
  const target = await findSecretArn(flags, cloudformation, options.region);
  const { secretArn } = target;
  const secrets = typeof options.secrets === 'function' ? options.secrets(secretArn) : options.secrets;
  const publicKeysSecretArn = target.publicKeysSecretArn ?? (await publicCopyFromTag(secrets, secretArn));
  if (!publicKeysSecretArn) {
    throw new ImportError(
      'The public copy of the key set (which discovery and the authorizer read) cannot be found for this secret: ' +
        'pass --stack NAME, or --public-keys-secret-arn with the stack\'s PublicKeysSecretArn output.',
    );
  }

  const warning = shortSecretWarning(portal, secretArn);
  if (warning) log(`warning: ${warning}`);

  const print = await thumbprint(jwk);
  const sameMaterial = async (k: PrivateJwk) => k.alg === jwk.alg && (await thumbprint(k)) === print;
  const dropped: string[] = [];
  let before: PrivateJwk[] = [];
  let kept: PrivateJwk[] = [];
  if (!flags.replace) {
    before = await currentKeys(secrets, secretArn, jwk.alg);
    const signer = before.find((k) => k.retired_at === undefined);
    if (signer && signer.alg !== jwk.alg) {
      throw new ImportError(
        `The secret's signing key ("${signer.kid}") is ${signer.alg} but the portal key is ${jwk.alg}, and the stack checks one algorithm (jwtAlgorithm). ` +
          `Redeploy it with -c jwtAlgorithm=${jwk.alg} (or -c envFile=<the portal .env>) and run this again, or pass --replace if it already runs with ${jwk.alg}.`,
      );
    }
    // A second run without an explicit kid keeps the kid the first run chose (random for a shared secret).
    const earlier = await Promise.all(before.map(sameMaterial));
    const copy = before.find((_, i) => earlier[i]);
    if (copy && !portal.kid) jwk = { ...jwk, kid: copy.kid };
    for (const [i, key] of before.entries()) {
      if (key.alg !== jwk.alg) {
        dropped.push(key.kid);
        log(`note: dropped key "${key.kid}" (${key.alg}): the stack only verifies ${jwk.alg}.`);
      } else if (earlier[i]) {
        // Already there (a second run, or the raw secret the stack read before): the imported copy replaces it.
        if (key.kid !== jwk.kid) dropped.push(key.kid);
      } else if (key.kid === jwk.kid) {
        dropped.push(key.kid);
        log(`warning: the secret held a different key with kid "${key.kid}"; the imported key replaces it, so keys that one signed no longer verify.`);
      } else {
        kept.push(key);
      }
    }
  }
  // The imported key signs from now on; the keys of its algorithm retire now and are kept while their tokens live.
  const set = importKey({ keys: kept }, jwk, { now: Math.floor(Date.now() / 1000), maxLifetimeSeconds: portal.lifetimeSeconds, sameKey: () => false });
  const keys = set.keys;
  kept = keys.slice(1);

  const next = JSON.stringify({ keys });
  const unchanged = !flags.replace && JSON.stringify(before) === JSON.stringify(keys);
  if (unchanged) {
    log('note: the secret already holds this key set; nothing written.');
  } else {
    await refuseDuringRotation(secrets, secretArn);
    try {
      // Public first: the verifiers can know the key before anything signs with it.
      await writeIfChanged(secrets, publicKeysSecretArn, JSON.stringify(publicJwks({ keys: [...keys, ...before.filter((k) => k.kty !== 'oct')] })));
      await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: next }));
      await writeIfChanged(secrets, publicKeysSecretArn, JSON.stringify(publicJwks({ keys })));
    } catch (err) {
      if ((err as Error).name === 'ResourceNotFoundException') throw new ImportError(`A secret does not exist (or is deleted): check ${secretArn} and ${publicKeysSecretArn}, and the region.`);
      throw err;
    }
  }
  const rotation = await rotationNote(secrets, secretArn);
  if (rotation) log(rotation);
  return { secretArn, kids: keys.map((k) => k.kid), imported: { kid: jwk.kid, alg: jwk.alg }, kept: kept.map((k) => k.kid), dropped, written: !unchanged };
}

async function writeIfChanged(secrets: Pick<SecretsManagerClient, 'send'>, secretArn: string, text: string): Promise<void> {
  const current = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn })).then((o) => o.SecretString, () => undefined);
  if (current !== text) await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: text }));
}

/**
 * A rotation under way would finish by making its pending value (built before this import) current,
 * silently undoing the import. Best effort: without DescribeSecret permission the import goes ahead.
 */
async function refuseDuringRotation(secrets: Pick<SecretsManagerClient, 'send'>, secretArn: string): Promise<void> {
  let stages: Record<string, string[]> | undefined;
  try {
    stages = (await secrets.send(new DescribeSecretCommand({ SecretId: secretArn }))).VersionIdsToStages;
  } catch {
    return;
  }
  const pending = Object.values(stages ?? {}).some((s) => s.includes('AWSPENDING') && !s.includes('AWSCURRENT'));
  if (pending) {
    throw new ImportError(
      'A rotation of this secret is under way (a version is AWSPENDING), and finishing it would undo the import. ' +
        'Wait for it to finish, or if it failed, clear it (aws secretsmanager cancel-rotate-secret, then remove the AWSPENDING label), and run this again.',
    );
  }
}

/**
 * Rotation puts a generated key first and retires the others, keeping each while tokens it signed can
 * be valid (JWT_EXPIRES_IN). Best effort: without DescribeSecret permission there is simply no note.
 */
async function rotationNote(secrets: Pick<SecretsManagerClient, 'send'>, secretArn: string): Promise<string | undefined> {
  let out;
  try {
    out = await secrets.send(new DescribeSecretCommand({ SecretId: secretArn }));
  } catch {
    return undefined;
  }
  if (!out.RotationEnabled) return undefined;
  const next = out.NextRotationDate ? ` (next: ${out.NextRotationDate.toISOString().slice(0, 10)})` : '';
  return (
    `note: rotation is on for this secret${next}. The imported key signs until the next rotation, then verifies for JWT_EXPIRES_IN more; ` +
    'portal keys that outlive that (minted with a longer PLUGIN_JWT_EXPIRES_IN) stop working. Deploy with -c keyRotationDays=0 while they are in use.'
  );
}

/** The region in a secret ARN (arn:aws:secretsmanager:REGION:...). */
function arnRegion(arn: string | undefined): string | undefined {
  return arn?.split(':')[3] || undefined;
}

export interface CliIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdinIsTty: boolean;
  readStdin: () => Promise<string>;
  readFile: (path: string) => string;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

function processIo(): CliIo {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stdinIsTty: process.stdin.isTTY === true,
    readStdin: () => readAll(process.stdin),
    readFile: (p) => readFileSync(p, 'utf8'),
  };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** The command: returns the exit status. Errors are one line on stderr, never a stack trace. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const say = (line: string) => io.stderr(`secret-import: ${oneLine(line)}\n`);
  let flags: ImportFlags;
  try {
    const parsed = parseFlags(argv);
    if (parsed === 'help') {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    flags = parsed;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    say(`error: ${err.message.replace(/([^.])$/, '$1.')} Run with --help for usage.`);
    return 2;
  }

  try {
    let envText: string | undefined;
    let stdinText: string | undefined;
    if (flags.fromStdin) {
      if (io.stdinIsTty) {
        throw new ImportError('--from-stdin reads a pipe or a file, not the terminal: printf %s "$SECRET" | npm run secret:import -- ... --from-stdin');
      }
      stdinText = await io.readStdin();
    } else {
      // npm runs scripts from the package root; INIT_CWD is where the user typed the command.
      const path = resolve(io.env.INIT_CWD ?? io.cwd, flags.envFile!);
      try {
        envText = io.readFile(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        throw new ImportError(`Cannot read the env file ${path} (${code}).`);
      }
    }
    const cloudformation = new CloudFormationClient({ region: flags.region });
    const regionLabel = flags.region ?? (await cloudformation.config.region().catch(() => undefined));
    const result = await importPortalSecret({
      flags,
      envText,
      envFileName: flags.envFile,
      stdinText,
      cloudformation,
      // A client in the secret's own region (from its ARN), unless --region says otherwise.
      secrets: (arn) => new SecretsManagerClient({ region: flags.region ?? arnRegion(arn) }),
      region: regionLabel,
      log: say,
    });
    for (const kid of result.kids) io.stdout(`${kid}\n`);
    say(
      `${result.written ? 'wrote' : 'kept'} ${result.kids.length} key(s) in ${result.secretArn}: "${result.imported.kid}" (${result.imported.alg}) signs new keys` +
        (result.kept.length ? `, ${result.kept.length} earlier key(s) still verify` : '') +
        '. Running functions pick it up within their key cache time (5 minutes by default).',
    );
    return 0;
  } catch (err) {
    const e = err as Error;
    if (e instanceof ImportError) say(`error: ${e.message}`);
    else if (/Region is missing/i.test(e.message)) say('error: No AWS region: pass --region or set AWS_REGION.');
    else say(`error: ${e.name}: ${e.message}`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
