import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { importJWK, jwtVerify, type JWK } from 'jose';
import jwt from 'jsonwebtoken';
import type { Algorithm } from '../../lambda/jwt/algorithms';
import { buildKeyRing, generateJwk, parseKeySet, PLAIN_SECRET_KID, publicJwks, thumbprint, type PrivateJwkSet } from '../../lambda/jwt/jwk-set';
import { ImportError, importPortalSecret, main, parseFlags, USAGE, UsageError, type CliIo, type ImportFlags } from '../../scripts/secret-import';
import { LocalCloudFormation } from '../support/cloudformation-server';
import { authorizerEvent, issueEvent } from '../support/events';
import { loadFunctions, localRegistry } from '../support/functions';
import { LocalSecretsManager, useLocalAws } from '../support/secrets-server';

const ROOT = resolve(__dirname, '../..');
const sm = new LocalSecretsManager();
const registry = localRegistry();
const cfn = new LocalCloudFormation();
let secrets: SecretsManagerClient;
let cloudformation: CloudFormationClient;
const dir = mkdtempSync(join(tmpdir(), 'secret-import-'));

beforeAll(async () => {
  useLocalAws('SECRETS_MANAGER', await sm.start());
  process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = await cfn.start();
  secrets = new SecretsManagerClient({});
  cloudformation = new CloudFormationClient({});
});
afterAll(async () => {
  secrets.destroy();
  cloudformation.destroy();
  await Promise.all([sm.stop(), cfn.stop()]);
});

let n = 0;
/** A deployed stack whose signing secret holds `value` (the stack's placeholder by default). */
function deployedStack(value = '{"keys":[],"placeholder":"Xk2fP0aQ"}'): { stack: string; arn: string; publicArn: string } {
  n += 1;
  const arn = sm.put(`JwtApiSigningKey${n}`, value);
  const publicArn = sm.put(`JwtApiPublicKeys${n}`, '{"keys":[]}');
  const stack = `JwtApi${n}`;
  cfn.addStack(stack, { ApiUrl: 'https://abc.execute-api.us-east-1.amazonaws.com', SigningSecretArn: arn, PublicKeysSecretArn: publicArn });
  return { stack, arn, publicArn };
}

/** The portal's createApiKey: jsonwebtoken exactly as its JWT plugin calls it. */
function portalToken(secret: string, algorithm: jwt.Algorithm, kid?: string): string {
  return jwt.sign({ sub: 'cus_123', org_id: 'cus_123' }, secret, { algorithm, expiresIn: '30d', ...(kid && { keyid: kid }) });
}

function storedSet(arn: string): PrivateJwkSet {
  return JSON.parse(sm.current(arn)!) as PrivateJwkSet;
}

/** Verifies like an API would: jose with the imported key's public part (the secret itself for HMAC). */
async function verifiesWith(token: string, key: JWK & { alg: string }): Promise<boolean> {
  const verifyJwk = key.kty === 'oct' ? key : publicJwks({ keys: [key as PrivateJwkSet['keys'][0]] }).keys[0];
  try {
    const { payload } = await jwtVerify(token, await importJWK(verifyJwk, key.alg), { algorithms: [key.alg] });
    return payload.sub === 'cus_123' && payload.org_id === 'cus_123';
  } catch {
    return false;
  }
}

async function run(args: string[], input: { envText?: string; stdinText?: string } = {}) {
  const parsed = parseFlags(args);
  if (parsed === 'help') throw new Error('unexpected help');
  const log: string[] = [];
  const before = sm.calls.PutSecretValue ?? 0;
  const result = await importPortalSecret({ flags: parsed, ...input, secrets, cloudformation, log: (l) => log.push(l) });
  return { result, log, puts: (sm.calls.PutSecretValue ?? 0) - before };
}

/** Runs an import that must fail; returns the error and checks nothing was written. */
async function failure(args: string[], input: { envText?: string; stdinText?: string } = {}): Promise<Error> {
  const before = sm.calls.PutSecretValue ?? 0;
  const err = await run(args, input).then(
    () => new Error('the import succeeded'),
    (e: Error) => e,
  );
  expect(sm.calls.PutSecretValue ?? 0).toBe(before);
  return err;
}

const SECRET = 'portal-shared-secret-0123456789abcdef-XYZ';

describe('importing the portal secret from its .env', () => {
  it('imports an HS256 string secret whose key verifies an API key the portal minted with jsonwebtoken', async () => {
    const { stack, arn, publicArn } = deployedStack();
    const token = portalToken(SECRET, 'HS256');
    const { result, puts } = await run(['--stack', stack], { envText: `PLUGIN_JWT_ALGORITHM=HS256\nPLUGIN_JWT_SECRET=${SECRET}\n` });

    const set = storedSet(arn);
    expect(set.keys).toHaveLength(1);
    expect(set.keys[0]).toMatchObject({ kty: 'oct', alg: 'HS256', k: Buffer.from(SECRET, 'utf8').toString('base64url') });
    expect(await verifiesWith(token, set.keys[0])).toBe(true);
    // Without a portal KID the kid is random: a thumbprint would be a plain SHA-256 of the secret, an offline guessing oracle.
    expect(set.keys[0].kid).not.toBe(await thumbprint({ kty: 'oct', k: set.keys[0].k }));
    expect(set.keys[0].kid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(result).toMatchObject({ secretArn: arn, kids: [set.keys[0].kid], written: true });
    // The private set, and its public copy (empty for HMAC keys, which are never published).
    expect(puts).toBe(1);
    expect(sm.current(publicArn)).toBe('{"keys":[]}');
    // The stack's own reader accepts what was written.
    expect(buildKeyRing(await parseKeySet(sm.current(arn)!, 'HS256'), 'HS256').signer.kid).toBe(set.keys[0].kid);
  });

  it('uses PLUGIN_JWT_KID as the kid, so portal keys that carry it find their key', async () => {
    const { stack, arn } = deployedStack();
    await run(['--stack', stack], { envText: `PLUGIN_JWT_SECRET=${SECRET}\nPLUGIN_JWT_KID=portal-2024\n` });
    const token = portalToken(SECRET, 'HS256', 'portal-2024');
    const set = storedSet(arn);
    expect(set.keys.map((k) => k.kid)).toEqual(['portal-2024']);
    expect(jwt.decode(token, { complete: true })?.header.kid).toBe('portal-2024');
    expect(await verifiesWith(token, set.keys[0])).toBe(true);
  });

  it('defaults to HS256 when the .env names no algorithm, as jsonwebtoken does', async () => {
    const { stack, arn } = deployedStack();
    await run(['--stack', stack], { envText: `JWT_SECRET=${SECRET}\n` });
    expect(storedSet(arn).keys[0].alg).toBe('HS256');
  });

  it('prefers each PLUGIN_JWT_* variable over its JWT_* fallback', async () => {
    const { stack, arn } = deployedStack();
    const envText = [
      'JWT_SECRET=the-unprefixed-secret-is-not-used-by-the-portal',
      `PLUGIN_JWT_SECRET=${SECRET}`,
      'JWT_ALGORITHM=HS512',
      'PLUGIN_JWT_ALGORITHM=HS384',
      'JWT_KID=old',
      'PLUGIN_JWT_KID=new',
    ].join('\n');
    await run(['--stack', stack], { envText });
    const [key] = storedSet(arn).keys;
    expect(key).toMatchObject({ kid: 'new', alg: 'HS384' });
    expect(await verifiesWith(portalToken(SECRET, 'HS384', 'new'), key)).toBe(true);
  });

  it('falls back to the JWT_* names when the prefixed ones are unset or empty', async () => {
    const { stack, arn } = deployedStack();
    await run(['--stack', stack], { envText: `PLUGIN_JWT_SECRET=\nJWT_SECRET=${SECRET}\nPLUGIN_JWT_ALGORITHM=\nJWT_ALGORITHM=HS512\nJWT_KID=plain\n` });
    const [key] = storedSet(arn).keys;
    expect(key).toMatchObject({ kid: 'plain', alg: 'HS512' });
    expect(await verifiesWith(portalToken(SECRET, 'HS512', 'plain'), key)).toBe(true);
  });

  it('keeps the exact UTF-8 bytes of a secret with quotes, #, = and non-ASCII characters', async () => {
    const { stack, arn } = deployedStack();
    const odd = 's3cr#t = "quoted" ünïcødé ✓ 0123456789abcdef';
    await run(['--stack', stack], { envText: `PLUGIN_JWT_SECRET='${odd}'\n` });
    const [key] = storedSet(arn).keys;
    expect(Buffer.from(key.k!, 'base64url').equals(Buffer.from(odd, 'utf8'))).toBe(true);
    expect(await verifiesWith(portalToken(odd, 'HS256'), key)).toBe(true);
  });

  it('trims surrounding whitespace as the portal plugin does, and keeps it with --no-trim', async () => {
    const padded = `  ${SECRET}\t`;
    const trimmed = deployedStack();
    await run(['--stack', trimmed.stack], { envText: `PLUGIN_JWT_SECRET="${padded}"\n` });
    // The plugin signs with getConfig('PLUGIN_JWT_SECRET').trim().
    expect(await verifiesWith(portalToken(padded.trim(), 'HS256'), storedSet(trimmed.arn).keys[0])).toBe(true);

    const exact = deployedStack();
    await run(['--stack', exact.stack, '--no-trim'], { envText: `PLUGIN_JWT_SECRET="${padded}"\n` });
    expect(await verifiesWith(portalToken(padded, 'HS256'), storedSet(exact.arn).keys[0])).toBe(true);
  });

  it('imports an RS256 PEM private key written across lines or with \\n escapes', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const token = portalToken(pem, 'RS256', 'rsa-1');
    for (const value of [`"${pem}"`, `"${pem.trim().replace(/\n/g, '\\n')}"`]) {
      const { stack, arn } = deployedStack();
      await run(['--stack', stack], { envText: `PLUGIN_JWT_ALGORITHM=RS256\nPLUGIN_JWT_KID=rsa-1\nPLUGIN_JWT_SECRET=${value}\n` });
      const [key] = storedSet(arn).keys;
      expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', kid: 'rsa-1', d: expect.any(String) });
      expect(await verifiesWith(token, key)).toBe(true);
      // The public JWKS the stack publishes carries it, without private members.
      expect(publicJwks(storedSet(arn)).keys[0]).toMatchObject({ kid: 'rsa-1', n: key.n, e: key.e });
      expect(publicJwks(storedSet(arn)).keys[0].d).toBeUndefined();
    }
  });

  it('uses the RFC 7638 thumbprint of the public key as kid for a PEM without PLUGIN_JWT_KID', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { stack, arn } = deployedStack();
    await run(['--stack', stack], { envText: `JWT_ALGORITHM=RS256\nJWT_SECRET="${privateKey.export({ format: 'pem', type: 'pkcs8' })}"\n` });
    expect(storedSet(arn).keys[0].kid).toBe(await thumbprint(publicKey.export({ format: 'jwk' }) as JWK));
  });

  it('finds the secret with --secret-arn without asking CloudFormation, its public copy by tag or flag', async () => {
    const { arn, publicArn } = deployedStack();
    const before = cfn.calls.DescribeStacks ?? 0;
    const { result } = await run(['--secret-arn', arn, '--public-keys-secret-arn', publicArn], { envText: `PLUGIN_JWT_SECRET=${SECRET}\n` });
    expect(result.secretArn).toBe(arn);
    expect(cfn.calls.DescribeStacks ?? 0).toBe(before);
    expect(storedSet(arn).keys).toHaveLength(1);

    // A secret the stack created carries a tag naming its public copy.
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const tagged = sm.put(`tagged-${n}`, '{"keys":[]}', { 'jwt-api:public-keys-secret': publicArn });
    await run(['--secret-arn', tagged, '--from-stdin', '--algorithm', 'RS256'], { stdinText: rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string });
    expect(JSON.parse(sm.current(publicArn)!).keys).toEqual([{ ...(rsa.publicKey.export({ format: 'jwk' }) as JWK), kid: storedSet(tagged).keys[0].kid, alg: 'RS256', use: 'sig' }]);

    // Neither: nothing is written, and the message says what to pass.
    const untagged = sm.put(`untagged-${n}`, '{"keys":[]}');
    const err = await failure(['--secret-arn', untagged], { envText: `PLUGIN_JWT_SECRET=${SECRET}\n` });
    expect(err.message).toMatch(/public copy of the key set .* cannot be found .* --public-keys-secret-arn/);
  });
});

describe('importing the raw secret from standard input', () => {
  it('takes algorithm and kid from the flags and drops the newline echo adds', async () => {
    const { stack, arn } = deployedStack();
    const { result } = await run(['--stack', stack, '--from-stdin', '--algorithm', 'HS512', '--kid', 'from-pipe'], { stdinText: `${SECRET}\n` });
    expect(result.kids).toEqual(['from-pipe']);
    expect(await verifiesWith(portalToken(SECRET, 'HS512', 'from-pipe'), storedSet(arn).keys[0])).toBe(true);
  });

  it('defaults to HS256 and a random kid, which a second run keeps', async () => {
    const { stack, arn } = deployedStack();
    await run(['--stack', stack, '--from-stdin'], { stdinText: SECRET });
    const [key] = storedSet(arn).keys;
    expect(key.alg).toBe('HS256');
    expect(key.kid).not.toBe(await thumbprint({ kty: 'oct', k: Buffer.from(SECRET).toString('base64url') }));
    const again = await run(['--stack', stack, '--from-stdin'], { stdinText: SECRET });
    expect(again.result).toMatchObject({ written: false, kids: [key.kid] });
  });
});

describe('keys already in the secret', () => {
  async function stackWithKeys(...algs: Algorithm[]) {
    const keys = await Promise.all(algs.map((a) => generateJwk(a)));
    return { ...deployedStack(JSON.stringify({ keys })), keys };
  }

  it('puts the imported key first and keeps earlier keys of the same algorithm, so tokens the stack minted still verify', async () => {
    const { stack, arn, keys } = await stackWithKeys('HS256', 'HS256');
    const { result } = await run(['--stack', stack], { envText: `PLUGIN_JWT_SECRET=${SECRET}\nPLUGIN_JWT_KID=portal\n` });
    expect(result.kids).toEqual(['portal', keys[0].kid, keys[1].kid]);
    expect(result.kept).toEqual([keys[0].kid, keys[1].kid]);
    const ring = buildKeyRing(storedSet(arn), 'HS256');
    expect(ring.signer.kid).toBe('portal');
    // The keys it pushed back are marked retired now, so a later rotation keeps them only while their tokens live.
    const now = Math.floor(Date.now() / 1000);
    for (const kept of storedSet(arn).keys.slice(1)) expect(kept.retired_at).toBeGreaterThanOrEqual(now - 5);
    const minted = jwt.sign({ sub: 'cus_123', org_id: 'cus_123' }, Buffer.from(keys[0].k!, 'base64url'), { algorithm: 'HS256', keyid: keys[0].kid });
    expect(ring.byKid.has(keys[0].kid)).toBe(true);
    expect(await verifiesWith(minted, storedSet(arn).keys.find((k) => k.kid === keys[0].kid)!)).toBe(true);
  });

  it('drops keys of another algorithm left over from an algorithm change, and says so', async () => {
    const { stack, arn, keys } = await stackWithKeys('HS256', 'RS256');
    const { result, log } = await run(['--stack', stack], { envText: `PLUGIN_JWT_SECRET=${SECRET}\n` });
    expect(result.kids).toEqual([storedSet(arn).keys[0].kid, keys[0].kid]);
    expect(result.dropped).toEqual([keys[1].kid]);
    expect(log.join('\n')).toContain(`dropped key "${keys[1].kid}" (RS256)`);
  });

  it('with --replace, leaves only the imported key and does not read the old value', async () => {
    const { stack, arn } = await stackWithKeys('HS256', 'HS256');
    const reads = sm.reads[arn] ?? 0;
    const { result } = await run(['--stack', stack, '--replace'], { envText: `PLUGIN_JWT_SECRET=${SECRET}\nPLUGIN_JWT_KID=only\n` });
    expect(result.kids).toEqual(['only']);
    expect(storedSet(arn).keys.map((k) => k.kid)).toEqual(['only']);
    expect(sm.reads[arn] ?? 0).toBe(reads);
  });

  it('writes nothing when run again with the same input', async () => {
    const { stack, arn } = await stackWithKeys('HS256');
    const envText = `PLUGIN_JWT_SECRET=${SECRET}\nPLUGIN_JWT_KID=portal\n`;
    const first = await run(['--stack', stack], { envText });
    const value = sm.current(arn);
    const second = await run(['--stack', stack], { envText });
    expect(first.puts).toBe(1);
    expect(second.puts).toBe(0);
    expect(second.result).toMatchObject({ written: false, kids: first.result.kids });
    expect(sm.current(arn)).toBe(value);
  });

  it('replaces the same secret stored under another kid instead of listing it twice', async () => {
    // A stack pointed at a secret that held the raw portal string reads it as one key with a thumbprint kid.
    const { stack, arn } = deployedStack(SECRET);
    const { result } = await run(['--stack', stack], { envText: `PLUGIN_JWT_SECRET=${SECRET}\nPLUGIN_JWT_KID=portal\n` });
    expect(storedSet(arn).keys.map((k) => k.kid)).toEqual(['portal']);
    expect(result.dropped).toEqual([PLAIN_SECRET_KID]);
  });

  it('warns when a different key had the same kid', async () => {
    const old = { ...(await generateJwk('HS256')), kid: 'portal' };
    const { stack, arn } = deployedStack(JSON.stringify({ keys: [old] }));
    const { log } = await run(['--stack', stack], { envText: `PLUGIN_JWT_SECRET=${SECRET}\nPLUGIN_JWT_KID=portal\n` });
    expect(storedSet(arn).keys).toHaveLength(1);
    expect(storedSet(arn).keys[0].k).toBe(Buffer.from(SECRET).toString('base64url'));
    expect(log.join('\n')).toMatch(/warning: the secret held a different key with kid "portal"/);
  });

  it('refuses when the secret signs with another algorithm, unless --replace', async () => {
    const { stack, arn, keys } = await stackWithKeys('RS256');
    const err = await failure(['--stack', stack], { envText: `PLUGIN_JWT_SECRET=${SECRET}\n` });
    expect(err).toBeInstanceOf(ImportError);
    expect(err.message).toContain(`The secret's signing key ("${keys[0].kid}") is RS256 but the portal key is HS256`);
    expect(err.message).toContain('-c jwtAlgorithm=HS256');
    await run(['--stack', stack, '--replace'], { envText: `PLUGIN_JWT_SECRET=${SECRET}\n` });
    expect(storedSet(arn).keys.map((k) => k.alg)).toEqual(['HS256']);
  });

  it('refuses to overwrite a value it cannot read as a key set, unless --replace', async () => {
    const { stack } = deployedStack('{"keys": "not-a-list"}');
    const err = await failure(['--stack', stack], { envText: `PLUGIN_JWT_SECRET=${SECRET}\n` });
    expect(err.message).toMatch(/current value is not a key set .* Rerun with --replace/);
    await expect(run(['--stack', stack, '--replace'], { envText: `PLUGIN_JWT_SECRET=${SECRET}\n` })).resolves.toBeDefined();
  });
});

describe('rotation', () => {
  it('notes when rotation will retire the imported key, and stays quiet when it is off', async () => {
    const { stack } = deployedStack();
    const envText = `PLUGIN_JWT_SECRET=${SECRET}\n`;
    // The local Secrets Manager reports no rotation; a wrapper answers DescribeSecret as a rotating secret does.
    const rotating = {
      send: (command: { input: unknown }) =>
        command instanceof DescribeSecretCommand
          ? Promise.resolve({ RotationEnabled: true, NextRotationDate: new Date('2027-02-01T00:00:00Z') })
          : secrets.send(command as never),
    } as unknown as SecretsManagerClient;
    const log: string[] = [];
    await importPortalSecret({ flags: parseFlags(['--stack', stack]) as ImportFlags, envText, secrets: rotating, cloudformation, log: (l) => log.push(l) });
    expect(log).toContain(
      'note: rotation is on for this secret (next: 2027-02-01). The imported key signs until the next rotation, then verifies for JWT_EXPIRES_IN more; ' +
        'portal keys that outlive that (minted with a longer PLUGIN_JWT_EXPIRES_IN) stop working. Deploy with -c keyRotationDays=0 while they are in use.',
    );
    const quiet = await run(['--stack', stack, '--replace'], { envText });
    expect(quiet.log.filter((l) => l.includes('rotation is on'))).toEqual([]);
  });
});

describe('rotation under way', () => {
  it('refuses to write while a version is AWSPENDING, since finishing the rotation would undo the import', async () => {
    const { stack, arn } = deployedStack();
    sm.beginRotation(arn, 'pending-version');
    const err = await failure(['--stack', stack], { envText: `PLUGIN_JWT_SECRET=${SECRET}\n` });
    expect(err).toBeInstanceOf(ImportError);
    expect(err.message).toMatch(/A rotation of this secret is under way/);
  });
});

describe('short HMAC secrets', () => {
  it.each([
    ['HS256', 31, 32],
    ['HS384', 47, 48],
    ['HS512', 63, 64],
  ] as const)('warns, and still imports, when an %s secret has %i bytes (fewer than %i)', async (alg, bytes, want) => {
    const short = 'x'.repeat(bytes);
    const { stack, arn } = deployedStack();
    const { log } = await run(['--stack', stack], { envText: `PLUGIN_JWT_ALGORITHM=${alg}\nPLUGIN_JWT_SECRET=${short}\n` });
    const warning = log.find((l) => l.startsWith('warning:'))!;
    expect(warning).toContain(`the secret is ${bytes} bytes, shorter than the ${want} bytes ${alg} calls for`);
    expect(warning).toContain('The portal accepted it');
    expect(warning).toContain('keep rotation on (-c keyRotationDays=<days>');
    expect(warning).toContain(`aws secretsmanager rotate-secret --secret-id ${arn}`);
    expect(warning).not.toContain(short);
    expect(await verifiesWith(portalToken(short, alg), storedSet(arn).keys[0])).toBe(true);
  });

  it('counts bytes, not characters, and says nothing at the hash size', async () => {
    const { stack } = deployedStack();
    // 16 characters, 32 bytes.
    const { log } = await run(['--stack', stack], { envText: `PLUGIN_JWT_SECRET=${'é'.repeat(16)}\n` });
    expect(log.filter((l) => l.startsWith('warning:'))).toEqual([]);
  });
});

describe('errors', () => {
  const cases: Array<[string, string[], { envText?: string; stdinText?: string }, RegExp]> = [
    ['an empty secret', [], { envText: 'PLUGIN_JWT_SECRET=\n' }, /^PLUGIN_JWT_SECRET in \.env is empty\.$/],
    ['a secret of only spaces', [], { envText: 'PLUGIN_JWT_SECRET="   "\n' }, /^The secret from PLUGIN_JWT_SECRET in \.env is empty \(only whitespace\)\.$/],
    ['empty standard input', ['--from-stdin'], { stdinText: '\n' }, /^The secret from standard input is empty/],
    ['no secret variable', [], { envText: 'PLUGIN_JWT_ALGORITHM=HS256\n' }, /^\.env sets neither PLUGIN_JWT_SECRET nor JWT_SECRET\.$/],
    ['an unknown algorithm', [], { envText: `PLUGIN_JWT_ALGORITHM=HS999\nPLUGIN_JWT_SECRET=${SECRET}\n` }, /^PLUGIN_JWT_ALGORITHM in \.env is "HS999", which is not supported: use one of HS256, .*EdDSA\.$/],
    ['the "none" algorithm', ['--from-stdin', '--algorithm', 'none'], { stdinText: SECRET }, /^--algorithm is "none", which is not supported/],
    ['a PEM key with an HS algorithm', [], { envText: `PLUGIN_JWT_SECRET="${generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' })}"\n` }, /is a PEM key but the algorithm is HS256/],
    ['a plain string with RS256', [], { envText: `PLUGIN_JWT_ALGORITHM=RS256\nPLUGIN_JWT_SECRET=${SECRET}\n` }, /is a plain string but the algorithm is RS256, which needs a PEM private key/],
    ['a public key instead of a private one', ['--from-stdin', '--algorithm', 'RS256'], { stdinText: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'pem', type: 'spki' }).toString() }, /not a readable private key/],
    ['an EC key with RS256', ['--from-stdin', '--algorithm', 'RS256'], { stdinText: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }, /Key type EC cannot be used with RS256/],
  ];

  it.each(cases)('stops on %s, with a one-line message and nothing written', async (_name, extra, input, message) => {
    const { stack } = deployedStack();
    const err = await failure(['--stack', stack, ...extra], input);
    expect(err).toBeInstanceOf(ImportError);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('\n');
    expect(err.message).not.toContain(SECRET.slice(0, 12));
  });

  it('checks the secret before calling AWS', async () => {
    const before = cfn.calls.DescribeStacks ?? 0;
    await failure(['--stack', 'Anything'], { envText: 'PLUGIN_JWT_SECRET=\n' });
    expect(cfn.calls.DescribeStacks ?? 0).toBe(before);
  });

  it('reports a stack that does not exist', async () => {
    const err = await failure(['--stack', 'NoSuchStack'], { envText: `PLUGIN_JWT_SECRET=${SECRET}\n` });
    expect(err).toBeInstanceOf(ImportError);
    expect(err.message).toBe('Stack "NoSuchStack" does not exist: check --stack and --region.');
  });

  it('reports a stack without a SigningSecretArn output', async () => {
    cfn.addStack('OtherStack', { ApiUrl: 'https://example.com' }, 'UPDATE_COMPLETE');
    const err = await failure(['--stack', 'OtherStack'], { envText: `PLUGIN_JWT_SECRET=${SECRET}\n` });
    expect(err.message).toBe('Stack "OtherStack" has no SigningSecretArn output (status UPDATE_COMPLETE): deploy this project\'s stack first, or pass --secret-arn.');
  });

  it('reports a secret that does not exist', async () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf';
    const err = await run(['--secret-arn', arn], { envText: `PLUGIN_JWT_SECRET=${SECRET}\n` }).then(() => new Error('succeeded'), (e: Error) => e);
    expect(err).toBeInstanceOf(ImportError);
    expect(err.message).toBe(`Secret ${arn} does not exist (or is deleted): check the ARN and the region.`);
  });
});

describe('command line', () => {
  it.each([
    [[], /Name the target: --stack NAME/],
    [['--stack', 'A', '--secret-arn', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x'], /not both/],
    [['--secret-arn', 'my-secret'], /is not a Secrets Manager secret ARN/],
    [['--stack', 'A', '--env-file', '.env', '--from-stdin'], /--env-file \(or --dotenv\) or --from-stdin, not both/],
    [['--stack', 'A', '--env-file', 'a', '--dotenv', 'b'], /--env-file or --dotenv, not both/],
    [['--stack', 'A', '--secret', 'x'], /^Unknown option \(not shown here\); the options are --stack, --secret-arn, /],
    [['--stack'], /argument missing/],
    [['--stack', 'A', 'extra'], /^This command takes no positional arguments \(the argument is not shown here\)/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseFlags(argv)).toThrow(UsageError);
    expect(() => parseFlags(argv)).toThrow(message);
  });

  it('reads .env by default and trims unless --no-trim', () => {
    expect(parseFlags(['--stack', 'A'])).toEqual<ImportFlags>({
      stack: 'A', secretArn: undefined, envFile: '.env', fromStdin: false, algorithm: undefined, kid: undefined, replace: false, trim: true, region: undefined,
    });
    expect(parseFlags(['--stack', 'A', '--from-stdin', '--no-trim'])).toMatchObject({ envFile: undefined, fromStdin: true, trim: false });
    expect(parseFlags(['--stack', 'A', '--dotenv', '../portal/.env'])).toMatchObject({ envFile: '../portal/.env' });
  });

  describe('main', () => {
    function io(env: NodeJS.ProcessEnv = process.env, stdin?: string) {
      const out: string[] = [];
      const err: string[] = [];
      const value: CliIo = {
        env,
        cwd: dir,
        stdout: (t) => void out.push(t),
        stderr: (t) => void err.push(t),
        stdinIsTty: stdin === undefined,
        readStdin: async () => stdin ?? '',
        readFile: (p) => readFileSync(p, 'utf8'),
      };
      return { value, out: () => out.join(''), err: () => err.join('') };
    }

    it('prints only the kids on stdout, never the secret or a prefix of it', async () => {
      const { stack, arn } = deployedStack(JSON.stringify({ keys: [await generateJwk('HS256')] }));
      const file = join(dir, 'portal.env');
      writeFileSync(file, `PLUGIN_JWT_SECRET=${SECRET}\nPLUGIN_JWT_KID=portal\n`);
      const t = io();
      expect(await main(['--stack', stack, '--env-file', file], t.value)).toBe(0);
      const kids = storedSet(arn).keys.map((k) => k.kid);
      expect(t.out()).toBe(`${kids.join('\n')}\n`);
      expect(kids[0]).toBe('portal');
      for (const text of [t.out(), t.err()]) {
        expect(text).not.toContain(SECRET.slice(0, 8));
        expect(text).not.toContain(Buffer.from(SECRET).toString('base64url').slice(0, 8));
      }
      expect(t.err()).toContain(`wrote 2 key(s) in ${arn}: "portal" (HS256) signs new keys, 1 earlier key(s) still verify.`);
    });

    it('resolves a relative --env-file from where npm was started (INIT_CWD)', async () => {
      const { stack, arn } = deployedStack();
      writeFileSync(join(dir, 'relative.env'), `PLUGIN_JWT_SECRET=${SECRET}\n`);
      const t = io({ ...process.env, INIT_CWD: dir });
      expect(await main(['--stack', stack, '--env-file', 'relative.env'], t.value)).toBe(0);
      expect(storedSet(arn).keys).toHaveLength(1);
    });

    it('reads the secret from a pipe with --from-stdin, and refuses a terminal', async () => {
      const { stack, arn } = deployedStack();
      const piped = io(process.env, `${SECRET}\n`);
      expect(await main(['--stack', stack, '--from-stdin', '--kid', 'k1'], piped.value)).toBe(0);
      expect(piped.out()).toBe('k1\n');
      expect(await verifiesWith(portalToken(SECRET, 'HS256'), storedSet(arn).keys[0])).toBe(true);

      const tty = io();
      expect(await main(['--stack', stack, '--from-stdin'], tty.value)).toBe(1);
      expect(tty.err()).toMatch(/^secret-import: error: --from-stdin reads a pipe or a file, not the terminal/);
    });

    it('exits 1 with one line for an unreadable env file', async () => {
      const t = io();
      const missing = join(dir, 'missing.env');
      expect(await main(['--stack', 'X', '--env-file', missing], t.value)).toBe(1);
      expect(t.err()).toBe(`secret-import: error: Cannot read the env file ${missing} (ENOENT).\n`);
      expect(t.out()).toBe('');
    });

    it.each([
      ['a positional argument', ['--stack', 'A', SECRET]],
      ['an option that looks like a secret', ['--stack', 'A', `--${SECRET}`]],
      ['a secret given as --secret-arn', ['--secret-arn', SECRET]],
      ['a secret given as --kid', ['--stack', 'A', '--kid', `${SECRET}\u0000`]],
    ])('never repeats an argument value in its error: %s', async (_name, argv) => {
      const t = io();
      expect(await main(argv, t.value)).toBe(2);
      expect(t.err()).toMatch(/^secret-import: error: /);
      expect(t.err()).not.toContain(SECRET.slice(0, 8));
    });

    it('exits 2 on bad arguments and 0 with the usage text for --help', async () => {
      const bad = io();
      expect(await main(['--stack'], bad.value)).toBe(2);
      expect(bad.err()).toBe("secret-import: error: Option '--stack' needs a value (argument missing). Run with --help for usage.\n");
      const help = io();
      expect(await main(['--help'], help.value)).toBe(0);
      expect(help.out()).toBe(`${USAGE}\n`);
    });
  });

  describe('as a child process', () => {
    function cli(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
      return new Promise((done, fail) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/secret-import.ts', ...args], {
          cwd: ROOT,
          env: { ...process.env, INIT_CWD: dir, NODE_OPTIONS: '' },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('error', fail);
        child.on('close', (code) => done({ code, stdout, stderr }));
        child.stdin.end(stdin ?? '');
      });
    }

    it('imports and prints the kid with exit 0, and fails with exit 1 and one line, no stack trace', async () => {
      const { stack, arn } = deployedStack();
      writeFileSync(join(dir, 'cli.env'), `PLUGIN_JWT_ALGORITHM=HS256\nPLUGIN_JWT_SECRET=${SECRET}\nPLUGIN_JWT_KID=cli-kid\n`);
      // Absolute: Node 20+ itself checks an --env-file path against its own cwd (nodejs/node#54232).
      const ok = await cli(['--stack', stack, '--env-file', join(dir, 'cli.env')]);
      expect(ok).toMatchObject({ code: 0, stdout: 'cli-kid\n' });
      expect(ok.stderr).not.toContain(SECRET.slice(0, 8));
      expect(await verifiesWith(portalToken(SECRET, 'HS256', 'cli-kid'), storedSet(arn).keys[0])).toBe(true);

      const bad = await cli(['--stack', 'Missing', '--from-stdin'], SECRET);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toBe('');
      const ours = bad.stderr.split('\n').filter((l) => l.startsWith('secret-import:'));
      expect(ours).toEqual(['secret-import: error: Stack "Missing" does not exist in us-east-1: check --stack and --region.']);
      expect(bad.stderr).not.toMatch(/^\s+at /m);

      const usage = await cli([]);
      expect(usage.code).toBe(2);
    });
  });
});

describe('round trip: import, then the deployed functions', () => {
  async function functionsReading(arn: string, acceptPortalTokens: boolean) {
    return loadFunctions({ KEY_REGISTRY_TABLE: await registry.table(), JWT_SECRET_ARN: arn, JWT_ALGORITHM: 'HS256', JWT_EXPIRES_IN: '30d', JWT_ACCEPT_PORTAL_TOKENS: String(acceptPortalTokens) });
  }

  it('the authorizer accepts keys the portal minted, and keys the stack now mints with the imported secret', async () => {
    const { stack, arn } = deployedStack();
    await run(['--stack', stack], { envText: `PLUGIN_JWT_ALGORITHM=HS256\nPLUGIN_JWT_SECRET=${SECRET}\nPLUGIN_JWT_USER_ID_FIELD=sub\n` });

    const { authorize, issue } = await functionsReading(arn, true);
    await expect(authorize(authorizerEvent(`Bearer ${portalToken(SECRET, 'HS256')}`))).resolves.toEqual({
      isAuthorized: true,
      context: { userId: 'cus_123', companyId: 'cus_123' },
    });
    const minted = JSON.parse((await issue(issueEvent({ user_id: 'cus_9', company_id: 'acme' }))).body as string).apikey;
    expect(jwt.verify(minted, SECRET, { algorithms: ['HS256'] })).toMatchObject({ sub: 'cus_9', org_id: 'acme' });
    await expect(authorize(authorizerEvent(minted))).resolves.toMatchObject({ isAuthorized: true, context: { userId: 'cus_9', companyId: 'acme' } });

    // With the compatibility off, the portal's keys stop working; the stack's own keep working.
    const strict = await functionsReading(arn, false);
    await expect(strict.authorize(authorizerEvent(portalToken(SECRET, 'HS256')))).resolves.toEqual({ isAuthorized: false });
    await expect(strict.authorize(authorizerEvent(minted))).resolves.toMatchObject({ isAuthorized: true });
  });
});
