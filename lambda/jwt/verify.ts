import type { Algorithm } from './algorithms';
import { checkClaims, type ClaimRules } from './claims';
import { parseCompact } from './compact';
import type { KeyRing, RingKey } from './jwk-set';
import { verifySignature } from './signature';
import { isSafeId } from '../shared/ids';

export interface VerifyOptions extends ClaimRules {
  /** The one algorithm accepted: the configured JWT_ALGORITHM. */
  algorithm: Algorithm;
  /** Injectable clock. @default new Date() */
  currentDate?: Date;
}

/** Why a token was refused: logged, never returned to the caller. */
export type RejectReason =
  | 'no_token'
  | 'too_long'
  | 'malformed'
  | 'alg_not_allowed'
  | 'crit_not_supported'
  | 'kid_missing'
  | 'unknown_kid'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'lifetime_exceeded'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'missing_claim'
  | 'bad_claim';

export type VerifyResult =
  | { ok: true; userId: string; companyId: string; keyId?: string; kid: string; payload: Record<string, unknown> }
  | { ok: false; reason: RejectReason; detail?: string };

/**
 * Takes the token out of an Authorization header value. Accepted forms: `Bearer <jwt>` (the scheme in
 * any letter case, RFC 9110 §11.1, one or more spaces) or a bare `<jwt>`; nothing else around it.
 */
export function extractToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const value = header.trim();
  const match = /^bearer +(\S+)$/i.exec(value);
  if (match) return match[1];
  return /\s/.test(value) || value === '' ? undefined : value;
}

/**
 * Verifies a token against the key ring, synchronously (node:crypto). Order, as aws-jwt-verify: strict
 * decoding → header → key → pinned algorithm → signature → claims. Never throws: every failure is a
 * reason code. The signature is checked before any claim, so claims of a forged token are never trusted.
 */
export function verifyToken(token: string | undefined, ring: KeyRing, options: VerifyOptions): VerifyResult {
  if (!token) return { ok: false, reason: 'no_token' };
  const jws = parseCompact(token);
  if (typeof jws === 'string') return { ok: false, reason: jws };
  const { header } = jws;
  // Checked before any key is touched, so `none` and HS-with-a-public-key never reach a verifier.
  if (header.alg !== options.algorithm) return { ok: false, reason: 'alg_not_allowed', detail: typeof header.alg === 'string' ? header.alg.slice(0, 16) : typeof header.alg };
  // No extension is understood here (RFC 7515 §4.1.11), so a token that names one is refused.
  if (header.crit !== undefined) return { ok: false, reason: 'crit_not_supported' };

  let candidates: RingKey[];
  if (header.kid !== undefined) {
    if (!isSafeId(header.kid)) return { ok: false, reason: 'malformed', detail: 'kid' };
    const key = ring.byKid.get(header.kid);
    if (!key || key.alg !== options.algorithm) return { ok: false, reason: 'unknown_kid' };
    candidates = [key];
  } else if (options.acceptPortalTokens) {
    candidates = ring.keys.filter((k) => k.alg === options.algorithm);
  } else {
    return { ok: false, reason: 'kid_missing' };
  }

  const key = candidates.find((k) => verifySignature(options.algorithm, k.verifyKey, jws.signingInput, jws.signature));
  if (!key) return { ok: false, reason: candidates.length === 0 ? 'unknown_kid' : 'bad_signature' };

  const now = Math.floor((options.currentDate?.getTime() ?? Date.now()) / 1000);
  const identity = checkClaims(jws.payload, options, now);
  if ('reason' in identity) return { ok: false, ...identity };
  return { ok: true, ...identity, kid: key.kid, payload: jws.payload };
}
