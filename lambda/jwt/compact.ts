/**
 * The compact JWS form of a JWT, read strictly: one token has exactly one spelling.
 *
 * jose (like most libraries) decodes base64url leniently, so a genuine signature written with padding
 * (`=`) or with the unused low bits of its last character set still verifies. Each such spelling is a
 * distinct string, hence a distinct API Gateway authorizer-cache entry, and would slip past any exact-match
 * check (a deny list of tokens, a log search). RFC 7515 §2 / RFC 4648 §3.5 canonical base64url is required
 * in every segment: the alphabet without padding, a length that is not 1 mod 4, and zero unused bits in the
 * last character (checked on that character, not by re-encoding the segment).
 *
 * Fast on purpose (the authorizer's hot path, bench/RESULTS.md): UTF-8 validity is `buffer.isUtf8` (a JWT's
 * JSON must be valid UTF-8, RFC 7519 §7.2; replacement characters would give two byte strings the same
 * claims), and a decoded header is remembered by its exact text (every token a key signs has the same
 * header segment), at most 64 of them; the header object is shared and only ever read.
 */
import { isUtf8 } from 'node:buffer';

/** The longest token accepted: API keys are ~0.3-1 KB; anything near the header limit is an attack. */
export const MAX_TOKEN_LENGTH = 8192;

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SIXBITS = new Uint8Array(128);
for (let i = 0; i < ALPHABET.length; i++) SIXBITS[ALPHABET.charCodeAt(i)] = i;
/** Bits of the last character that encode no byte, by segment length mod 4. */
const UNUSED_BITS = [0, 0, 0x0f, 0x03];

/** Decodes canonical base64url only; undefined for anything else (padding, other alphabets, dirty last bits). */
export function decodeBase64url(segment: string): Buffer | undefined {
  const rest = segment.length % 4;
  if (rest === 1 || !BASE64URL.test(segment)) return undefined;
  if (rest !== 0 && (SIXBITS[segment.charCodeAt(segment.length - 1)] & UNUSED_BITS[rest]) !== 0) return undefined;
  return Buffer.from(segment, 'base64url');
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
  if (!isUtf8(bytes)) return undefined;
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

const HEADERS = new Map<string, Record<string, unknown>>();
const MAX_HEADERS = 64;

function header(segment: string): Record<string, unknown> | undefined {
  const known = HEADERS.get(segment);
  if (known) return known;
  const bytes = decodeBase64url(segment);
  const parsed = bytes && jsonObject(bytes);
  if (parsed) {
    if (HEADERS.size >= MAX_HEADERS) HEADERS.clear();
    HEADERS.set(segment, parsed);
  }
  return parsed;
}

/** Splits and decodes a compact JWS. Never throws. */
export function parseCompact(token: string): CompactJws | CompactProblem {
  if (token.length > MAX_TOKEN_LENGTH) return 'too_long';
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first <= 0 || second < 0 || token.indexOf('.', second + 1) !== -1) return 'malformed';
  const headerSegment = token.slice(0, first);
  const payloadBytes = decodeBase64url(token.slice(first + 1, second));
  const signature = decodeBase64url(token.slice(second + 1));
  if (!payloadBytes || !signature) return 'malformed';
  const parsedHeader = header(headerSegment);
  if (!parsedHeader) return 'malformed';
  const payload = jsonObject(payloadBytes);
  if (!payload) return 'malformed';
  return { header: parsedHeader, payload, signingInput: token.slice(0, second), signature };
}
