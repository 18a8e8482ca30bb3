import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Algorithm } from './algorithms';
import type { KeyRing, RingKey } from './jwk-set';

export interface VerifyOptions {
  /** The one algorithm accepted: the configured JWT_ALGORITHM. */
  algorithm: Algorithm;
  issuer: string;
  audience: string;
  userIdField: string;
  companyIdField: string;
  clockToleranceSeconds: number;
  /**
   * Accept tokens minted by the Moesif Developer Portal's JWT plugin: `iss`, `aud` and `kid` may be
   * absent (each must still match when present). @default false
   */
  acceptPortalTokens?: boolean;
  /** Injectable clock. @default new Date() */
  currentDate?: Date;
}

/** Why a token was refused: logged, never returned to the caller. */
export type RejectReason =
  | 'no_token'
  | 'malformed'
  | 'alg_not_allowed'
  | 'kid_missing'
  | 'unknown_kid'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'missing_claim';

export type VerifyResult =
  | { ok: true; userId: string; companyId: string; keyId?: string; kid: string; payload: JWTPayload }
  | { ok: false; reason: RejectReason; detail?: string };

/** Takes the token out of an Authorization header value: `Bearer <jwt>` or a bare `<jwt>`. */
export function extractToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const value = header.trim();
  const match = /^bearer\s+(\S+)$/i.exec(value);
  if (match) return match[1];
  return /\s/.test(value) || value === '' ? undefined : value;
}

function claimId(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function reasonFor(err: unknown): { reason: RejectReason; detail?: string } {
  if (err instanceof errors.JWTExpired) return { reason: 'expired' };
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return { reason: 'missing_claim', detail: err.claim };
    if (err.claim === 'nbf') return { reason: 'not_yet_valid' };
    if (err.claim === 'iss') return { reason: 'wrong_issuer' };
    if (err.claim === 'aud') return { reason: 'wrong_audience' };
    return { reason: 'missing_claim', detail: err.claim };
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return { reason: 'bad_signature' };
  if (err instanceof errors.JOSEAlgNotAllowed) return { reason: 'alg_not_allowed' };
  return { reason: 'malformed', detail: (err as { code?: string }).code };
}

function audienceMatches(aud: unknown, audience: string): boolean {
  return Array.isArray(aud) ? aud.includes(audience) : aud === audience;
}

/**
 * Verifies a token against the key ring. Order (as aws-jwt-verify): header → key → pinned
 * algorithm → signature → claims. Never throws: every failure is a reason code.
 */
export async function verifyToken(token: string | undefined, ring: KeyRing, options: VerifyOptions): Promise<VerifyResult> {
  if (!token) return { ok: false, reason: 'no_token' };
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  // Checked before any key is touched, so `none` and HS-with-a-public-key never reach a verifier.
  if (header.alg !== options.algorithm) return { ok: false, reason: 'alg_not_allowed', detail: String(header.alg) };

  let candidates: RingKey[];
  if (typeof header.kid === 'string') {
    const key = ring.byKid.get(header.kid);
    if (!key || key.alg !== options.algorithm) return { ok: false, reason: 'unknown_kid' };
    candidates = [key];
  } else if (options.acceptPortalTokens) {
    candidates = ring.keys.filter((k) => k.alg === options.algorithm);
  } else {
    return { ok: false, reason: 'kid_missing' };
  }

  const portal = options.acceptPortalTokens === true;
  const requiredClaims = ['exp', options.userIdField, options.companyIdField];
  if (!portal) requiredClaims.push('iss', 'aud');
  let last: { reason: RejectReason; detail?: string } = { reason: 'unknown_kid' };
  for (const key of candidates) {
    try {
      const { payload } = await jwtVerify(token, key.verifyKey, {
        algorithms: [options.algorithm],
        // Portal tokens may omit iss/aud; when present they are compared below instead.
        issuer: portal ? undefined : options.issuer,
        audience: portal ? undefined : options.audience,
        clockTolerance: options.clockToleranceSeconds,
        requiredClaims,
        currentDate: options.currentDate,
      });
      if (payload.iss !== undefined && payload.iss !== options.issuer) return { ok: false, reason: 'wrong_issuer' };
      if (payload.aud !== undefined && !audienceMatches(payload.aud, options.audience)) return { ok: false, reason: 'wrong_audience' };
      const userId = claimId(payload[options.userIdField]);
      const companyId = claimId(payload[options.companyIdField]);
      if (!userId) return { ok: false, reason: 'missing_claim', detail: options.userIdField };
      if (!companyId) return { ok: false, reason: 'missing_claim', detail: options.companyIdField };
      return { ok: true, userId, companyId, keyId: payload.jti, kid: key.kid, payload };
    } catch (err) {
      last = reasonFor(err);
      // With several candidate keys only a signature mismatch means "try the next one".
      if (last.reason !== 'bad_signature') return { ok: false, ...last };
    }
  }
  return { ok: false, ...last };
}
