import type { KeyObject } from 'node:crypto';
import { checkClaims } from './claims';
import { CLIENT_ALGORITHMS, ClientKeyError, clientVerifyKey, type ClientAlgorithm, type ClientPublicJwk } from './client-keys';
import { parseCompact } from './compact';
import { verifySignature } from './signature';
import type { RejectReason } from './verify';
import { isSafeId } from '../shared/ids';

/**
 * Client-signed tokens (Axway Amplify style): a client application signs a short-lived JWT with its own
 * private key and names the registered public key in the header `kid`. Accepted only when the key is
 * registered to an active application, `iss` = `sub` = that application's client id, `aud` is this API,
 * the algorithm is the key's, and `exp − iat` stays within the configured short lifetime.
 */

/** What the key registry knows of a registered key (the integrator backs `lookupKey` with DynamoDB). */
export interface RegisteredClientKey {
  clientId: string;
  jwk: ClientPublicJwk;
  alg: ClientAlgorithm;
  /** Only `active` applications' keys verify. */
  applicationStatus: string;
}
export type LookupClientKey = (kid: string) => Promise<RegisteredClientKey | undefined>;

export interface ClientTokenOptions {
  /** This API's audience (JWT_AUDIENCE). */
  audience: string;
  /** The longest `exp − iat` accepted. @default 300 */
  clientTokenMaxLifetimeSeconds?: number;
  /** @default 0 */
  clockToleranceSeconds?: number;
  /** Injectable clock. @default new Date() */
  currentDate?: Date;
}

export type ClientRejectReason = RejectReason | 'wrong_subject' | 'application_suspended' | 'keys_unavailable' | 'verifier_error';

export type ClientTokenResult =
  | { ok: true; clientId: string; kid: string; keyId?: string }
  | { ok: false; reason: ClientRejectReason; detail?: string };

type Refusal = Extract<ClientTokenResult, { ok: false }>;
const refuse = (reason: ClientRejectReason, detail?: string): Refusal => (detail === undefined ? { ok: false, reason } : { ok: false, reason, detail });

/**
 * KeyObjects by registered JWK object: a lookup that returns its cached record again (as a module-scope
 * registry cache does) builds the key once, not per token.
 */
const keyObjects = new WeakMap<object, ReturnType<typeof clientVerifyKey>>();
function verifyKeyOf(registered: RegisteredClientKey): KeyObject {
  let built = keyObjects.get(registered.jwk);
  if (!built) {
    built = clientVerifyKey(registered.jwk);
    keyObjects.set(registered.jwk, built);
  }
  // Every time, not only when built: the same JWK object could come back in a record with another alg.
  if (built.alg !== registered.alg) throw new ClientKeyError(`The registered key does not sign ${registered.alg}.`);
  return built.key;
}

/** Verifies a client-signed token. Never throws: every failure is a reason code, logged by the caller. */
export async function verifyClientToken(token: string | undefined, lookupKey: LookupClientKey, options: ClientTokenOptions): Promise<ClientTokenResult> {
  try {
    if (!token) return refuse('no_token');
    const jws = parseCompact(token);
    if (typeof jws === 'string') return refuse(jws);
    const { header, payload } = jws;
    if (!(CLIENT_ALGORITHMS as readonly unknown[]).includes(header.alg)) return refuse('alg_not_allowed', typeof header.alg === 'string' ? header.alg.slice(0, 16) : typeof header.alg);
    const alg = header.alg as ClientAlgorithm;
    if (header.crit !== undefined) return refuse('crit_not_supported');
    if (header.kid === undefined) return refuse('kid_missing');
    if (!isSafeId(header.kid)) return refuse('malformed', 'kid');
    const kid = header.kid;

    let registered: RegisteredClientKey | undefined;
    try {
      registered = await lookupKey(kid);
    } catch {
      return refuse('keys_unavailable', 'registry');
    }
    if (!registered) return refuse('unknown_kid');
    // The key's own algorithm only: an RSA key registered for RS256 never verifies anything else.
    if (alg !== registered.alg) return refuse('alg_not_allowed', alg);
    let key: KeyObject;
    try {
      key = verifyKeyOf(registered);
    } catch {
      return refuse('unknown_kid', 'unusable_key');
    }
    if (!verifySignature(alg, key, jws.signingInput, jws.signature)) return refuse('bad_signature');
    if (registered.applicationStatus !== 'active') return refuse('application_suspended', isSafeId(registered.applicationStatus) ? registered.applicationStatus : undefined);

    const maxLifetime = options.clientTokenMaxLifetimeSeconds ?? 300;
    const now = Math.floor((options.currentDate?.getTime() ?? Date.now()) / 1000);
    // `sub` twice: a client token has no company claim (the application's company is used).
    const identity = checkClaims(
      payload,
      { issuer: registered.clientId, audience: options.audience, userIdField: 'sub', companyIdField: 'sub', clockToleranceSeconds: options.clockToleranceSeconds ?? 0, maxLifetimeSeconds: maxLifetime },
      now,
    );
    if ('reason' in identity) return { ok: false, ...identity };
    if (payload.sub !== registered.clientId) return refuse('wrong_subject');
    // checkClaims bounds how far ahead exp is; a short-lived client token must also say when it was made.
    if (payload.iat === undefined) return refuse('missing_claim', 'iat');
    if ((payload.exp as number) - (payload.iat as number) > maxLifetime) return refuse('lifetime_exceeded');

    const result: Extract<ClientTokenResult, { ok: true }> = { ok: true, clientId: registered.clientId, kid };
    if (identity.keyId !== undefined) result.keyId = identity.keyId;
    return result;
  } catch {
    return refuse('verifier_error');
  }
}
