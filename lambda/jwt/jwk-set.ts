import { createHash, createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { hmacKeyBytes, isAlgorithm, isSymmetric, type Algorithm } from './algorithms';

/**
 * The signing secret's value: a private JWK Set. Every key has `kid` and `alg`; the first active key
 * of the pinned algorithm signs, every key of that algorithm verifies (rotation prepends).
 */
export interface PrivateJwk extends JWK {
  kid: string;
  alg: Algorithm;
  /**
   * Epoch seconds from which the key may sign. Until then it is only published (JWKS) and verifies,
   * so every cache of the JWKS has seen it before a token names it. Absent: active at once.
   */
  activates_at?: number;
  /** Epoch seconds at which the key stopped (or will stop) signing; it verifies until its tokens expired. */
  retired_at?: number;
  /** The longest lifetime a token this key signed can have (seconds): how long it is kept after `retired_at`. */
  max_token_lifetime?: number;
}
export interface PrivateJwkSet {
  keys: PrivateJwk[];
}

/** A key ready for node:crypto: parsed once per key-set load, reused for every token. */
export interface RingKey {
  kid: string;
  alg: Algorithm;
  activatesAt?: number;
  retiredAt?: number;
  /** Private (asymmetric) or secret (HMAC) key; absent in a ring built from a public JWK Set. */
  signingKey?: KeyObject;
  /** Public (asymmetric) or secret (HMAC) key. */
  verifyKey: KeyObject;
}
export interface KeyRing {
  keys: RingKey[];
  byKid: Map<string, RingKey>;
}
/** A key that can sign. */
export type SignerKey = RingKey & { signingKey: KeyObject };
/** A ring with the key that signs at the time it was built (tests, benchmarks, the rotation self-test). */
export interface SigningRing extends KeyRing {
  signer: SignerKey;
}

export class KeySetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeySetError';
  }
}

const RSA_BITS: Record<string, number> = { '256': 2048, '384': 3072, '512': 4096 };
const EC_CURVES: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

function expectedKty(alg: Algorithm): string {
  if (isSymmetric(alg)) return 'oct';
  if (alg.startsWith('RS') || alg.startsWith('PS')) return 'RSA';
  if (alg.startsWith('ES')) return 'EC';
  return 'OKP';
}

/** The members an RFC 7638 thumbprint covers, per key type (§3.2), in lexicographic order. */
const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = { EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'], RSA: ['e', 'kty', 'n'], oct: ['k', 'kty'] };

/**
 * RFC 7638 SHA-256 thumbprint of the key's public part (of the secret for HMAC keys), with node:crypto:
 * jose's would pull jose into every function that reads a key set (test/lambda/jwt/jwk-set.test.ts compares).
 */
export async function thumbprint(jwk: JWK): Promise<string> {
  const members = THUMBPRINT_MEMBERS[jwk.kty ?? ''];
  if (!members) throw new KeySetError(`Key type ${jwk.kty} has no thumbprint.`);
  const record = jwk as Record<string, unknown>;
  for (const m of members) if (typeof record[m] !== 'string') throw new KeySetError(`The key has no "${m}" member.`);
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(record[m])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * A random key id for an HMAC key. Its RFC 7638 thumbprint would be a plain SHA-256 of the secret: with a
 * weak imported portal secret, anyone holding a token could confirm offline guesses against its header.
 */
export function randomKid(): string {
  return randomBytes(16).toString('base64url');
}

/** Generates a fresh private JWK for `alg` with node:crypto; `kid` is its RFC 7638 thumbprint (random for HMAC). */
export async function generateJwk(alg: Algorithm): Promise<PrivateJwk> {
  let jwk: JWK;
  if (isSymmetric(alg)) {
    jwk = { kty: 'oct', k: randomBytes(hmacKeyBytes(alg)).toString('base64url') };
  } else if (alg.startsWith('RS') || alg.startsWith('PS')) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: RSA_BITS[alg.slice(2)] });
    jwk = privateKey.export({ format: 'jwk' }) as JWK;
  } else if (alg.startsWith('ES')) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: EC_CURVES[alg] });
    jwk = privateKey.export({ format: 'jwk' }) as JWK;
  } else {
    const { privateKey } = generateKeyPairSync('ed25519');
    jwk = privateKey.export({ format: 'jwk' }) as JWK;
  }
  return { ...jwk, kid: jwk.kty === 'oct' ? randomKid() : await thumbprint(jwk), alg, use: 'sig' };
}

/** A private JWK for a PEM private key (the portal's RS256 `JWT_SECRET`). */
export async function jwkFromPem(pem: string, alg: Algorithm, kid?: string): Promise<PrivateJwk> {
  if (isSymmetric(alg)) throw new KeySetError(`A PEM key cannot sign ${alg}; use an RSA, EC or Ed25519 algorithm.`);
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new KeySetError('The PEM text is not a readable private key.');
  }
  const jwk = key.export({ format: 'jwk' }) as JWK;
  checkKty(jwk, alg);
  return { ...jwk, kid: kid ?? (await thumbprint(jwk)), alg, use: 'sig' };
}

/** A plain shared secret (the portal's `JWT_SECRET`) as one HMAC key over its UTF-8 bytes; `kid` random unless given. */
export async function jwkFromSharedSecret(secret: string, alg: Algorithm, kid?: string): Promise<PrivateJwk> {
  if (!isSymmetric(alg)) throw new KeySetError(`A plain-string secret can only sign HS* tokens, not ${alg}.`);
  if (secret.length === 0) throw new KeySetError('The shared secret is empty.');
  const jwk: JWK = { kty: 'oct', k: Buffer.from(secret, 'utf8').toString('base64url') };
  return { ...jwk, kid: kid ?? randomKid(), alg, use: 'sig' };
}

function checkKty(jwk: JWK, alg: Algorithm): void {
  const want = expectedKty(alg);
  if (jwk.kty !== want) throw new KeySetError(`Key type ${jwk.kty} cannot be used with ${alg} (needs ${want}).`);
  if (alg === 'EdDSA' && jwk.crv !== 'Ed25519') throw new KeySetError('EdDSA keys must be Ed25519.');
  if (alg in EC_CURVES && jwk.crv !== EC_CURVES[alg]) throw new KeySetError(`${alg} needs curve ${EC_CURVES[alg]}, not ${jwk.crv}.`);
  // RFC 7518 §3.3; jose refuses smaller keys at verification time, so they could never verify anyway.
  if (jwk.kty === 'RSA' && Buffer.from(jwk.n ?? '', 'base64url').length < 256) throw new KeySetError(`RSA keys must have at least 2048 bits (${alg}).`);
}

function parseJwkSetJson(text: string, allowEmpty: boolean): PrivateJwkSet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KeySetError('The secret starts with "{" but is not valid JSON.');
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || (keys.length === 0 && !allowEmpty)) throw new KeySetError('The secret is JSON but has no non-empty "keys" array.');
  keys.forEach((k: unknown, i) => {
    const jwk = k as Partial<PrivateJwk>;
    if (typeof jwk !== 'object' || jwk === null) throw new KeySetError(`keys[${i}] is not an object.`);
    if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new KeySetError(`keys[${i}] has no "kid".`);
    if (!isAlgorithm(jwk.alg)) throw new KeySetError(`keys[${i}] ("${jwk.kid}") has no supported "alg".`);
    checkKty(jwk as JWK, jwk.alg);
  });
  return { keys: keys as PrivateJwk[] };
}

/** The kid of the one key a plain shared-secret value holds: fixed, so it reveals nothing about the secret. */
export const PLAIN_SECRET_KID = 'shared-secret';

/**
 * Reads a secret value: a private JWK Set, or a plain string taken as one key for
 * `algorithm` (a shared HMAC secret, or a PEM private key).
 */
export async function parseKeySet(secretString: string, algorithm: Algorithm): Promise<PrivateJwkSet> {
  const text = secretString.trim();
  if (text.startsWith('{')) return parseJwkSetJson(text, false);
  if (text.startsWith('-----BEGIN')) return { keys: [await jwkFromPem(text, algorithm)] };
  // Trimmed, as the Moesif Developer Portal trims PLUGIN_JWT_SECRET before jsonwebtoken signs with it.
  // Every reader must give it the same kid, and one that says nothing about the secret.
  return { keys: [await jwkFromSharedSecret(text, algorithm, PLAIN_SECRET_KID)] };
}

/** Reads the public copy of the key set (empty for HMAC-only sets); a member that is not public is refused. */
export function parsePublicKeySet(secretString: string): PrivateJwkSet {
  const set = parseJwkSetJson(secretString.trim(), true);
  for (const k of set.keys) if (k.kty === 'oct' || k.d !== undefined) throw new KeySetError(`The public key set holds private material (kid "${k.kid}").`);
  return set;
}

function toRingKey(jwk: PrivateJwk): RingKey {
  const times = { activatesAt: jwk.activates_at, retiredAt: jwk.retired_at };
  if (jwk.kty === 'oct') {
    const secret = createSecretKey(Buffer.from(jwk.k ?? '', 'base64url'));
    return { kid: jwk.kid, alg: jwk.alg, ...times, signingKey: secret, verifyKey: secret };
  }
  if (jwk.d === undefined) return { kid: jwk.kid, alg: jwk.alg, ...times, verifyKey: createPublicKey({ key: jwk as never, format: 'jwk' }) };
  const signingKey = createPrivateKey({ key: jwk as never, format: 'jwk' });
  return { kid: jwk.kid, alg: jwk.alg, ...times, signingKey, verifyKey: createPublicKey(signingKey) };
}

/** Builds the KeyObjects of a private or public key set once. */
export function prepareKeys(set: PrivateJwkSet): KeyRing {
  const keys = set.keys.map(toRingKey);
  return { keys, byKid: new Map(keys.map((k) => [k.kid, k])) };
}

/** Whether `key` may sign at `now` (epoch seconds): inside its window [activates_at, retired_at). */
export function signsAt(key: { activatesAt?: number; retiredAt?: number }, now: number): boolean {
  return (key.activatesAt ?? -Infinity) <= now && now < (key.retiredAt ?? Infinity);
}

/**
 * The key that signs at `now`: the first key of `algorithm` inside its signing window. Never a retired
 * or not-yet-active key: a key's retention is counted from its `retired_at`, so a key that signed past
 * it could be dropped while its tokens live. Undefined when there is none (the caller re-reads the secret).
 */
export function signerAt(ring: KeyRing, algorithm: Algorithm, now: number): SignerKey | undefined {
  return ring.keys.find((k): k is SignerKey => k.alg === algorithm && k.signingKey !== undefined && signsAt(k, now));
}

/** prepareKeys plus the signer at `nowSeconds`; throws when the set has none. */
export function buildKeyRing(set: PrivateJwkSet, algorithm: Algorithm, nowSeconds = Math.floor(Date.now() / 1000)): SigningRing {
  const ring = prepareKeys(set);
  const signer = signerAt(ring, algorithm, nowSeconds);
  if (!signer) {
    throw new KeySetError(`The key set has no active ${algorithm} key (its keys: ${ring.keys.map((k) => `${k.kid} ${k.alg}`).join(', ')}); JWT_ALGORITHM is ${algorithm}.`);
  }
  return { ...ring, signer };
}

/** The public JWK Set published at /.well-known/jwks.json: asymmetric keys only, no private members. */
export function publicJwks(set: PrivateJwkSet): { keys: JWK[] } {
  return {
    keys: set.keys
      .filter((k) => k.kty !== 'oct')
      .map((k) => {
        const pub = createPublicKey({ key: k as never, format: 'jwk' }).export({ format: 'jwk' }) as JWK;
        return { ...pub, kid: k.kid, alg: k.alg, use: 'sig' };
      }),
  };
}
