/** JWS algorithms this project signs and verifies with (RFC 7518 + RFC 8037). */
export const ALGORITHMS = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA',
] as const;

export type Algorithm = (typeof ALGORITHMS)[number];

export function isAlgorithm(value: unknown): value is Algorithm {
  return typeof value === 'string' && (ALGORITHMS as readonly string[]).includes(value);
}

export function isSymmetric(alg: Algorithm): boolean {
  return alg.startsWith('HS');
}

/** Bytes of an HMAC key: RFC 7518 §3.2 wants at least the hash output size. */
export function hmacKeyBytes(alg: Algorithm): number {
  return Number(alg.slice(2)) / 8;
}
