import { createPublicKey, type KeyObject } from 'node:crypto';
import { isSafeId } from '../shared/ids';
import { OUTSIDE_ALGORITHMS, type OutsideAlgorithm } from './trusted-issuers';

/**
 * An outside issuer's published JWK Set (RFC 7517 §5), read into KeyObjects once per fetch.
 *
 * Keys this API cannot use are skipped, so one odd key does not cost the issuer its others: `use` other
 * than `sig`, `key_ops` without `verify`, an unknown `kty`/`crv`/`alg`, an `alg` its key type cannot
 * serve, RSA under 2048 bits (RFC 7518 §3.3), a `kid` that is not a safe id. A document holding any private
 * member is refused whole: an issuer that publishes a private key has handed it to everybody, so none of
 * its keys can vouch for a token until it publishes a clean set (remote-jwks.ts also drops the cached one).
 */

/** A key ready for verifySignature, with the algorithms it may verify. */
export interface RemoteKey {
  kid?: string;
  algs: readonly OutsideAlgorithm[];
  verifyKey: KeyObject;
}
export interface RemoteKeySet {
  keys: RemoteKey[];
}

export type JwksProblem = 'jwks_invalid' | 'jwks_private_key';

export class JwksDocumentError extends Error {
  constructor(
    readonly code: JwksProblem,
    message: string,
  ) {
    super(message);
    this.name = 'JwksDocumentError';
  }
}

/** RFC 7517 §9.3 / RFC 7518 §6: the members that make a JWK private (`k` is a symmetric key itself). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** Real issuers publish 1-5 keys; a set far larger is a misconfiguration or an attempt to make us work. */
export const MAX_JWKS_KEYS = 50;
const MIN_RSA_BITS = 2048;

const RSA_ALGS = OUTSIDE_ALGORITHMS.filter((a) => a.startsWith('RS') || a.startsWith('PS'));
const CURVE_ALGS: Record<string, OutsideAlgorithm> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512', Ed25519: 'EdDSA' };

/** The algorithms a public JWK may verify, from its kty/crv (narrowed by its `alg`), or none. */
function algorithmsOf(jwk: Record<string, unknown>, key: KeyObject): OutsideAlgorithm[] {
  let algs: OutsideAlgorithm[];
  if (jwk.kty === 'RSA') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) return [];
    algs = RSA_ALGS;
  } else if ((jwk.kty === 'EC' || jwk.kty === 'OKP') && typeof jwk.crv === 'string' && Object.hasOwn(CURVE_ALGS, jwk.crv)) {
    algs = [CURVE_ALGS[jwk.crv]];
  } else {
    return [];
  }
  if (jwk.alg === undefined) return algs;
  return algs.filter((a) => a === jwk.alg);
}

function usableKey(raw: unknown): RemoteKey | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const jwk = raw as Record<string, unknown>;
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return undefined;
  if (jwk.kid !== undefined && !isSafeId(jwk.kid)) return undefined;
  if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') return undefined;
  let verifyKey: KeyObject;
  try {
    // Only the public members go to node:crypto: x5c, x5t and other extras are neither needed nor trusted.
    const pub = jwk.kty === 'RSA' ? { kty: jwk.kty, n: jwk.n, e: jwk.e } : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
    verifyKey = createPublicKey({ key: pub as never, format: 'jwk' });
  } catch {
    return undefined;
  }
  const algs = algorithmsOf(jwk, verifyKey);
  if (algs.length === 0) return undefined;
  return jwk.kid === undefined ? { algs, verifyKey } : { kid: jwk.kid as string, algs, verifyKey };
}

/** Reads a fetched JWK Set; throws JwksDocumentError for a document that is not one, or that holds private keys. */
export function parseJwksDocument(doc: unknown): RemoteKeySet {
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (typeof doc !== 'object' || doc === null || !Array.isArray(keys)) throw new JwksDocumentError('jwks_invalid', 'the document is not a JWK Set (no "keys" list)');
  if (keys.length > MAX_JWKS_KEYS) throw new JwksDocumentError('jwks_invalid', `the JWK Set has ${keys.length} keys (at most ${MAX_JWKS_KEYS} are read)`);
  for (const k of keys) {
    if (typeof k === 'object' && k !== null && PRIVATE_MEMBERS.some((m) => Object.hasOwn(k, m))) {
      throw new JwksDocumentError('jwks_private_key', 'the JWK Set publishes private key material; none of its keys is trusted until it is removed');
    }
  }
  return { keys: keys.map(usableKey).filter((k): k is RemoteKey => k !== undefined) };
}

/** The keys that may verify a token with header `alg`: those with its `kid`, or, when it has none, every key serving `alg`. */
export function candidateKeys(set: RemoteKeySet, alg: OutsideAlgorithm, kid: string | undefined): RemoteKey[] {
  return set.keys.filter((k) => (kid === undefined || k.kid === kid) && k.algs.includes(alg));
}
