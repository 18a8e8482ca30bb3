/**
 * The outside review's findings on the key path, one test per defect class (issue: deploy-safe rotation and
 * a hardened key path). Real keys and real signatures throughout.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CompactSign, createRemoteJWKSet, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import { generateJwk, buildKeyRing, thumbprint, jwkFromSharedSecret, PLAIN_SECRET_KID, parseKeySet, prepareKeys, publicJwks, type PrivateJwk, type SigningRing } from '../../../lambda/jwt/jwk-set';
import { MAX_TOKEN_LENGTH } from '../../../lambda/jwt/compact';
import { extractToken, verifyToken, type VerifyOptions } from '../../../lambda/jwt/verify';
import { idProblem } from '../../../lambda/shared/ids';
import { authorizerEvent, issueEvent } from '../../support/events';
import { loadFunctions, localRegistry } from '../../support/functions';
import { LocalHttpServer } from '../../support/local-server';
import { LocalSecretsManager, useLocalAws } from '../../support/secrets-server';
import { captureOutput } from '../../support/output';

const NOW = 1_900_000_000;
const ISSUER = 'https://api.example.com';
let ring: SigningRing;
beforeAll(async () => {
  ring = buildKeyRing({ keys: [await generateJwk('ES256')] }, 'ES256', NOW);
});

function opts(extra: Partial<VerifyOptions> = {}): VerifyOptions {
  return { algorithm: 'ES256', issuer: ISSUER, audience: 'jwt-api', userIdField: 'sub', companyIdField: 'org_id', clockToleranceSeconds: 30, maxLifetimeSeconds: 7 * 86_400, currentDate: new Date(NOW * 1000), ...extra };
}

/** Signs the payload text as given, so it can hold what JSON.stringify cannot write (1e309). */
async function signText(payload: string, header: Record<string, unknown> = {}): Promise<string> {
  return new CompactSign(Buffer.from(payload)).setProtectedHeader({ alg: 'ES256', kid: ring.signer.kid, ...header }).sign(ring.signer.signingKey);
}
const claims = (extra: string) => `{"sub":"u-1","org_id":"acme","iss":"${ISSUER}","aud":"jwt-api"${extra}}`;

describe('lifetimes have a ceiling at the gateway too', () => {
  it.each([
    ['an exp of 1e309 (Infinity once parsed)', ',"exp":1e309', 'bad_claim'],
    ['an exp ten years ahead', `,"exp":${NOW + 10 * 365 * 86_400}`, 'lifetime_exceeded'],
    ['an exp just past the configured maximum plus the tolerance', `,"exp":${NOW + 7 * 86_400 + 31}`, 'lifetime_exceeded'],
    ['a fractional exp', `,"exp":${NOW + 60}.5`, 'bad_claim'],
    ['an exp written as a string', `,"exp":"${NOW + 60}"`, 'bad_claim'],
    ['a non-integer nbf', `,"exp":${NOW + 60},"nbf":1e309`, 'bad_claim'],
    ['an iat in the future beyond the tolerance', `,"exp":${NOW + 600},"iat":${NOW + 31}`, 'issued_in_future'],
    ['a jti that is a number', `,"exp":${NOW + 60},"jti":42`, 'bad_claim'],
    ['a jti that is an object', `,"exp":${NOW + 60},"jti":{"id":"k"}`, 'bad_claim'],
  ])('refuses %s', async (_name, extra, reason) => {
    expect(verifyToken(await signText(claims(extra)), ring, opts())).toMatchObject({ ok: false, reason });
  });

  it('refuses the same ten-year key in portal mode', async () => {
    const token = await signText(`{"sub":"u","org_id":"c","exp":${NOW + 10 * 365 * 86_400}}`);
    expect(verifyToken(token, ring, opts({ acceptPortalTokens: true }))).toMatchObject({ ok: false, reason: 'lifetime_exceeded' });
  });

  it('accepts the edges: exp at the maximum plus tolerance, iat within the tolerance, jti a string', async () => {
    const token = await signText(claims(`,"exp":${NOW + 7 * 86_400 + 30},"iat":${NOW + 30},"jti":"key-1"`));
    expect(verifyToken(token, ring, opts())).toMatchObject({ ok: true, keyId: 'key-1' });
  });
});

/**
 * Kids an attacker writes into a token (RFC 8725 §3.10): refused as unsafe ids before any lookup, or, when
 * printable (a path), looked up as a map key only, never as a file or URL, and not found.
 */
const MALFORMED_KID = { ok: false, reason: 'malformed', detail: 'kid' };
const HOSTILE_KIDS: Array<[string, unknown, Record<string, unknown>]> = [
  ['a newline', 'a\nb', MALFORMED_KID],
  ['a path', '../../etc/passwd', { ok: false, reason: 'unknown_kid' }],
  ['a double quote', 'a"b', MALFORMED_KID],
  ['a backslash', 'a\\b', MALFORMED_KID],
  ['NUL', 'a\u0000b', MALFORMED_KID],
  ['257 characters', 'k'.repeat(257), MALFORMED_KID],
  ['5,000 characters', 'k'.repeat(5000), MALFORMED_KID],
  ['an empty string', '', MALFORMED_KID],
  ['a number', 7, MALFORMED_KID],
];

describe('ids that cannot break a log line', () => {
  const unsafe: Array<[string, string]> = [
    ['NUL', 'a\u0000b'],
    ['a newline', 'a\nb'],
    ['an ANSI escape', '\u001b[31mred'],
    ['a lone surrogate', 'a\ud800b'],
    ['a double quote', 'a"b'],
    ['a backslash', 'a\\b'],
    ['a line separator', 'a\u2028b'],
    ['a bidi override', 'a\u202eb'],
  ];

  it.each(unsafe)('defines an id with %s as unsafe', (_name, id) => {
    expect(idProblem(id)).toBeDefined();
  });

  it('keeps printable Unicode ids', () => {
    for (const id of ['Zoë', '李小龍', 'user@example.com', 'acme corp', 'cus_123', '42']) expect(idProblem(id)).toBeUndefined();
  });

  it.each(unsafe)('makes the authorizer refuse a correctly signed key whose user id holds %s', async (_name, id) => {
    const token = await signText(`{"sub":${JSON.stringify(id)},"org_id":"acme","iss":"${ISSUER}","aud":"jwt-api","exp":${NOW + 60}}`);
    expect(verifyToken(token, ring, opts())).toMatchObject({ ok: false, reason: 'bad_claim', detail: 'sub' });
  });

  it.each(HOSTILE_KIDS)('refuses a kid that could break a log line or a lookup: %s', async (_name, kid, expected) => {
    // Signed with our own key: only the kid can make it fail.
    const token = await signText(claims(`,"exp":${NOW + 60}`), { kid });
    expect(verifyToken(token, ring, opts())).toEqual(expected);
  });

  describe('at minting', () => {
    const sm = new LocalSecretsManager();
    const registry = localRegistry();
    let issue: ReturnType<typeof loadFunctions>['issue'];
    let authorize: ReturnType<typeof loadFunctions>['authorize'];
    beforeAll(async () => {
      useLocalAws('SECRETS_MANAGER', await sm.start());
      const { env } = await sm.putKeySet('ids', JSON.stringify({ keys: [await generateJwk('HS256')] }), 'HS256');
      ({ issue, authorize } = loadFunctions({ ...env, KEY_REGISTRY_TABLE: await registry.table(), JWT_ALGORITHM: 'HS256' }));
    });
    afterAll(() => sm.stop());

    it.each(unsafe)('answers 400 naming the field for a user_id with %s', async (_name, id) => {
      const res = await issue(issueEvent({ user_id: id, company_id: 'acme' }));
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body as string)).toMatchObject({ error: 'invalid_request', field: 'user_id' });
    });

    it('answers 400 for a company_id with a newline, and mints a key for a Unicode id the authorizer then accepts', async () => {
      expect((await issue(issueEvent({ user_id: 'u', company_id: 'acme\nevil' }))).statusCode).toBe(400);
      const res = await issue(issueEvent({ user_id: 'Zoë', company_id: '李小龍' }));
      expect(res.statusCode).toBe(201);
      const { apikey } = JSON.parse(res.body as string);
      await expect(authorize(authorizerEvent(`Bearer ${apikey}`))).resolves.toMatchObject({ isAuthorized: true, context: { userId: 'Zoë', companyId: '李小龍' } });
    });
  });
});

describe('no guessing oracle in an HMAC kid', () => {
  it('gives a generated HMAC key a random kid, not the thumbprint (a SHA-256 of the secret)', async () => {
    const a = await generateJwk('HS256');
    expect(a.kid).not.toBe(await thumbprint({ kty: 'oct', k: a.k }));
    expect(a.kid).not.toBe((await generateJwk('HS256')).kid);
  });

  it('gives an imported shared secret a random kid unless one is given, and a raw stored secret a fixed one', async () => {
    const secret = 'portal-shared-secret-with-enough-bytes-1234';
    const guessable = await thumbprint({ kty: 'oct', k: Buffer.from(secret).toString('base64url') });
    expect((await jwkFromSharedSecret(secret, 'HS256')).kid).not.toBe(guessable);
    expect((await jwkFromSharedSecret(secret, 'HS256', 'portal-kid')).kid).toBe('portal-kid');
    // Every reader of a raw secret agrees on its kid, and the kid says nothing about the secret.
    expect((await parseKeySet(secret, 'HS256')).keys[0].kid).toBe(PLAIN_SECRET_KID);
    expect((await parseKeySet(secret, 'HS256')).keys[0].kid).toBe(PLAIN_SECRET_KID);
  });
});

describe('one token, one spelling; accepted header forms', () => {
  it.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc.def.ghi', 'abc.def.ghi'],
    ['BEARER   abc.def.ghi', 'abc.def.ghi'],
    ['abc.def.ghi', 'abc.def.ghi'],
    ['Basic abc.def.ghi', undefined],
    ['Bearer\tabc.def.ghi', undefined],
    ['Bearer abc.def.ghi extra', undefined],
  ])('reads %p as %p', (header, token) => {
    expect(extractToken(header)).toBe(token);
  });

  it(`refuses a token longer than ${MAX_TOKEN_LENGTH} characters without parsing it`, async () => {
    const token = await signText(claims(`,"exp":${NOW + 60},"pad":"${'x'.repeat(MAX_TOKEN_LENGTH)}"`));
    expect(verifyToken(token, ring, opts())).toEqual({ ok: false, reason: 'too_long' });
  });

  it('refuses a token that names a critical extension', async () => {
    const token = await signText(claims(`,"exp":${NOW + 60}`), { crit: ['b64'], b64: true });
    expect(verifyToken(token, ring, opts())).toEqual({ ok: false, reason: 'crit_not_supported' });
  });
});

/** Where a hostile `jku` or `x5u` points: serves the attacker's keys at every path, and counts every request. */
class AttackerKeyServer extends LocalHttpServer {
  jwks: { keys: JWK[] } = { keys: [] };
  hits = 0;
  protected async handle(_req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.hits += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.jwks));
  }
}

/**
 * RFC 8725 §2.9 and §3.10 (indirect attacks, SSRF): a header may name or carry a key (`jwk`, `jku`, `x5u`, `x5c`), and a
 * verifier that trusts it lets anyone sign. The verifiers here take keys from their own sources only (our key
 * ring, a client key registry, a configured issuer's JWKS) and ignore these members: the attacker's token
 * fails on its kid or its signature, and no URL in a header is ever fetched.
 */
describe('keys named or carried in the header are never used (jwk, jku, x5u, x5c)', () => {
  const ALGS = ['RS256', 'ES256', 'HS256'] as const;
  type Alg = (typeof ALGS)[number];
  interface Party {
    ourJwk: PrivateJwk;
    ours: SigningRing;
    attacker: SigningRing;
    /** What the attacker puts in `jwk` and behind `jku`: its public key, or for HMAC the secret itself. */
    attackerJwk: JWK;
    /** A base64 DER value for `x5c` (the attacker's SPKI: what a naive reader would take the key from). */
    attackerDer?: string;
  }
  const parties = {} as Record<Alg, Party>;
  const keyServer = new AttackerKeyServer();

  beforeAll(async () => {
    await keyServer.start();
    for (const alg of ALGS) {
      const ourJwk = await generateJwk(alg);
      const attackerPrivate = await generateJwk(alg);
      const attacker = buildKeyRing({ keys: [attackerPrivate] }, alg, NOW);
      parties[alg] = {
        ourJwk,
        ours: buildKeyRing({ keys: [ourJwk] }, alg, NOW),
        attacker,
        attackerJwk: alg === 'HS256' ? { kty: 'oct', k: attackerPrivate.k, kid: attackerPrivate.kid, alg } : publicJwks({ keys: [attackerPrivate] }).keys[0],
        attackerDer: alg === 'HS256' ? undefined : (attacker.signer.verifyKey.export({ format: 'der', type: 'spki' }) as Buffer).toString('base64'),
      };
    }
    keyServer.jwks = { keys: ALGS.map((alg) => parties[alg].attackerJwk) };
  });
  afterAll(() => keyServer.stop());
  beforeEach(() => {
    keyServer.hits = 0;
  });
  /** No request reached the key server, including one fired and forgotten (given time to arrive). */
  async function nothingFetched(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(keyServer.hits).toBe(0);
  }

  /** The header members that carry or point at the attacker's key; x5u/x5c only for the algorithms a certificate can hold. */
  const CARRIERS: Record<Alg, string[][]> = {
    RS256: [['jwk'], ['jku'], ['x5u'], ['x5c'], ['jwk', 'jku', 'x5u', 'x5c']],
    ES256: [['jwk'], ['jku'], ['x5u'], ['x5c'], ['jwk', 'jku', 'x5u', 'x5c']],
    HS256: [['jwk'], ['jku'], ['jwk', 'jku']],
  };
  /** The header members named, built once the keys exist. */
  function carried(alg: Alg, members: string[]): Record<string, unknown> {
    const { attackerJwk, attackerDer } = parties[alg];
    const all: Record<string, unknown> = { jwk: attackerJwk, jku: `${keyServer.url}/.well-known/jwks.json`, x5u: `${keyServer.url}/cert.pem`, x5c: [attackerDer] };
    return Object.fromEntries(members.map((m) => [m, all[m]]));
  }
  const cases = ALGS.flatMap((alg) => CARRIERS[alg].map((members) => [alg, members.join(', '), members] as [Alg, string, string[]]));
  const signAs = (key: SigningRing, alg: Alg, header: Record<string, unknown>, payload = claims(`,"exp":${NOW + 60}`)) =>
    new CompactSign(Buffer.from(payload)).setProtectedHeader({ alg, ...header } as never).sign(key.signer.signingKey);

  it('builds real attacks: each token verifies with the key its header carries, and jose accepts it when told to trust the header', async () => {
    for (const alg of ALGS) {
      const { attacker, attackerJwk } = parties[alg];
      const token = await signAs(attacker, alg, { kid: attacker.signer.kid, jwk: attackerJwk, jku: `${keyServer.url}/jwks.json` });
      // A verifier whose keys came from the header would accept it: the refusals below are the pinning.
      expect(verifyToken(token, prepareKeys({ keys: [{ ...attackerJwk, kid: attacker.signer.kid, alg } as PrivateJwk] }), opts({ algorithm: alg }))).toMatchObject({ ok: true, kid: attacker.signer.kid });
      if (alg === 'HS256') continue;
      await expect(jwtVerify(token, EmbeddedJWK, { currentDate: new Date(NOW * 1000) })).resolves.toMatchObject({ payload: { sub: 'u-1' } });
      const before = keyServer.hits;
      await expect(jwtVerify(token, createRemoteJWKSet(new URL(`${keyServer.url}/jwks.json`)), { currentDate: new Date(NOW * 1000) })).resolves.toMatchObject({ payload: { sub: 'u-1' } });
      // The server answers and is counted: a zero below means it was never asked.
      expect(keyServer.hits).toBe(before + 1);
    }
  });

  it.each(cases)("%s: refuses an attacker's token whose header carries its key as %s, whatever the kid, and fetches nothing", async (alg, _name, members) => {
    const { ours, attacker } = parties[alg];
    const header = carried(alg, members);
    const options = opts({ algorithm: alg });
    // The attacker's own kid: looked up in our ring only.
    expect(verifyToken(await signAs(attacker, alg, { ...header, kid: attacker.signer.kid }), ours, options)).toEqual({ ok: false, reason: 'unknown_kid' });
    // Our kid: only the signature decides.
    expect(verifyToken(await signAs(attacker, alg, { ...header, kid: ours.signer.kid }), ours, options)).toEqual({ ok: false, reason: 'bad_signature' });
    // No kid: refused, or (portal tokens accepted) tried against our keys only.
    const kidless = await signAs(attacker, alg, header);
    expect(verifyToken(kidless, ours, options)).toEqual({ ok: false, reason: 'kid_missing' });
    expect(verifyToken(kidless, ours, opts({ algorithm: alg, acceptPortalTokens: true }))).toEqual({ ok: false, reason: 'bad_signature' });
    await nothingFetched();
  });

  it.each(ALGS)('%s: accepts our own token that also carries an attacker\'s key in its header, ignoring the members (nothing fetched)', async (alg) => {
    const { ours } = parties[alg];
    const all = carried(alg, CARRIERS[alg].at(-1)!);
    const result = verifyToken(await signAs(ours, alg, { ...all, kid: ours.signer.kid }), ours, opts({ algorithm: alg }));
    expect(result).toMatchObject({ ok: true, kid: ours.signer.kid, userId: 'u-1', companyId: 'acme' });
    await nothingFetched();
  });

  describe('through the authorizer handler', () => {
    const sm = new LocalSecretsManager();
    const registry = localRegistry();
    let authorize: ReturnType<typeof loadFunctions>['authorize'];
    const output = captureOutput();
    const nowS = () => Math.floor(Date.now() / 1000);
    const liveClaims = (iss: string, sub = 'u-1') => `{"sub":"${sub}","org_id":"acme","iss":"${iss}","aud":"jwt-api","iat":${nowS()},"exp":${nowS() + 60}}`;

    beforeAll(async () => {
      useLocalAws('SECRETS_MANAGER', await sm.start());
      const { env } = await sm.putKeySet('header-keys', JSON.stringify({ keys: [parties.RS256.ourJwk] }), 'RS256');
      ({ authorize } = loadFunctions({ ...env, KEY_REGISTRY_TABLE: await registry.table(), JWT_ALGORITHM: 'RS256', JWT_ISSUER: ISSUER }));
      // The handler reads its environment on first use: now, while it is this one's.
      await authorize(authorizerEvent(`Bearer ${await signAs(parties.RS256.ours, 'RS256', { kid: parties.RS256.ours.signer.kid }, liveClaims(ISSUER))}`)).then((r) => expect(r.isAuthorized).toBe(true));
    });
    afterAll(() => sm.stop());
    /** Every write the handler made is one complete JSON line. */
    const logLines = () =>
      output.chunks.map((chunk) => {
        expect(chunk.endsWith('\n') && chunk.indexOf('\n') === chunk.length - 1).toBe(true);
        return JSON.parse(chunk) as Record<string, unknown>;
      });
    const refusal = () => logLines().find((l) => l.message === 'token refused');

    it.each([
      ['naming our kid', 'own', () => parties.RS256.ours.signer.kid, ISSUER, 'bad_signature'],
      ['naming its own kid', 'own', () => parties.RS256.attacker.signer.kid, ISSUER, 'unknown_kid'],
      // An iss we do not know routes the token to the client key registry, where the header is ignored too.
      ['as a client application (iss = sub = its id)', 'client', () => parties.RS256.attacker.signer.kid, 'app-attacker', 'unknown_kid'],
    ])("refuses an attacker's RS256 token carrying its key as jwk, jku, x5u and x5c, %s: isAuthorized false, the reason logged, never the token", async (_name, kind, kid, iss, reason) => {
      const all = carried('RS256', ['jwk', 'jku', 'x5u', 'x5c']);
      const token = await signAs(parties.RS256.attacker, 'RS256', { ...all, kid: kid() }, liveClaims(iss, iss === ISSUER ? 'u-1' : iss));
      await expect(authorize(authorizerEvent(`Bearer ${token}`))).resolves.toEqual({ isAuthorized: false });
      expect(refusal()).toMatchObject({ level: 'INFO', kind, reason });
      const [head, , signature] = token.split('.');
      for (const secretish of [token, head, signature, keyServer.url]) expect(output.text()).not.toContain(secretish);
      await nothingFetched();
    });

    it.each(HOSTILE_KIDS.filter(([, kid]) => typeof kid === 'string' && kid !== ''))('refuses a kid with %s and logs one JSON line without it', async (_name, kid, expected) => {
      const token = await signAs(parties.RS256.ours, 'RS256', { kid }, liveClaims(ISSUER));
      await expect(authorize(authorizerEvent(`Bearer ${token}`))).resolves.toEqual({ isAuthorized: false });
      expect(refusal()).toMatchObject({ reason: expected.reason, ...(expected.detail ? { detail: expected.detail } : {}) });
      const text = output.text();
      // Neither the raw kid nor its JSON-escaped spelling (nor the token) reaches the log.
      for (const leak of [kid as string, JSON.stringify(kid).slice(1, -1), token]) expect(text).not.toContain(leak);
    });
  });
});
