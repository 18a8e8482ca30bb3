import { parseCompact } from './compact';

/**
 * Which verifier a token goes to. The unverified `iss` only routes: each verifier then takes keys from its
 * own source alone (our key ring, that outside issuer's JWK Set, the client key registry), so routing a
 * forged token elsewhere can only make it fail there.
 * - `own`: our `iss`, no `iss` (Moesif portal keys), or a token that does not even parse (verify.ts says why);
 * - `outside`: an `iss` listed in trustedIssuers;
 * - `client`: any other `iss`: a client application signing as itself (`iss` = `sub` = its client id).
 */
export type TokenKind = 'own' | 'outside' | 'client';

export function tokenKind(token: string | undefined, ownIssuer: string, outsideIssuers: { has(issuer: string): boolean }): TokenKind {
  if (!token) return 'own';
  const jws = parseCompact(token);
  if (typeof jws === 'string') return 'own';
  const iss = jws.payload.iss;
  if (iss === undefined || iss === ownIssuer || typeof iss !== 'string') return 'own';
  return outsideIssuers.has(iss) ? 'outside' : 'client';
}
