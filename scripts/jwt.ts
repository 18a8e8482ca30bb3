/**
 * Key pairs and short-lived client-signed JWTs for client applications of an Amplify-style API:
 *
 *   npm run -s jwt -- keys generate --alg ES256 --out keys
 *   npm run -s jwt -- token sign --key keys/private.pem --sub APP --aud AUD --exp 5m
 *   npm run -s jwt -- token decode TOKEN
 *   npm run -s jwt -- token verify TOKEN --jwks keys/jwks.json --iss APP --aud AUD
 *
 * This file is the front door (files, standard streams, exit status); the parsing and the key and
 * token work live in scripts/jwt/. Errors are one line on stderr and never repeat a value that
 * could be secret. Exit status: 0 ok, 1 failed, 2 bad usage.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseCommand, type Command, type TokenInput } from './jwt/args';
import { CliError, UsageError } from './jwt/errors';
import { keySetError, localKeySet, remoteKeySet } from './jwt/jwks';
import { generateKeyPair, keyId, privateKeyFromPem, signingAlg } from './jwt/keys';
import { decodeToken, signToken, verifyToken } from './jwt/token';

export interface CliIo {
  /** Where relative paths start: npm runs scripts from the package root; INIT_CWD is where the user typed. */
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
}

const REASONS: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a directory', ENOTDIR: 'a parent is not a directory' };
const ioReason = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return REASONS[code] ?? code;
};

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${what} ${path}: ${ioReason(err)}.`);
  }
}

async function tokenText(input: TokenInput, io: CliIo): Promise<string> {
  return 'value' in input ? input.value : (await io.readStdin()).trim();
}

async function generate(cmd: Extract<Command, { name: 'keys generate' }>, io: CliIo): Promise<void> {
  const dir = resolve(io.cwd, cmd.out);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CliError(`cannot create --out ${dir}: ${ioReason(err)}.`);
  }
  const pair = await generateKeyPair(cmd.alg);
  const paths = { private: join(dir, 'private.pem'), public: join(dir, 'public.pem'), jwks: join(dir, 'jwks.json') };
  try {
    if (cmd.force) rmSync(paths.private, { force: true });
    // 'wx' creates the file with mode 0600 and fails if anything is there (a file or a link):
    // the key is never readable by others, not even between a write and a chmod.
    writeFileSync(paths.private, pair.privatePem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CliError(`${paths.private} already exists; pass --force to replace the key pair.`);
    }
    throw new CliError(`cannot write ${paths.private}: ${ioReason(err)}.`);
  }
  for (const [path, text] of [[paths.public, pair.publicPem], [paths.jwks, `${JSON.stringify(pair.jwks, null, 2)}\n`]]) {
    try {
      writeFileSync(path, text);
    } catch (err) {
      throw new CliError(`cannot write ${path}: ${ioReason(err)}.`);
    }
  }
  io.stdout(`kid: ${pair.kid}\nprivate key: ${paths.private} (mode 0600; keep it secret)\npublic key: ${paths.public}\nJWK Set: ${paths.jwks}\n`);
}

async function sign(cmd: Extract<Command, { name: 'token sign' }>, io: CliIo): Promise<void> {
  const path = resolve(io.cwd, cmd.key);
  const key = privateKeyFromPem(readText(path, '--key'), path);
  // As ssh does for its keys, though only a warning: the token still goes to stdout.
  const mode = statSync(path).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    io.stderr(`jwt: warning: ${path} can be read by others (mode ${mode.toString(8).padStart(4, '0')}); run chmod 600 on it.\n`);
  }
  const alg = signingAlg(key, cmd.alg);
  const token = await signToken({
    key,
    alg,
    kid: cmd.kid ?? (await keyId(key)),
    iss: cmd.iss,
    sub: cmd.sub,
    aud: cmd.aud.length === 1 ? cmd.aud[0] : cmd.aud,
    now: cmd.now ?? Math.floor(Date.now() / 1000),
    ttlSeconds: cmd.ttlSeconds,
    claims: cmd.claims,
  });
  io.stdout(`${token}\n`);
}

async function decode(cmd: Extract<Command, { name: 'token decode' }>, io: CliIo): Promise<void> {
  const { header, payload, dates } = decodeToken(await tokenText(cmd.token, io));
  io.stderr('jwt: UNVERIFIED: the signature was not checked; run token verify before trusting these claims.\n');
  io.stdout(`${JSON.stringify({ verified: false, header, payload, dates }, null, 2)}\n`);
}

async function verify(cmd: Extract<Command, { name: 'token verify' }>, io: CliIo): Promise<number> {
  const file = (path: string) => localKeySet(readText(path, '--jwks'), path);
  const { keys, source } = 'url' in cmd.jwks ? remoteKeySet(cmd.jwks.url, cmd.timeoutSeconds) : file(resolve(io.cwd, cmd.jwks.path));
  const token = await tokenText(cmd.token, io);
  const verdict = await verifyToken(token, keys, { algorithms: cmd.algorithms, issuer: cmd.iss, audience: cmd.aud, now: cmd.now }).catch((err) => {
    throw err instanceof CliError ? err : keySetError(err, source, cmd.timeoutSeconds);
  });
  if (!verdict.valid) {
    io.stderr(`jwt: invalid token: ${verdict.reason}\n`);
    return 1;
  }
  const unchecked = [cmd.iss === undefined && 'issuer (no --iss)', cmd.aud === undefined && 'audience (no --aud)'].filter(Boolean);
  if (unchecked.length > 0) io.stderr(`jwt: note: valid, but not checked: ${unchecked.join(', ')}.\n`);
  io.stdout(`${JSON.stringify(verdict.payload, null, 2)}\n`);
  return 0;
}

/** Runs one command; returns the exit status. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  try {
    const cmd = parseCommand(argv);
    switch (cmd.name) {
      case 'help':
        io.stdout(`${cmd.text}\n`);
        return 0;
      case 'keys generate':
        await generate(cmd, io);
        return 0;
      case 'token sign':
        await sign(cmd, io);
        return 0;
      case 'token decode':
        await decode(cmd, io);
        return 0;
      case 'token verify':
        return await verify(cmd, io);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`jwt: ${err.message} See: npm run -s jwt -- ${err.command ? `${err.command} ` : ''}--help\n`);
      return 2;
    }
    if (err instanceof CliError) {
      io.stderr(`jwt: ${err.message}\n`);
      return 1;
    }
    // Unexpected: the error's name only, since a message could quote input.
    io.stderr(`jwt: unexpected ${(err as Error).name ?? 'error'} (its message is not shown: it could quote an argument).\n`);
    return 1;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  void main(argv, {
    cwd: process.env.INIT_CWD ?? process.cwd(),
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    readStdin: () => readAll(process.stdin),
  }).then((code) => {
    process.exitCode = code;
  });
}
