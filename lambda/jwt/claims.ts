import { isSafeId } from '../shared/ids';

/** What the claims of an API key must satisfy. */
export interface ClaimRules {
  issuer: string;
  audience: string;
  userIdField: string;
  companyIdField: string;
  clockToleranceSeconds: number;
  /** The configured JWT_EXPIRES_IN: no key may expire further ahead than this (plus the tolerance). */
  maxLifetimeSeconds: number;
  /** Moesif Developer Portal keys: `iss` and `aud` may be absent (they must still match when present). */
  acceptPortalTokens?: boolean;
}

export type ClaimProblem =
  | { reason: 'missing_claim' | 'bad_claim'; detail: string }
  | { reason: 'expired' | 'not_yet_valid' | 'issued_in_future' | 'lifetime_exceeded' | 'wrong_issuer' | 'wrong_audience' };

export interface Identity {
  userId: string;
  companyId: string;
  /** The key's `jti`, when it has one (portal keys do not). */
  keyId?: string;
}

/**
 * NumericDate (RFC 7519 §2) as this API accepts it: a whole number of seconds. JSON.parse turns `1e309`
 * into Infinity, which jose compares happily (a key that never expires); fractions are refused too.
 */
function numericDate(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

/** A user or company id: a safe id string; a finite integer is taken as its decimal text (portal keys may carry numbers). */
function identifier(value: unknown): string | undefined {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  return isSafeId(text) ? text : undefined;
}

/** Checks every claim in one pass; `now` in epoch seconds. Returns the identity, or the first problem found. */
export function checkClaims(payload: Record<string, unknown>, rules: ClaimRules, now: number): Identity | ClaimProblem {
  const tolerance = rules.clockToleranceSeconds;
  const portal = rules.acceptPortalTokens === true;

  if (payload.exp === undefined) return { reason: 'missing_claim', detail: 'exp' };
  const exp = numericDate(payload.exp);
  if (exp === undefined) return { reason: 'bad_claim', detail: 'exp' };
  let nbf: number | undefined;
  if (payload.nbf !== undefined && (nbf = numericDate(payload.nbf)) === undefined) return { reason: 'bad_claim', detail: 'nbf' };
  let iat: number | undefined;
  if (payload.iat !== undefined && (iat = numericDate(payload.iat)) === undefined) return { reason: 'bad_claim', detail: 'iat' };

  if (exp <= now - tolerance) return { reason: 'expired' };
  if (nbf !== undefined && nbf > now + tolerance) return { reason: 'not_yet_valid' };
  if (iat !== undefined && iat > now + tolerance) return { reason: 'issued_in_future' };
  if (exp > now + rules.maxLifetimeSeconds + tolerance) return { reason: 'lifetime_exceeded' };

  if (payload.iss === undefined) {
    if (!portal) return { reason: 'missing_claim', detail: 'iss' };
  } else if (payload.iss !== rules.issuer) return { reason: 'wrong_issuer' };
  const aud = payload.aud;
  if (aud === undefined) {
    if (!portal) return { reason: 'missing_claim', detail: 'aud' };
  } else if (!(aud === rules.audience || (Array.isArray(aud) && aud.includes(rules.audience)))) return { reason: 'wrong_audience' };

  let keyId: string | undefined;
  if (payload.jti !== undefined) {
    if (!isSafeId(payload.jti)) return { reason: 'bad_claim', detail: 'jti' };
    keyId = payload.jti;
  }
  const identity: Identity = { userId: '', companyId: '' };
  for (const [field, target] of [[rules.userIdField, 'userId'], [rules.companyIdField, 'companyId']] as const) {
    const raw = payload[field];
    if (raw === undefined || raw === null || raw === '') return { reason: 'missing_claim', detail: field };
    const id = identifier(raw);
    if (id === undefined) return { reason: 'bad_claim', detail: field };
    identity[target] = id;
  }
  if (keyId !== undefined) identity.keyId = keyId;
  return identity;
}
