import { parseArgs } from 'node:util';
import { parseDurationSeconds } from '../../lambda/shared/duration';
import { looksSecret, UsageError } from './errors';
import { GENERATE_ALGS, isSigningAlg, SIGNING_ALGS, type GenerateAlg, type SigningAlg } from './keys';
import { COMMAND_USAGE, USAGE, type CommandName } from './usage';

/** Relative paths are resolved by the front door (against the directory npm was run from). */
export type Command =
  | { name: 'help'; text: string }
  | { name: 'keys generate'; alg: GenerateAlg; out: string; force: boolean }
  | {
      name: 'token sign';
      key: string;
      kid?: string;
      sub: string;
      iss: string;
      aud: string[];
      ttlSeconds: number;
      claims: Record<string, unknown>;
      alg?: SigningAlg;
      now?: number;
    }
  | { name: 'token decode'; token: TokenInput }
  | {
      name: 'token verify';
      token: TokenInput;
      jwks: { url: URL } | { path: string };
      iss?: string;
      aud?: string[];
      algorithms: SigningAlg[];
      timeoutSeconds: number;
      now?: number;
    };

/** A token on the command line, or "-": read it from standard input (out of shell history and `ps`). */
export type TokenInput = { value: string } | { stdin: true };

type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean };
const S: OptionSpec = { type: 'string' };
const MANY: OptionSpec = { type: 'string', multiple: true };
const B: OptionSpec = { type: 'boolean' };

const COMMANDS: Record<CommandName, { options: Record<string, OptionSpec>; takesToken: boolean }> = {
  'keys generate': { options: { alg: S, out: S, force: B }, takesToken: false },
  'token sign': {
    options: { key: S, kid: S, sub: S, iss: S, aud: MANY, exp: S, alg: S, claim: MANY, 'claim-json': MANY, now: S },
    takesToken: false,
  },
  'token decode': { options: {}, takesToken: true },
  'token verify': { options: { jwks: S, iss: S, aud: MANY, alg: MANY, timeout: S, now: S }, takesToken: true },
};

/** What each option takes, for the message when key material or a token lands in it. */
const TAKES: Record<string, string> = {
  alg: 'an algorithm name', out: 'a directory', key: 'the path of a private key PEM file', kid: 'a key id',
  sub: 'the application id', iss: 'an issuer', aud: 'an audience', exp: 'a duration', now: 'epoch seconds',
  jwks: 'a JWK Set URL or file path', timeout: 'a duration',
};

/** Claims the tool sets itself (or never sets): `--claim` may not touch them. */
const REGISTERED = ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti'];

/** A command or option name as typed, quoted, if it is plainly one: the tool never repeats arbitrary input. */
const plain = (raw: string | undefined) => (raw !== undefined && /^-{0,2}[a-z][a-z0-9-]{0,30}$/i.test(raw) ? ` "${raw}"` : '');
const ordinal = (n: number) => {
  const suffix = ['th', 'st', 'nd', 'rd'];
  return `${n}${suffix[((n % 100) - 20) % 10] ?? suffix[n % 100] ?? 'th'}`;
};

/** Turns argv (after `npm run jwt --`) into a command. Throws UsageError, whose message never holds an argument's value. */
export function parseCommand(argv: string[]): Command {
  const [group, sub] = argv;
  if (group === undefined) throw new UsageError('no command given.');
  if (group === '-h' || group === '--help' || group === 'help') return { name: 'help', text: USAGE };
  if (group !== 'keys' && group !== 'token') {
    throw new UsageError(`unknown command${plain(group)}; commands: keys generate, token sign, token decode, token verify.`);
  }
  const name = `${group} ${sub}`;
  if (!Object.hasOwn(COMMANDS, name)) {
    if (sub === '-h' || sub === '--help') return { name: 'help', text: USAGE };
    const subs = group === 'keys' ? 'generate' : 'sign, decode, verify';
    throw new UsageError(sub === undefined || sub.startsWith('-') ? `${group} needs a command: ${subs}.` : `unknown command ${group}${plain(sub)}; ${group} commands: ${subs}.`);
  }
  try {
    const options = readOptions(name as CommandName, argv.slice(2));
    return options === 'help' ? { name: 'help', text: COMMAND_USAGE[name as CommandName] } : build(name as CommandName, options);
  } catch (err) {
    if (err instanceof UsageError) err.command = name;
    throw err;
  }
}

interface Options {
  values: Map<string, string[]>;
  flags: Set<string>;
  positionals: string[];
}

/** Options and arguments, checked against the command's spec; 'help' for -h/--help anywhere. */
function readOptions(name: CommandName, args: string[]): Options | 'help' {
  const spec = COMMANDS[name];
  // strict: false, then our own checks: Node's strict messages repeat values (a PEM after --key, a stray token).
  const { tokens } = parseArgs({ args, options: { ...spec.options, help: { type: 'boolean', short: 'h' } }, strict: false, allowPositionals: true, tokens: true });
  if (tokens.some((t) => t.kind === 'option' && t.name === 'help')) return 'help';

  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option') continue;
    const option = spec.options[t.name];
    if (!option) throw new UsageError(`unknown option${plain(t.rawName)} for ${name}.`);
    if (option.type === 'boolean') {
      if (t.value !== undefined) throw new UsageError(`--${t.name} takes no value.`);
      flags.add(t.name);
      continue;
    }
    // Non-strict parsing takes the next word as the value even when it is the next option.
    if (t.value === undefined || (!t.inlineValue && /^--?[a-z]/i.test(t.value))) throw new UsageError(`--${t.name} needs a value.`);
    const list = values.get(t.name) ?? [];
    if (list.length > 0 && !option.multiple) throw new UsageError(`--${t.name} is given more than once.`);
    if (t.name !== 'claim' && t.name !== 'claim-json' && looksSecret(t.value)) {
      throw new UsageError(`--${t.name} looks like key material or a token; it takes ${TAKES[t.name]}.`);
    }
    values.set(t.name, [...list, t.value]);
  }
  if (!spec.takesToken && positionals.length > 0) {
    throw new UsageError(`${name} takes no arguments besides options; ${positionals.length === 1 ? 'one was' : `${positionals.length} were`} given.`);
  }
  return { values, flags, positionals };
}

function build(name: CommandName, { values, flags, positionals }: Options): Command {
  const one = (option: string) => values.get(option)?.[0];
  const required = (option: string) => {
    const value = one(option);
    if (value === undefined || value.trim() === '') throw new UsageError(`--${option} is required.`);
    return value;
  };
  const token = (): TokenInput => {
    const [value, extra] = positionals;
    if (value === undefined || value === '') throw new UsageError(`${name} needs a token (or - to read it from standard input).`);
    if (extra !== undefined) throw new UsageError(`${name} takes one token; an extra argument was given.`);
    return value === '-' ? { stdin: true } : { value: value.trim() };
  };

  switch (name) {
    case 'keys generate': {
      const alg = required('alg');
      if (!(GENERATE_ALGS as readonly string[]).includes(alg)) throw new UsageError(`--alg must be one of ${GENERATE_ALGS.join(', ')}.`);
      return { name, alg: alg as GenerateAlg, out: one('out') ?? '.', force: flags.has('force') };
    }
    case 'token sign': {
      const sub = required('sub');
      const key = required('key');
      const aud = values.get('aud');
      if (!aud) throw new UsageError('--aud is required.');
      const alg = one('alg');
      return {
        name,
        key,
        kid: one('kid'),
        sub,
        iss: one('iss') ?? sub,
        aud,
        ttlSeconds: duration('exp', required('exp')),
        claims: claims(values.get('claim') ?? [], values.get('claim-json') ?? []),
        alg: alg === undefined ? undefined : signingAlg(alg),
        now: epoch(one('now')),
      };
    }
    case 'token decode':
      return { name, token: token() };
    case 'token verify':
      return {
        name,
        token: token(),
        jwks: jwksSource(required('jwks')),
        iss: one('iss'),
        aud: values.get('aud'),
        algorithms: values.get('alg')?.map(signingAlg) ?? SIGNING_ALGS,
        timeoutSeconds: one('timeout') === undefined ? 5 : duration('timeout', one('timeout')!),
        now: epoch(one('now')),
      };
  }
}

function signingAlg(value: string): SigningAlg {
  if (!isSigningAlg(value)) throw new UsageError(`--alg must be one of ${SIGNING_ALGS.join(', ')}.`);
  return value;
}

function duration(option: string, value: string): number {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined) throw new UsageError(`--${option} must be a positive duration such as 300 (seconds), 90s, 10m or 1h.`);
  return seconds;
}

function epoch(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,12}$/.test(value)) throw new UsageError('--now must be whole seconds since 1970-01-01T00:00:00Z.');
  return Number(value);
}

/** http:// only on loopback: a JWK Set fetched in clear text can be swapped on the way. */
function jwksSource(value: string): { url: URL } | { path: string } {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return { path: value };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError('--jwks is not a valid URL.');
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return { url };
  throw new UsageError('--jwks URL must use https:// (http:// only for localhost).');
}

/**
 * `--claim NAME=VALUE` always makes a string, so ids such as 007 or 1e3 arrive as typed;
 * `--claim-json NAME=JSON` makes a number, boolean, null, array or object. Types are chosen, not guessed.
 */
function claims(strings: string[], jsons: string[]): Record<string, unknown> {
  // A Map, so that a claim named __proto__ is a claim like any other.
  const result = new Map<string, unknown>();
  const add = (option: string, items: string[], parse: (value: string, n: number) => unknown) =>
    items.forEach((item, i) => {
      const where = `the ${ordinal(i + 1)} --${option}`;
      const eq = item.indexOf('=');
      if (eq < 1) throw new UsageError(`--${option} takes NAME=${option === 'claim' ? 'VALUE' : 'JSON'}; ${where} has no name before "=".`);
      const claim = item.slice(0, eq);
      if (REGISTERED.includes(claim)) {
        throw new UsageError(`--${option} cannot set "${claim}": ${REGISTERED.join(', ')} are set by --iss, --sub, --aud, --exp or the tool itself.`);
      }
      if (result.has(claim)) throw new UsageError(`${where} names a claim that is already given.`);
      result.set(claim, parse(item.slice(eq + 1), i));
    });
  add('claim', strings, (value) => value);
  add('claim-json', jsons, (value, i) => {
    try {
      return JSON.parse(value);
    } catch {
      throw new UsageError(`the ${ordinal(i + 1)} --claim-json value is not JSON (a string needs quotes: name='"text"').`);
    }
  });
  return Object.fromEntries(result);
}
