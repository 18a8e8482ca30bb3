import { createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
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
}
export interface PrivateJwkSet {
  keys: PrivateJwk[];
}

/** A key ready for node:crypto / jose: parsed once, reused for every token. */
export interface RingKey {
  kid: string;
  alg: Algorithm;
  activatesAt?: number;
  retiredAt?: number;
  /** Private (asymmetric) or secret (HMAC) key: signs. */
  signingKey: KeyObject;
  /** Public (asymmetric) or secret (HMAC) key: verifies. */
  verifyKey: KeyObject;
}
export interface KeyRing {
  /** The key that signs now: the first active key of the pinned algorithm. */
  signer: RingKey;
  keys: RingKey[];
  byKid: Map<string, RingKey>;
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

/** RFC 7638 thumbprint of the key's public part (of the secret for HMAC keys). */
export async function thumbprint(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(jwk, 'sha256');
}

/** Generates a fresh private JWK for `alg` with node:crypto; `kid` is its RFC 7638 thumbprint. */
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
  return { ...jwk, kid: await thumbprint(jwk), alg, use: 'sig' };
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

/** A plain shared secret (the portal's `JWT_SECRET`) as one HMAC key over its UTF-8 bytes. */
export async function jwkFromSharedSecret(secret: string, alg: Algorithm, kid?: string): Promise<PrivateJwk> {
  if (!isSymmetric(alg)) throw new KeySetError(`A plain-string secret can only sign HS* tokens, not ${alg}.`);
  if (secret.length === 0) throw new KeySetError('The shared secret is empty.');
  const jwk: JWK = { kty: 'oct', k: Buffer.from(secret, 'utf8').toString('base64url') };
  return { ...jwk, kid: kid ?? (await thumbprint(jwk)), alg, use: 'sig' };
}

function checkKty(jwk: JWK, alg: Algorithm): void {
  const want = expectedKty(alg);
  if (jwk.kty !== want) throw new KeySetError(`Key type ${jwk.kty} cannot be used with ${alg} (needs ${want}).`);
  if (alg === 'EdDSA' && jwk.crv !== 'Ed25519') throw new KeySetError('EdDSA keys must be Ed25519.');
  if (alg in EC_CURVES && jwk.crv !== EC_CURVES[alg]) throw new KeySetError(`${alg} needs curve ${EC_CURVES[alg]}, not ${jwk.crv}.`);
}

/**
 * Reads a secret value: a private JWK Set, or a plain string taken as one key for
 * `algorithm` (a shared HMAC secret, or a PEM private key).
 */
export async function parseKeySet(secretString: string, algorithm: Algorithm): Promise<PrivateJwkSet> {
  const text = secretString.trim();
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new KeySetError('The secret starts with "{" but is not valid JSON.');
    }
    const keys = (parsed as { keys?: unknown }).keys;
    if (!Array.isArray(keys) || keys.length === 0) throw new KeySetError('The secret is JSON but has no non-empty "keys" array.');
    keys.forEach((k: unknown, i) => {
      const jwk = k as Partial<PrivateJwk>;
      if (typeof jwk !== 'object' || jwk === null) throw new KeySetError(`keys[${i}] is not an object.`);
      if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new KeySetError(`keys[${i}] has no "kid".`);
      if (!isAlgorithm(jwk.alg)) throw new KeySetError(`keys[${i}] ("${jwk.kid}") has no supported "alg".`);
      checkKty(jwk as JWK, jwk.alg);
    });
    return { keys: keys as PrivateJwk[] };
  }
  if (text.startsWith('-----BEGIN')) return { keys: [await jwkFromPem(text, algorithm)] };
  // Trimmed, as the Moesif Developer Portal trims PLUGIN_JWT_SECRET before jsonwebtoken signs with it.
  return { keys: [await jwkFromSharedSecret(text, algorithm)] };
}

function toRingKey(jwk: PrivateJwk): RingKey {
  const times = { activatesAt: jwk.activates_at, retiredAt: jwk.retired_at };
  if (jwk.kty === 'oct') {
    const secret = createSecretKey(Buffer.from(jwk.k ?? '', 'base64url'));
    return { kid: jwk.kid, alg: jwk.alg, ...times, signingKey: secret, verifyKey: secret };
  }
  const signingKey = createPrivateKey({ key: jwk as never, format: 'jwk' });
  return { kid: jwk.kid, alg: jwk.alg, ...times, signingKey, verifyKey: createPublicKey(signingKey) };
}

/**
 * Builds KeyObjects once. The signer is the first key of the pinned algorithm that is active at
 * `nowSeconds`; failing that, the first one already activated (a retired key still verifies, so
 * signing with it beats refusing to mint). Keys of another algorithm are kept but never used, so
 * functions on either side of an algorithm change keep working during the deploy.
 */
export function buildKeyRing(set: PrivateJwkSet, algorithm: Algorithm, nowSeconds = Math.floor(Date.now() / 1000)): KeyRing {
  const keys = set.keys.map(toRingKey);
  const activated = keys.filter((k) => k.alg === algorithm && (k.activatesAt ?? 0) <= nowSeconds);
  const signer = activated.find((k) => (k.retiredAt ?? Infinity) > nowSeconds) ?? activated[0];
  if (!signer) {
    throw new KeySetError(`The key set has no active ${algorithm} key (its keys: ${keys.map((k) => `${k.kid} ${k.alg}`).join(', ')}); JWT_ALGORITHM is ${algorithm}.`);
  }
  return { signer, keys, byKid: new Map(keys.map((k) => [k.kid, k])) };
}

/** The public JWK Set published at /.well-known/jwks.json: asymmetric keys only, no private members. */
export function publicJwks(set: PrivateJwkSet): { keys: JWK[] } {
  return {
    keys: set.keys
      .filter((k) => k.kty !== 'oct')
      .map((k) => {
        const pub = createPublicKey(createPrivateKey({ key: k as never, format: 'jwk' })).export({ format: 'jwk' }) as JWK;
        return { ...pub, kid: k.kid, alg: k.alg, use: 'sig' };
      }),
  };
}
