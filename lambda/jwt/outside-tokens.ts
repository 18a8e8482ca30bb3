import { checkClaims } from './claims';
import { parseCompact } from './compact';
import { candidateKeys, type RemoteKeySet } from './jwks-document';
import { createRemoteJwks, RemoteJwksError, type RemoteJwks, type RemoteJwksOptions } from './remote-jwks';
import { verifySignature } from './signature';
import type { OutsideAlgorithm, TrustedIssuer } from './trusted-issuers';
import type { RejectReason } from './verify';
import { isSafeId } from '../shared/ids';

/**
 * Access tokens of outside identity providers (`trustedIssuers`). The token's unverified `iss` only picks
 * which issuer's rules and keys apply; the key then comes from that issuer's JWK Set and nowhere else, so a
 * key of one issuer (or one of ours, or a client's) can never vouch for a token naming another. Order as in
 * verify.ts: strict decoding → issuer → algorithm allow-list → key → signature → claims.
 */

export interface OutsideIssuer {
  config: TrustedIssuer;
  keys: RemoteJwks;
}
/** Issuers by their exact `iss`. */
export type OutsideIssuers = ReadonlyMap<string, OutsideIssuer>;

/** One module-scope key source per configured issuer (`options` shared: fetch, clock, timeouts). */
export function createOutsideIssuers(configs: readonly TrustedIssuer[], options: Omit<RemoteJwksOptions, 'issuer' | 'jwksUri'> = {}): OutsideIssuers {
  return new Map(configs.map((config) => [config.issuer, { config, keys: createRemoteJwks({ ...options, issuer: config.issuer, jwksUri: config.jwksUri }) }]));
}

export interface OutsideVerifyOptions {
  /** @default 0 */
  clockToleranceSeconds?: number;
  /** The furthest ahead an accepted token may expire: issuers' access tokens live minutes to a day. @default 86400 */
  maxLifetimeSeconds?: number;
  /** Injectable clock. @default new Date() */
  currentDate?: Date;
}

export type OutsideRejectReason = RejectReason | 'untrusted_issuer' | 'keys_unavailable' | 'verifier_error';

export type OutsideResult =
  | { ok: true; issuer: string; clientId: string; userId: string; companyId?: string; keyId?: string; kid?: string }
  | { ok: false; reason: OutsideRejectReason; detail?: string };

type Refusal = Extract<OutsideResult, { ok: false }>;
const refuse = (reason: OutsideRejectReason, detail?: string): Refusal => (detail === undefined ? { ok: false, reason } : { ok: false, reason, detail });

/** The first configured audience the token's `aud` names, else the first configured (so checkClaims says wrong_audience). */
function audienceFor(aud: unknown, accepted: readonly string[]): string {
  return accepted.find((a) => aud === a || (Array.isArray(aud) && aud.includes(a))) ?? accepted[0];
}

/** The client application: the configured claim, else `client_id` (RFC 9068 §2.2), else `azp` (OpenID Connect). */
function clientIdOf(payload: Record<string, unknown>, config: TrustedIssuer): string | Refusal {
  const claim = config.clientIdClaim ?? (payload.client_id !== undefined ? 'client_id' : 'azp');
  const value = payload[claim];
  if (value === undefined || value === null || value === '') return refuse('missing_claim', config.clientIdClaim ?? 'client_id');
  return isSafeId(value) ? value : refuse('bad_claim', claim);
}

async function keysOf(issuer: OutsideIssuer): Promise<RemoteKeySet | Refusal> {
  try {
    return await issuer.keys.get();
  } catch (err) {
    return refuse('keys_unavailable', err instanceof RemoteJwksError ? err.code : 'jwks_unavailable');
  }
}

/** Verifies an outside issuer's token. Never throws: every failure is a reason code, logged by the caller. */
export async function verifyOutsideToken(token: string | undefined, issuers: OutsideIssuers, options: OutsideVerifyOptions = {}): Promise<OutsideResult> {
  try {
    if (!token) return refuse('no_token');
    const jws = parseCompact(token);
    if (typeof jws === 'string') return refuse(jws);
    const { header, payload } = jws;

    if (payload.iss === undefined) return refuse('missing_claim', 'iss');
    const issuer = typeof payload.iss === 'string' ? issuers.get(payload.iss) : undefined;
    if (!issuer) return refuse('untrusted_issuer');
    const { config } = issuer;

    // Only the issuer's own asymmetric algorithms: `none` and HS* (a public key used as an HMAC secret) never reach a key.
    if (typeof header.alg !== 'string' || !(config.algorithms as readonly string[]).includes(header.alg)) {
      return refuse('alg_not_allowed', typeof header.alg === 'string' ? header.alg.slice(0, 16) : typeof header.alg);
    }
    const alg = header.alg as OutsideAlgorithm;
    if (header.crit !== undefined) return refuse('crit_not_supported');
    if (header.kid !== undefined && !isSafeId(header.kid)) return refuse('malformed', 'kid');
    const kid = header.kid as string | undefined;

    let set = await keysOf(issuer);
    if ('ok' in set) return set;
    let candidates = candidateKeys(set, alg, kid);
    // A kid not in the set may be a key the issuer rotated in since we fetched (rate-limited in remote-jwks.ts).
    if (kid !== undefined && candidates.length === 0 && (await issuer.keys.refresh())) {
      set = await keysOf(issuer);
      if ('ok' in set) return set;
      candidates = candidateKeys(set, alg, kid);
    }
    if (candidates.length === 0) return refuse('unknown_kid');
    // Without a kid a token is checked only when one key of its algorithm could have signed it (as jose does),
    // so a kid-less token cannot make us try every key.
    if (kid === undefined && candidates.length > 1) return refuse('kid_missing');
    if (!candidates.some((k) => verifySignature(alg, k.verifyKey, jws.signingInput, jws.signature))) return refuse('bad_signature');

    const now = Math.floor((options.currentDate?.getTime() ?? Date.now()) / 1000);
    const company = config.companyIdClaim;
    const hasCompany = company !== undefined && payload[company] !== undefined && payload[company] !== null && payload[company] !== '';
    // checkClaims wants a company id; when the token carries none (the application's company is used), the
    // user id claim stands in for it, so the same rules still check everything else.
    // Amazon Cognito access tokens carry no aud but a client_id; API Gateway's own JWT authorizer takes that
    // client_id as the audience when aud is absent (http-api-troubleshooting-jwt), and so does this.
    const claims = payload.aud === undefined && typeof payload.client_id === 'string' && config.audience.includes(payload.client_id) ? { ...payload, aud: payload.client_id } : payload;
    const identity = checkClaims(
      claims,
      {
        issuer: config.issuer,
        audience: audienceFor(claims.aud, config.audience),
        userIdField: config.userIdClaim,
        companyIdField: hasCompany ? company : config.userIdClaim,
        clockToleranceSeconds: options.clockToleranceSeconds ?? 0,
        maxLifetimeSeconds: options.maxLifetimeSeconds ?? 86_400,
      },
      now,
    );
    if ('reason' in identity) return { ok: false, ...identity };
    const clientId = clientIdOf(payload, config);
    if (typeof clientId !== 'string') return clientId;

    const result: Extract<OutsideResult, { ok: true }> = { ok: true, issuer: config.issuer, clientId, userId: identity.userId };
    if (hasCompany) result.companyId = identity.companyId;
    if (identity.keyId !== undefined) result.keyId = identity.keyId;
    if (kid !== undefined) result.kid = kid;
    return result;
  } catch {
    // Every step above answers with a reason; a throw here (a bug, or an injected key source that throws) still refuses.
    return refuse('verifier_error');
  }
}
