/**
 * Bundle-time stand-in for `jose` in the authorizer (bench only): the one function it reaches,
 * `calculateJwkThumbprint`, as RFC 7638 with node:crypto (the required members in lexicographic order).
 */
import { createHash } from 'node:crypto';

const REQUIRED: Record<string, string[]> = { EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'], RSA: ['e', 'kty', 'n'], oct: ['k', 'kty'] };

export async function calculateJwkThumbprint(jwk: Record<string, unknown>): Promise<string> {
  const members = REQUIRED[String(jwk.kty)];
  if (!members) throw new Error('unsupported kty');
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}
