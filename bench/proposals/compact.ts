/**
 * PROPOSAL measured by the bench (not used by lambda/): lambda/jwt/compact.ts with the same verdicts and
 * less work per token. The hot-path profile of the HS256 handler (bench/RESULTS.md) puts ~13% of its
 * samples in `jsonObject` (a new fatal TextDecoder per segment) and ~10% in `decodeBase64url` (a
 * re-encode of each segment to prove it canonical). Here:
 * - UTF-8 validity is `buffer.isUtf8` (simdutf) and the text is `toString('utf8')`; a leading BOM is
 *   dropped, as TextDecoder does, so a token's verdict does not change;
 * - canonical base64url is the alphabet, a length that is not 1 mod 4, and zero unused bits in the last
 *   character, checked on that character instead of re-encoding the segment;
 * - a decoded header is remembered by its exact text: every token one key signs has the same header
 *   segment, so a warm authorizer decodes and parses it once per key. At most 64 texts are kept (a flood
 *   of distinct headers only clears the map); the header object is shared, and verifyToken only reads it.
 * bench/run.ts checks it against lambda/jwt/compact.ts on valid and mutated tokens before timing it.
 */
import { isUtf8 } from 'node:buffer';

export const MAX_TOKEN_LENGTH = 8192;

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SIXBITS = new Uint8Array(128);
for (let i = 0; i < ALPHABET.length; i++) SIXBITS[ALPHABET.charCodeAt(i)] = i;
/** Bits of the last character that encode no byte, by segment length mod 4. */
const UNUSED_BITS = [0, 0, 0x0f, 0x03];

export function decodeBase64url(segment: string): Buffer | undefined {
  const rest = segment.length % 4;
  if (rest === 1 || !BASE64URL.test(segment)) return undefined;
  if (rest !== 0 && (SIXBITS[segment.charCodeAt(segment.length - 1)] & UNUSED_BITS[rest]) !== 0) return undefined;
  return Buffer.from(segment, 'base64url');
}

export interface CompactJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
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
