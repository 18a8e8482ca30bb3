/**
 * Tokens an attacker (or a careless client) sends, and an independent oracle of what must be accepted.
 *
 * The oracle is jose's `jwtVerify` (the well-kept library the synchronous verifier replaces) plus the
 * stricter rules this API adds on purpose, written here again from their definitions rather than imported:
 * canonical base64url, no `crit`, whole-number dates, the lifetime ceiling, no `iat` in the future, safe ids.
 */
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { CompactSign, jwtVerify } from 'jose';
import type { Algorithm } from '../../lambda/jwt/algorithms';
import { buildKeyRing, generateJwk, type SigningRing } from '../../lambda/jwt/jwk-set';
import type { VerifyOptions } from '../../lambda/jwt/verify';

export const NOW_S = 1_900_000_000;
export const ISSUER = 'https://abc123.execute-api.us-east-1.amazonaws.com';
export const AUDIENCE = 'jwt-api';

export function optionsFor(alg: Algorithm, portal = false): VerifyOptions {
  return {
    algorithm: alg,
    issuer: ISSUER,
    audience: AUDIENCE,
    userIdField: 'sub',
    companyIdField: 'org_id',
    clockToleranceSeconds: 30,
    maxLifetimeSeconds: 30 * 86_400,
    acceptPortalTokens: portal,
    currentDate: new Date(NOW_S * 1000),
  };
}

export interface Keys {
  alg: Algorithm;
  ring: SigningRing;
  /** A key of the same algorithm the API does not know. */
  stranger: KeyObject;
}

export async function keysFor(alg: Algorithm): Promise<Keys> {
  const ring = buildKeyRing({ keys: [await generateJwk(alg)] }, alg, NOW_S);
  const stranger = buildKeyRing({ keys: [await generateJwk(alg)] }, alg, NOW_S).signer.signingKey;
  return { alg, ring, stranger };
}

// ---------------------------------------------------------------------------------------------------
// Building tokens

const INFINITY = '"__infinity__"';
const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64url');

/** Signs any header and payload text, including ones JSON.stringify cannot write (1e309). */
export async function signRaw(header: Record<string, unknown>, payloadText: string, key: KeyObject | 'none' | { hmacWith: Buffer }): Promise<string> {
  const payload = payloadText.replaceAll(INFINITY, '1e309');
  if (key === 'none') return `${b64(JSON.stringify(header))}.${b64(payload)}.`;
  if ('hmacWith' in key) {
    // Algorithm confusion: HS256 keyed with bytes an attacker knows (a public key).
    const input = `${b64(JSON.stringify(header))}.${b64(payload)}`;
    return `${input}.${createHmac('sha256', key.hmacWith).update(input).digest('base64url')}`;
  }
  if (header.crit !== undefined) {
    // jose will not sign an extension it does not know; such a token is refused before its signature matters.
    const input = `${b64(JSON.stringify(header))}.${b64(payload)}`;
    return `${input}.${b64(Buffer.from(input))}`;
  }
  return new CompactSign(Buffer.from(payload)).setProtectedHeader(header as never).sign(key);
}

const safeId = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9 _.@:-]{0,20}[A-Za-z0-9]$/);
const unsafeId = fc.constantFrom('a"b', 'a\\b', 'nul\u0000', 'line\nbreak', '\u001b[31mred', 'lone\ud800', 'ls\u2028', 'rlo\u202e', ' padded', '', 'x'.repeat(257));
const idClaim = fc.oneof(
  { weight: 24, arbitrary: safeId },
  { weight: 1, arbitrary: unsafeId },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom(undefined, null, true, 1.5, ['x'], { id: 'x' }) },
);
const weird = (around: number) => fc.constantFrom(undefined, around + 0.5, `${around}`, INFINITY, null, -1, Number.MAX_SAFE_INTEGER + 2, around + 10 * 365 * 86_400);
/** Mostly a valid expiry; sometimes past, beyond the 30-day ceiling, or not a whole number. */
const expiry = fc.oneof(
  { weight: 16, arbitrary: fc.integer({ min: NOW_S + 60, max: NOW_S + 29 * 86_400 }) },
  { weight: 1, arbitrary: fc.integer({ min: NOW_S - 86_400, max: NOW_S + 60 }) },
  { weight: 1, arbitrary: fc.integer({ min: NOW_S + 30 * 86_400, max: NOW_S + 31 * 86_400 }) },
  { weight: 1, arbitrary: weird(NOW_S + 3600) },
);
/** Mostly in the past; sometimes ahead (around the clock tolerance), or not a whole number. */
const issued = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  { weight: 12, arbitrary: fc.integer({ min: NOW_S - 3 * 86_400, max: NOW_S }) },
  { weight: 1, arbitrary: fc.integer({ min: NOW_S, max: NOW_S + 120 }) },
  { weight: 1, arbitrary: weird(NOW_S) },
);

export interface TokenSpec {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signer: 'ours' | 'stranger' | 'none' | 'hmac-with-public-key';
}

export function specArb(alg: Algorithm, kid: string): fc.Arbitrary<TokenSpec> {
  const rare = <T>(value: T) => fc.oneof({ weight: 19, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(value) });
  const header = fc
    .record({
      alg: fc.oneof({ weight: 8, arbitrary: fc.constant(alg) }, { weight: 1, arbitrary: fc.constantFrom('none', 'HS256', 'RS256', 'ES256', 'EdDSA', 'PS256', 'ES512') }),
      kid: fc.oneof({ weight: 16, arbitrary: fc.constant(kid) }, { weight: 1, arbitrary: fc.constantFrom(undefined, 'unknown', '../../etc/passwd', 'a"b', 7, '') }),
      typ: fc.constantFrom(undefined, 'JWT', 'at+jwt'),
      crit: rare(['exp']),
      jku: rare('https://evil.example.com/jwks.json'),
    })
    .map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)));
  const claims = fc
    .record({
      sub: idClaim,
      org_id: idClaim,
      iss: fc.oneof({ weight: 16, arbitrary: fc.constant(ISSUER) }, { weight: 1, arbitrary: fc.constantFrom(undefined, `${ISSUER}/`, 'https://evil.example.com', 42) }),
      aud: fc.oneof({ weight: 14, arbitrary: fc.constant(AUDIENCE) }, { weight: 1, arbitrary: fc.constantFrom(undefined, [AUDIENCE, 'other'], ['other'], 'other', 7) }),
      exp: expiry,
      nbf: issued,
      iat: issued,
      jti: fc.oneof({ weight: 16, arbitrary: fc.uuid() }, { weight: 1, arbitrary: fc.constantFrom(undefined, 7, { id: 1 }, 'a\nb', '') }),
    })
    .map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)));
  const signer = fc.oneof({ weight: 24, arbitrary: fc.constant('ours' as const) }, { weight: 1, arbitrary: fc.constantFrom('stranger' as const, 'none' as const, 'hmac-with-public-key' as const) });
  return fc.record({ header, claims, signer });
}

export async function build(spec: TokenSpec, keys: Keys): Promise<string> {
  const payload = JSON.stringify(spec.claims);
  if (spec.signer === 'none') return signRaw({ ...spec.header, alg: 'none' }, payload, 'none');
  if (spec.signer === 'hmac-with-public-key') {
    const verifyKey = keys.ring.signer.verifyKey;
    const pem = verifyKey.type === 'public' ? Buffer.from(verifyKey.export({ format: 'pem', type: 'spki' }) as string) : PUBLIC_PEM;
    return signRaw({ ...spec.header, alg: 'HS256' }, payload, { hmacWith: pem });
  }
  // jose refuses to sign a header whose alg does not fit the key: such tokens come from the mutations.
  const header = { ...spec.header, alg: keys.alg };
  return signRaw(header, payload, spec.signer === 'ours' ? keys.ring.signer.signingKey : keys.stranger);
}

// ---------------------------------------------------------------------------------------------------
// Mutations of a genuine token

export type Mutation = (token: string) => string;

function reencodeSegment(token: string, index: number, change: (segment: string) => string): string {
  const parts = token.split('.');
  if (parts[index] === undefined) return token;
  parts[index] = change(parts[index]);
  return parts.join('.');
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A base64url character whose unused low bits differ, so the segment decodes to the same bytes. */
function dirtyLastCharacter(segment: string): string {
  const unused = [0, 0, 4, 2][segment.length % 4];
  if (unused === 0 || segment.length === 0) return `${segment}=`;
  const last = ALPHABET.indexOf(segment[segment.length - 1]);
  return segment.slice(0, -1) + ALPHABET[last ^ 1];
}

export const mutationArb: fc.Arbitrary<{ name: string; apply: Mutation }> = fc.oneof(
  // Unmutated often enough that accepted tokens are compared as well as refused ones.
  { weight: 8, arbitrary: fc.constant({ name: 'none', apply: (t: string) => t }) },
  fc.tuple(fc.nat({ max: 2 }), fc.constantFrom('=', '==')).map(([i, pad]) => ({ name: `pad segment ${i}`, apply: (t: string) => reencodeSegment(t, i, (s) => s + pad) })),
  fc.nat({ max: 2 }).map((i) => ({ name: `dirty bits in segment ${i}`, apply: (t: string) => reencodeSegment(t, i, dirtyLastCharacter) })),
  fc.tuple(fc.nat(), fc.nat({ max: 5 })).map(([pos, bit]) => ({
    name: `bit flip`,
    apply: (t: string) => {
      const bytes = Buffer.from(t, 'latin1');
      const i = pos % bytes.length;
      bytes[i] ^= 1 << bit;
      return bytes.toString('latin1');
    },
  })),
  fc.constant({ name: 'swap header and payload', apply: (t: string) => { const [h, p, s] = t.split('.'); return [p, h, s].join('.'); } }),
  fc.constant({ name: 'drop signature', apply: (t: string) => t.slice(0, t.lastIndexOf('.') + 1) }),
  fc.constant({ name: 'standard base64', apply: (t: string) => t.replaceAll('-', '+').replaceAll('_', '/') }),
  fc.constant({ name: 'extra segment', apply: (t: string) => `${t}.AAAA` }),
  fc.nat().map((n) => ({ name: 'truncate', apply: (t: string) => t.slice(0, n % t.length) })),
  fc.constant({ name: 'oversize', apply: (t: string) => `${t.split('.').slice(0, 2).join('.')}.${'A'.repeat(8200)}` }),
);

// ---------------------------------------------------------------------------------------------------
// The oracle

const CANONICAL = /^[A-Za-z0-9_-]*$/;
const UNSAFE_ID = /["\\\p{C}\u2028\u2029]/u;

function safeIdText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 256 && value.isWellFormed() && !UNSAFE_ID.test(value) && value.trim() === value;
}

function canonicalJson(segment: string): Record<string, unknown> | undefined {
  const bytes = Buffer.from(segment, 'base64url');
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) return undefined; // not valid UTF-8
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export type Verdict = { ok: false } | { ok: true; userId: string; companyId: string; keyId?: string };

/** What the API must answer: jose's verdict, and this API's stricter rules. */
export async function oracle(token: string | undefined, ring: SigningRing, opts: VerifyOptions): Promise<Verdict> {
  const no = { ok: false } as const;
  if (!token || token.length > 8192) return no;
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] === '' || parts[1] === '') return no;
  for (const p of parts) if (!CANONICAL.test(p) || Buffer.from(p, 'base64url').toString('base64url') !== p) return no;
  const header = canonicalJson(parts[0]);
  const payload = canonicalJson(parts[1]);
  if (!header || !payload || header.crit !== undefined || header.alg !== opts.algorithm) return no;
  if (header.kid !== undefined && !safeIdText(header.kid)) return no;
  const candidates = header.kid !== undefined ? [ring.byKid.get(header.kid as string)].filter((k) => k?.alg === opts.algorithm) : opts.acceptPortalTokens ? ring.keys.filter((k) => k.alg === opts.algorithm) : [];
  const portal = opts.acceptPortalTokens === true;
  for (const key of candidates) {
    try {
      await jwtVerify(token, key!.verifyKey, {
        algorithms: [opts.algorithm],
        issuer: portal ? undefined : opts.issuer,
        audience: portal ? undefined : opts.audience,
        clockTolerance: opts.clockToleranceSeconds,
        requiredClaims: ['exp', ...(portal ? [] : ['iss', 'aud'])],
        currentDate: opts.currentDate,
      });
    } catch {
      continue;
    }
    const now = Math.floor(opts.currentDate!.getTime() / 1000);
    const tol = opts.clockToleranceSeconds;
    for (const claim of ['exp', 'nbf', 'iat']) if (payload[claim] !== undefined && !Number.isSafeInteger(payload[claim])) return no;
    if ((payload.exp as number) > now + opts.maxLifetimeSeconds + tol) return no;
    if (payload.iat !== undefined && (payload.iat as number) > now + tol) return no;
    if (portal && payload.iss !== undefined && payload.iss !== opts.issuer) return no;
    if (portal && payload.aud !== undefined && !(payload.aud === opts.audience || (Array.isArray(payload.aud) && payload.aud.includes(opts.audience)))) return no;
    if (payload.jti !== undefined && !safeIdText(payload.jti)) return no;
    const id = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v);
    const userId = id(payload[opts.userIdField]);
    const companyId = id(payload[opts.companyIdField]);
    if (!safeIdText(userId) || !safeIdText(companyId)) return no;
    return payload.jti === undefined ? { ok: true, userId, companyId } : { ok: true, userId, companyId, keyId: payload.jti as string };
  }
  return no;
}

/** An RSA public key in PEM: what an attacker holds to try algorithm confusion when ours is an HMAC key. */
const PUBLIC_PEM = Buffer.from(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'pem', type: 'spki' }) as string);
