import { spawn } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { calculateJwkThumbprint, decodeProtectedHeader, importSPKI, jwtVerify, SignJWT, type JWK } from 'jose';
import { main } from '../../scripts/jwt';
import { LocalHttpServer } from '../support/local-server';

const ROOT = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'jwt-cli-'));
const ALGS = ['RS256', 'ES256', 'EdDSA'] as const;
type Alg = (typeof ALGS)[number];
const NOW = () => Math.floor(Date.now() / 1000);
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Each CLI run starts tsx (~0.6 s of CPU); at most three at a time on these 2-core machines. */
let running = 0;
const waiting: (() => void)[] = [];
async function cli(args: string[], options: { stdin?: string; umask?: string } = {}): Promise<Run> {
  while (running >= 3) await new Promise<void>((go) => waiting.push(go));
  running += 1;
  try {
    return await new Promise<Run>((done, fail) => {
      const node = [process.execPath, '--import', 'tsx', 'scripts/jwt.ts', ...args];
      // `umask` runs the CLI under that umask, to show private.pem's mode does not depend on it.
      const [command, ...argv] = options.umask ? ['sh', '-c', `umask ${options.umask} && exec "$@"`, 'sh', ...node] : node;
      // INIT_CWD is where npm was run: the CLI resolves relative paths against it, as under `npm run`.
      const child = spawn(command, argv, { cwd: ROOT, env: { ...process.env, INIT_CWD: dir, NODE_OPTIONS: '' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', fail);
      child.on('close', (code) => done({ code, stdout, stderr }));
      child.stdin.end(options.stdin ?? '');
    });
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

/**
 * The same command in-process: main() is everything the child runs but process start-up, at a few
 * ms a call instead of a tsx start-up. The child-process tests cover the process edge (exit status, streams).
 */
async function run(args: string[], stdin = ''): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { cwd: dir, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readStdin: async () => stdin });
  return { code, stdout, stderr };
}

/** A failure is exactly one line on stderr (so no stack trace), nothing on stdout, and its exit status. */
function expectFailure(run: Run, code: 1 | 2, line: string): void {
  expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({ code, stdout: '', stderr: `${line}\n` });
}

/** Serves the generated JWK Sets on 127.0.0.1, counting fetches; /slow never answers. */
class JwksServer extends LocalHttpServer {
  readonly bodies = new Map<string, string>();
  readonly hits = new Map<string, number>();

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '';
    this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
    if (path === '/slow') return;
    const body = this.bodies.get(path);
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(body ?? '{"message":"Not Found"}');
  }
}
const server = new JwksServer();
let baseUrl: string;

/** `keys generate` output per algorithm, in `dir/<alg>/`. */
const pairs = {} as Record<Alg, { out: Run; dir: string; kid: string }>;
const keyFile = (alg: Alg, name: string) => join(pairs[alg].dir, name);

beforeAll(async () => {
  baseUrl = await server.start();
  await Promise.all(
    ALGS.map(async (alg) => {
      // The RSA pair is written under umask 000, where a plain write would make a world-readable file.
      const out = await cli(['keys', 'generate', '--alg', alg, '--out', alg.toLowerCase()], { umask: alg === 'RS256' ? '000' : undefined });
      const kid = /^kid: (\S+)$/m.exec(out.stdout)?.[1] ?? '';
      pairs[alg] = { out, dir: join(dir, alg.toLowerCase()), kid };
      if (out.code === 0) server.bodies.set(`/${alg}/jwks.json`, readFileSync(keyFile(alg, 'jwks.json'), 'utf8'));
    }),
  );
});
afterAll(() => server.stop());

/** The token with another sub in its payload and the original signature. */
function forged(token: string): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  return `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url')}.${signature}`;
}

const signArgs = (alg: Alg, ...extra: string[]) => ['token', 'sign', '--key', `${alg.toLowerCase()}/private.pem`, '--sub', 'app-123', '--aud', 'https://api.example.com/token', '--exp', '10m', ...extra];

describe('keys generate', () => {
  it.each(ALGS)('%s: writes private.pem (PKCS#8, mode 0600), public.pem (SPKI) and a one-key jwks.json whose kid is the RFC 7638 thumbprint', async (alg) => {
    const { out, kid } = pairs[alg];
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('');
    const privatePem = readFileSync(keyFile(alg, 'private.pem'), 'utf8');
    expect(privatePem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(statSync(keyFile(alg, 'private.pem')).mode & 0o777).toBe(0o600);
    // The key stays in its file: the output names paths and the kid only.
    expect(out.stdout).toBe(
      `kid: ${kid}\nprivate key: ${keyFile(alg, 'private.pem')} (mode 0600; keep it secret)\npublic key: ${keyFile(alg, 'public.pem')}\nJWK Set: ${keyFile(alg, 'jwks.json')}\n`,
    );
    expect(out.stdout).not.toContain(privatePem.split('\n')[1].slice(0, 20));

    const publicPem = readFileSync(keyFile(alg, 'public.pem'), 'utf8');
    expect(publicPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const jwk = createPublicKey(publicPem).export({ format: 'jwk' }) as JWK;
    const jwks = JSON.parse(readFileSync(keyFile(alg, 'jwks.json'), 'utf8')) as { keys: JWK[] };
    expect(jwks).toEqual({ keys: [{ ...jwk, kid: await calculateJwkThumbprint(jwk, 'sha256'), alg, use: 'sig' }] });
    expect(kid).toBe(jwks.keys[0].kid);
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('refuses to replace an existing private.pem without --force; with it, replaces the pair and the file is 0600 again', async () => {
    mkdirSync(join(dir, 'existing'));
    writeFileSync(join(dir, 'existing/private.pem'), 'old key', { mode: 0o644 });
    chmodSync(join(dir, 'existing/private.pem'), 0o644);

    const refused = await run(['keys', 'generate', '--alg', 'ES256', '--out', 'existing']);
    expectFailure(refused, 1, `jwt: ${join(dir, 'existing/private.pem')} already exists; pass --force to replace the key pair.`);
    expect(readFileSync(join(dir, 'existing/private.pem'), 'utf8')).toBe('old key');
    expect(existsSync(join(dir, 'existing/public.pem'))).toBe(false);

    const forced = await run(['keys', 'generate', '--alg', 'ES256', '--out', 'existing', '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(dir, 'existing/private.pem'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(statSync(join(dir, 'existing/private.pem')).mode & 0o777).toBe(0o600);
  });
});

describe('token sign, then token verify', () => {
  it.each(ALGS)('%s: the token verifies against jwks.json, against the JWK Set URL, and with jose in-process', async (alg) => {
    const signed = await cli(signArgs(alg, '--claim', 'tier=007', '--claim-json', 'scope=["read","write"]', '--claim-json', 'n=5'));
    expect(signed.stderr).toBe('');
    expect(signed.code).toBe(0);
    // Only the token and a newline, so TOKEN=$(npm run -s jwt -- token sign ...) works.
    expect(signed.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const token = signed.stdout.trim();

    const before = server.hits.get(`/${alg}/jwks.json`) ?? 0;
    const check = ['--iss', 'app-123', '--aud', 'https://api.example.com/token'];
    const [fromFile, fromUrl] = await Promise.all([
      cli(['token', 'verify', token, '--jwks', `${alg.toLowerCase()}/jwks.json`, ...check]),
      cli(['token', 'verify', token, '--jwks', `${baseUrl}/${alg}/jwks.json`, ...check]),
    ]);
    expect(server.hits.get(`/${alg}/jwks.json`)).toBe(before + 1);

    // Real crypto, no CLI: jose with public.pem.
    const key = await importSPKI(readFileSync(keyFile(alg, 'public.pem'), 'utf8'), alg);
    const { payload, protectedHeader } = await jwtVerify(token, key, { algorithms: [alg], issuer: 'app-123', audience: 'https://api.example.com/token' });
    expect(protectedHeader).toEqual({ alg, kid: pairs[alg].kid, typ: 'JWT' });
    expect(payload).toEqual({
      iss: 'app-123', // defaults to --sub
      sub: 'app-123',
      aud: 'https://api.example.com/token',
      iat: expect.any(Number),
      exp: payload.iat! + 600,
      jti: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      tier: '007', // --claim: a string, as typed
      scope: ['read', 'write'], // --claim-json: JSON
      n: 5,
    });
    expect(Math.abs(payload.iat! - NOW())).toBeLessThan(30);

    for (const run of [fromFile, fromUrl]) {
      expect(run).toEqual({ code: 0, stdout: `${JSON.stringify(payload, null, 2)}\n`, stderr: '' });
    }
  });

  it('takes --iss, several --aud, --kid and a matching --alg, and says on stderr what verify did not check', async () => {
    const signed = await run(['token', 'sign', '--key', 'rs256/private.pem', '--sub', 'app-1', '--iss', 'issuer-9', '--aud', 'a1', '--aud', 'a2', '--exp', '90s', '--kid', 'my-key', '--alg', 'PS256', '--now', '2000000000']);
    expect(signed.code).toBe(0);
    const token = signed.stdout.trim();
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'PS256', kid: 'my-key', typ: 'JWT' });
    const { payload } = await jwtVerify(token, await importSPKI(readFileSync(keyFile('RS256', 'public.pem'), 'utf8'), 'PS256'), { currentDate: new Date(2000000010 * 1000) });
    expect(payload).toMatchObject({ iss: 'issuer-9', sub: 'app-1', aud: ['a1', 'a2'], iat: 2000000000, exp: 2000000090 });

    const jwks = { keys: [{ ...(JSON.parse(readFileSync(keyFile('RS256', 'jwks.json'), 'utf8')).keys[0] as JWK), kid: 'my-key', alg: 'PS256' }] };
    writeFileSync(join(dir, 'ps256.json'), JSON.stringify(jwks));
    const verified = await run(['token', 'verify', token, '--jwks', 'ps256.json', '--aud', 'a2', '--now', '2000000010']);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toEqual(payload);
    expect(verified.stderr).toBe('jwt: note: valid, but not checked: issuer (no --iss).\n');
  });

  it('warns on stderr when the private key file can be read by others, and still prints the token', async () => {
    const path = join(dir, 'open.pem');
    writeFileSync(path, readFileSync(keyFile('ES256', 'private.pem')));
    chmodSync(path, 0o644);
    const signed = await run(['token', 'sign', '--key', 'open.pem', '--sub', 'a', '--aud', 'b', '--exp', '1m']);
    expect(signed.code).toBe(0);
    expect(signed.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(signed.stderr).toBe(`jwt: warning: ${path} can be read by others (mode 0644); run chmod 600 on it.\n`);
  });
});

describe('token verify refuses', () => {
  let token: string;
  let expired: { token: string; exp: number };
  let otherKeySameKid: string;
  let unknownKid: string;
  const es = (...args: string[]) => run(['token', 'verify', ...args, '--jwks', 'es256/jwks.json']);

  beforeAll(async () => {
    const past = NOW() - 3600;
    mkdirSync(join(dir, 'other'));
    const [now, old, , unknown] = await Promise.all([
      run(signArgs('ES256')),
      run(signArgs('ES256', '--now', String(past))),
      run(['keys', 'generate', '--alg', 'ES256', '--out', 'other']),
      run(signArgs('ES256', '--kid', 'not-in-the-set')),
    ]);
    token = now.stdout.trim();
    expired = { token: old.stdout.trim(), exp: past + 600 };
    unknownKid = unknown.stdout.trim();
    // A different ES256 key claiming the published key's kid.
    otherKeySameKid = (await run(['token', 'sign', '--key', 'other/private.pem', '--kid', pairs.ES256.kid, '--sub', 'app-123', '--aud', 'x', '--exp', '5m'])).stdout.trim();
  });

  it('a token whose payload or signature was changed: bad signature, exit 1', async () => {
    const [header, payload, signature] = token.split('.');
    // A character in the middle: the last one may only carry padding bits.
    const i = Math.floor(signature.length / 2);
    const flipped = `${header}.${payload}.${signature.slice(0, i)}${signature[i] === 'A' ? 'B' : 'A'}${signature.slice(i + 1)}`;
    const runs = await Promise.all([es(token), es(forged(token)), es(flipped), es(otherKeySameKid)]);
    expect(runs[0].code).toBe(0);
    for (const run of runs.slice(1)) expectFailure(run, 1, 'jwt: invalid token: bad signature.');
  });

  it('an expired token (signed with --now an hour ago), and a valid one checked with --now after its exp', async () => {
    const [old, later] = await Promise.all([es(expired.token), es(token, '--now', String(NOW() + 3600))]);
    expectFailure(old, 1, `jwt: invalid token: expired at ${iso(expired.exp)}.`);
    const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp as number;
    expectFailure(later, 1, `jwt: invalid token: expired at ${iso(exp)}.`);
  });

  it('a wrong --iss, a wrong --aud, an unknown kid, an algorithm not in --alg', async () => {
    const [iss, aud, kid, alg] = await Promise.all([
      es(token, '--iss', 'someone-else'),
      es(token, '--aud', 'https://other.example.com'),
      es(unknownKid),
      es(token, '--alg', 'RS256', '--alg', 'EdDSA'),
    ]);
    expectFailure(iss, 1, 'jwt: invalid token: wrong issuer: "iss" is not the --iss value.');
    expectFailure(aud, 1, 'jwt: invalid token: wrong audience: "aud" does not contain the --aud value.');
    expectFailure(kid, 1, 'jwt: invalid token: unknown kid: no key in the JWK Set has kid "not-in-the-set" for "ES256".');
    expectFailure(alg, 1, 'jwt: invalid token: algorithm "ES256" not accepted (accepted: RS256, EdDSA).');
  });

  it('a token without exp (client-signed tokens must be short-lived), and one whose nbf is still ahead', async () => {
    const key = createPrivateKey(readFileSync(keyFile('ES256', 'private.pem')));
    const header = { alg: 'ES256', kid: pairs.ES256.kid, typ: 'JWT' };
    const nbf = NOW() + 3600;
    const [noExp, early] = await Promise.all([
      new SignJWT({ sub: 'app-123' }).setProtectedHeader(header).setIssuedAt().sign(key).then((t) => es(t)),
      new SignJWT({ sub: 'app-123' }).setProtectedHeader(header).setIssuedAt().setNotBefore(nbf).setExpirationTime('2h').sign(key).then((t) => es(t)),
    ]);
    expectFailure(noExp, 1, 'jwt: invalid token: missing "exp" claim.');
    expectFailure(early, 1, `jwt: invalid token: not valid yet: "nbf" is ${iso(nbf)}.`);
  });

  it('when the JWK Set URL answers 404, does not answer within --timeout, or is plain http:// to another host', async () => {
    const started = Date.now();
    const [missing, slow, plain] = await Promise.all([
      run(['token', 'verify', token, '--jwks', `${baseUrl}/missing`]),
      run(['token', 'verify', token, '--jwks', `${baseUrl}/slow`, '--timeout', '1s']),
      run(['token', 'verify', token, '--jwks', 'http://keys.example.com/jwks.json']),
    ]);
    expectFailure(missing, 1, `jwt: JWK Set ${baseUrl}/missing: Expected 200 OK from the JSON Web Key Set HTTP response.`);
    expectFailure(slow, 1, `jwt: no answer from the JWK Set URL ${baseUrl}/slow within 1 s.`);
    expect(server.hits.get('/slow')).toBe(1);
    expect(Date.now() - started).toBeLessThan(4000);
    expectFailure(plain, 2, 'jwt: --jwks URL must use https:// (http:// only for localhost). See: npm run -s jwt -- token verify --help');
  });
});

describe('token verify cannot use the JWK Set', () => {
  it('a missing file, a file that is not JSON, a private JWK Set, a URL nobody listens on: exit 1, one line', async () => {
    const token = (await run(signArgs('ES256'))).stdout.trim();
    writeFileSync(join(dir, 'not-json.json'), 'keys: none');
    const jwk = createPrivateKey(readFileSync(keyFile('ES256', 'private.pem'))).export({ format: 'jwk' });
    writeFileSync(join(dir, 'private-set.json'), JSON.stringify({ keys: [{ ...jwk, kid: pairs.ES256.kid, alg: 'ES256' }] }));
    const closed = new JwksServer();
    const closedUrl = await closed.start();
    await closed.stop();
    const verify = (jwks: string) => run(['token', 'verify', token, '--jwks', jwks]);
    const [missing, notJson, privateSet, refused] = await Promise.all([verify('nowhere.json'), verify('not-json.json'), verify('private-set.json'), verify(`${closedUrl}/jwks.json`)]);
    expectFailure(missing, 1, `jwt: cannot read --jwks ${join(dir, 'nowhere.json')}: no such file.`);
    expectFailure(notJson, 1, `jwt: --jwks ${join(dir, 'not-json.json')} is not JSON.`);
    expectFailure(privateSet, 1, `jwt: JWK Set ${join(dir, 'private-set.json')}: JSON Web Key Set members must be public keys.`);
    expect(privateSet.stderr).not.toContain(String(jwk.d).slice(0, 12));
    expectFailure(refused, 1, `jwt: cannot fetch the JWK Set from ${closedUrl}/jwks.json: ECONNREFUSED.`);
  });
});

describe('token decode', () => {
  it('prints header, payload and ISO dates as JSON marked UNVERIFIED, from an argument or from stdin ("-")', async () => {
    const token = (await run(signArgs('EdDSA', '--now', '1800000000'))).stdout.trim();
    const [arg, stdin] = await Promise.all([run(['token', 'decode', token]), run(['token', 'decode', '-'], `${token}\n`)]);
    for (const run of [arg, stdin]) {
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('jwt: UNVERIFIED: the signature was not checked; run token verify before trusting these claims.\n');
      const out = JSON.parse(run.stdout);
      expect(out).toEqual({
        verified: false,
        header: { alg: 'EdDSA', kid: pairs.EdDSA.kid, typ: 'JWT' },
        payload: expect.objectContaining({ sub: 'app-123', iat: 1800000000, exp: 1800000600 }),
        dates: { iat: '2027-01-15T08:00:00.000Z', exp: '2027-01-15T08:10:00.000Z' },
      });
      expect(run.stdout).toBe(`${JSON.stringify(out, null, 2)}\n`);
    }
  });
});

describe('errors: one line, the right exit status, no stack trace, no secret repeated', () => {
  const pem = () => readFileSync(keyFile('ES256', 'private.pem'), 'utf8');
  // Three base64url parts, but the payload is not JSON ("secret-not-json").
  const TOKEN_LIKE = 'eyJhbGciOiJFUzI1NiJ9.c2VjcmV0LW5vdC1qc29u.c2lnbmF0dXJlLXRoYXQtaXMtc2VjcmV0';

  it('key problems: wrong key type for --alg, a public key, an encrypted key, a missing file', async () => {
    const encrypted = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
    writeFileSync(join(dir, 'encrypted.pem'), encrypted, { mode: 0o600 });
    const sign = (key: string, ...extra: string[]) => run(['token', 'sign', '--key', key, '--sub', 'a', '--aud', 'b', '--exp', '1m', ...extra]);
    const [wrongType, publicKey, encryptedKey, missing, directory] = await Promise.all([
      sign('es256/private.pem', '--alg', 'RS256'),
      sign('es256/public.pem'),
      sign('encrypted.pem'),
      sign('nowhere/private.pem'),
      sign('es256'),
    ]);
    expectFailure(wrongType, 1, 'jwt: --alg RS256 needs an RSA key, but --key holds an EC P-256 key.');
    expectFailure(publicKey, 1, `jwt: --key must be a private key: ${keyFile('ES256', 'public.pem')} holds a public key.`);
    const enc = join(dir, 'encrypted.pem');
    expectFailure(encryptedKey, 1, `jwt: --key ${enc} is encrypted; decrypt it into a file only you can read: (umask 077; openssl pkey -in ${enc} -out private.pem)`);
    expectFailure(missing, 1, `jwt: cannot read --key ${join(dir, 'nowhere/private.pem')}: no such file.`);
    expectFailure(directory, 1, `jwt: cannot read --key ${join(dir, 'es256')}: it is a directory.`);
  });

  it('key material or a token in the wrong place is named, never repeated', async () => {
    const key = pem();
    const token = (await run(signArgs('ES256'))).stdout.trim();
    const runs = await Promise.all([
      run(['token', 'sign', '--key', key, '--sub', 'a', '--aud', 'b', '--exp', '1m']),
      run(['token', 'sign', `--key=${key}`, '--sub', 'a', '--aud', 'b', '--exp', '1m']),
      run(['token', 'verify', token, '--jwks', token]),
      run(['token', 'sign', token, '--key', 'es256/private.pem', '--sub', 'a', '--aud', 'b', '--exp', '1m']),
      run([token]),
      run(['token', 'decode', TOKEN_LIKE]),
      run(['token', 'sign', `--${TOKEN_LIKE}`]),
    ]);
    expectFailure(runs[0], 2, 'jwt: --key looks like key material or a token; it takes the path of a private key PEM file. See: npm run -s jwt -- token sign --help');
    expectFailure(runs[1], 2, 'jwt: --key looks like key material or a token; it takes the path of a private key PEM file. See: npm run -s jwt -- token sign --help');
    expectFailure(runs[2], 2, 'jwt: --jwks looks like key material or a token; it takes a JWK Set URL or file path. See: npm run -s jwt -- token verify --help');
    expectFailure(runs[3], 2, 'jwt: token sign takes no arguments besides options; one was given. See: npm run -s jwt -- token sign --help');
    expectFailure(runs[4], 2, 'jwt: unknown command; commands: keys generate, token sign, token decode, token verify. See: npm run -s jwt -- --help');
    expectFailure(runs[5], 1, 'jwt: malformed token: its header or payload is not base64url-encoded JSON.');
    expectFailure(runs[6], 2, 'jwt: unknown option for token sign. See: npm run -s jwt -- token sign --help');
    const secrets = [key.split('\n')[1].slice(0, 16), token.split('.')[2].slice(0, 16), 'c2lnbmF0dXJl', 'c2VjcmV0'];
    for (const run of runs) for (const secret of secrets) expect(run.stderr).not.toContain(secret);
  });

  it('bad usage: exit 2 and the command to get help for', async () => {
    const sign = (...extra: string[]) => run(['token', 'sign', '--key', 'es256/private.pem', '--sub', 'a', '--aud', 'b', ...extra]);
    const runs = await Promise.all([
      sign('--exp', '10 fortnights'),
      sign('--exp', '-5'),
      sign(),
      sign('--exp', '1m', '--claim', 'exp=9999999999'),
      sign('--exp', '1m', '--claim-json', 'plan=gold'),
      sign('--exp', '1m', '--verbose'),
      run(['frobnicate']),
      run(['token', 'decode']),
      run(['keys', 'generate', '--alg', 'HS256']),
      run([]),
    ]);
    const see = 'See: npm run -s jwt -- token sign --help';
    expectFailure(runs[0], 2, `jwt: --exp must be a positive duration such as 300 (seconds), 90s, 10m or 1h. ${see}`);
    expectFailure(runs[1], 2, `jwt: --exp must be a positive duration such as 300 (seconds), 90s, 10m or 1h. ${see}`);
    expectFailure(runs[2], 2, `jwt: --exp is required. ${see}`);
    expectFailure(runs[3], 2, `jwt: --claim cannot set "exp": iss, sub, aud, exp, iat, nbf, jti are set by --iss, --sub, --aud, --exp or the tool itself. ${see}`);
    expectFailure(runs[4], 2, `jwt: the 1st --claim-json value is not JSON (a string needs quotes: name='"text"'). ${see}`);
    expectFailure(runs[5], 2, `jwt: unknown option "--verbose" for token sign. ${see}`);
    expectFailure(runs[6], 2, 'jwt: unknown command "frobnicate"; commands: keys generate, token sign, token decode, token verify. See: npm run -s jwt -- --help');
    expectFailure(runs[7], 2, 'jwt: token decode needs a token (or - to read it from standard input). See: npm run -s jwt -- token decode --help');
    expectFailure(runs[8], 2, 'jwt: --alg must be one of RS256, ES256, EdDSA. See: npm run -s jwt -- keys generate --help');
    expectFailure(runs[9], 2, 'jwt: no command given. See: npm run -s jwt -- --help');
  });

  it('--help prints multi-line usage for the tool and for each command, exit 0', async () => {
    const runs = await Promise.all([run(['--help']), run(['keys', 'generate', '--help']), run(['token', 'sign', '-h']), run(['token', 'verify', '--help', '--bogus'])]);
    for (const run of runs) {
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout.split('\n').length).toBeGreaterThan(8);
    }
    expect(runs[0].stdout).toMatch(/^Usage: npm run -s jwt -- <command>/);
    for (const command of ['keys generate', 'token sign', 'token decode', 'token verify']) expect(runs[0].stdout).toContain(`  ${command}  `);
    expect(runs[1].stdout).toMatch(/^Usage: npm run -s jwt -- keys generate --alg RS256\|ES256\|EdDSA/);
    expect(runs[2].stdout).toMatch(/^Usage: npm run -s jwt -- token sign --key FILE/);
    expect(runs[3].stdout).toMatch(/^Usage: npm run -s jwt -- token verify TOKEN --jwks URL\|FILE/);
  });
});

describe('as a child process (node --import tsx scripts/jwt.ts)', () => {
  it('exit status 1 or 2 with one line on stderr and no stack trace; decode reads stdin; --help exits 0', async () => {
    const token = (await run(signArgs('ES256'))).stdout.trim();
    const key = readFileSync(keyFile('ES256', 'private.pem'), 'utf8');
    const [invalid, pasted, decoded, help] = await Promise.all([
      cli(['token', 'verify', forged(token), '--jwks', 'es256/jwks.json']),
      cli(['token', 'sign', '--key', key, '--sub', 'a', '--aud', 'b', '--exp', '1m']),
      cli(['token', 'decode', '-'], { stdin: token }),
      cli(['--help']),
    ]);
    expectFailure(invalid, 1, 'jwt: invalid token: bad signature.');
    expectFailure(pasted, 2, 'jwt: --key looks like key material or a token; it takes the path of a private key PEM file. See: npm run -s jwt -- token sign --help');
    expect(decoded.code).toBe(0);
    expect(decoded.stderr).toMatch(/^jwt: UNVERIFIED: /);
    expect(JSON.parse(decoded.stdout)).toMatchObject({ verified: false, payload: { sub: 'app-123' } });
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: npm run -s jwt -- <command>/);
  });

  it('the error messages of a bad duration, a wrong key type, an unreadable file and a malformed token', async () => {
    const sign = (key: string, ...extra: string[]) => cli(['token', 'sign', '--key', key, '--sub', 'a', '--aud', 'b', ...extra]);
    const [duration, keyType, unreadable, malformed] = await Promise.all([
      sign('es256/private.pem', '--exp', '10x'),
      sign('es256/private.pem', '--exp', '1m', '--alg', 'RS256'),
      sign('nowhere/private.pem', '--exp', '1m'),
      cli(['token', 'decode', 'not.a.token']),
    ]);
    expectFailure(duration, 2, 'jwt: --exp must be a positive duration such as 300 (seconds), 90s, 10m or 1h. See: npm run -s jwt -- token sign --help');
    expectFailure(keyType, 1, 'jwt: --alg RS256 needs an RSA key, but --key holds an EC P-256 key.');
    expectFailure(unreadable, 1, `jwt: cannot read --key ${join(dir, 'nowhere/private.pem')}: no such file.`);
    expectFailure(malformed, 1, 'jwt: malformed token: its header or payload is not base64url-encoded JSON.');
  });
});
