import { constants, createHmac, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import type { Algorithm } from './algorithms';

/**
 * JWS signatures (RFC 7518 §3), made and checked with synchronous node:crypto. jose 6 verifies through WebCrypto,
 * whose asynchronous dispatch costs ~80-160 µs a call on Node: more than the RSA or HMAC work itself
 * (see bench/RESULTS.md). The keys are KeyObjects built once per key-set load. The differential test
 * (test/lambda/jwt/differential.test.ts) holds this to jose's verdicts.
 */

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };
/** ECDSA signatures are R || S, each the curve's field size (RFC 7518 §3.4). */
const EC_SIGNATURE_BYTES: Record<string, number> = { ES256: 64, ES384: 96, ES512: 132 };

/** True only for a valid signature of `alg` over `input` with `key`. Never throws. */
export function verifySignature(alg: Algorithm, key: KeyObject, input: string, signature: Buffer): boolean {
  try {
    const family = alg.slice(0, 2);
    const hash = HASH[alg.slice(2)];
    const data = Buffer.from(input, 'latin1');
    switch (family) {
      case 'HS': {
        const mac = createHmac(hash, key).update(data).digest();
        return mac.length === signature.length && timingSafeEqual(mac, signature);
      }
      case 'RS':
        return verify(hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
      case 'PS':
        // Salt length = hash length, as RFC 7518 §3.5 and WebCrypto require (not "auto").
        return verify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 }, signature);
      case 'ES':
        return signature.length === EC_SIGNATURE_BYTES[alg] && verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'Ed':
        return verify(null, data, key, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/** The JWS signature of `input` (RFC 7518 §3), as verifySignature checks it. */
export function signJws(alg: Algorithm, key: KeyObject, input: string): Buffer {
  const hash = HASH[alg.slice(2)];
  const data = Buffer.from(input, 'latin1');
  switch (alg.slice(0, 2)) {
    case 'HS':
      return createHmac(hash, key).update(data).digest();
    case 'RS':
      return sign(hash, data, { key, padding: constants.RSA_PKCS1_PADDING });
    case 'PS':
      return sign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
    case 'ES':
      return sign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
    default:
      return sign(null, data, key);
  }
}
