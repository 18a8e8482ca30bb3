/**
 * The compact JWS form of a JWT, read strictly: one token has exactly one spelling.
 *
 * jose (like most libraries) decodes base64url leniently, so a genuine signature written with padding
 * (`=`) or with the unused low bits of its last character set still verifies. Each such spelling is a
 * distinct string, hence a distinct API Gateway authorizer-cache entry, and would slip past any exact-match
 * check (a deny list of tokens, a log search). RFC 7515 §2 / RFC 4648 §3.5 canonical base64url is required
 * in every segment: the alphabet without padding, and zero unused bits.
 */

/** The longest token accepted: API keys are ~0.3-1 KB; anything near the header limit is an attack. */
export const MAX_TOKEN_LENGTH = 8192;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Decodes canonical base64url only; undefined for anything else (padding, other alphabets, dirty last bits). */
export function decodeBase64url(segment: string): Buffer | undefined {
  // A length of 1 mod 4 cannot encode whole bytes.
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) return undefined;
  const bytes = Buffer.from(segment, 'base64url');
  // Re-encoding gives back the same text only when the unused bits of the last character are zero.
  return bytes.toString('base64url') === segment ? bytes : undefined;
}

export interface CompactJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** `<header>.<payload>`, the bytes the signature covers. */
  signingInput: string;
  signature: Buffer;
}

export type CompactProblem = 'too_long' | 'malformed';

function jsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    // fatal: a JWT's JSON must be valid UTF-8 (RFC 7519 §7.2); replacement characters would give two
    // byte strings the same claims.
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Splits and decodes a compact JWS. Never throws. */
export function parseCompact(token: string): CompactJws | CompactProblem {
  if (token.length > MAX_TOKEN_LENGTH) return 'too_long';
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first <= 0 || second < 0 || token.indexOf('.', second + 1) !== -1) return 'malformed';
  const headerBytes = decodeBase64url(token.slice(0, first));
  const payloadBytes = decodeBase64url(token.slice(first + 1, second));
  const signature = decodeBase64url(token.slice(second + 1));
  if (!headerBytes || !payloadBytes || !signature) return 'malformed';
  const header = jsonObject(headerBytes);
  const payload = jsonObject(payloadBytes);
  if (!header || !payload) return 'malformed';
  return { header, payload, signingInput: token.slice(0, second), signature };
}
