/**
 * Who gets in: the Lambda authorizer's decision, as one pipeline over injected sources (so tests need no AWS).
 *
 *   token ──► kind (by its unverified iss: routing only, each verifier uses its own keys alone)
 *     own      this stack's keys (lambda/jwt/verify.ts)              → user, company, key id
 *     client   a key a client application registered (client-tokens) → the application's own identity
 *     outside  a trusted identity provider's JWKS (outside-tokens)    → user (and company) from its claims
 *   ──► own tokens: revocations (key ids, user and company watermarks; in memory). A client token lives
 *       minutes and an outside token is its provider's to revoke: suspending the application stops both
 *   ──► client and outside tokens: an active application with an accepted subscription whose plan allows the route
 *   ──► Moesif governance
 *   ──► context {userId, companyId, keyId?, clientId?, planId?}
 *
 * Never throws: every refusal is a reason code for the log, and the caller answers 403 without saying why.
 */
import type { GovernanceRequest, GovernanceSource } from '../moesif/governance';
import { verifyClientToken, type LookupClientKey } from '../jwt/client-tokens';
import type { KeyRing } from '../jwt/jwk-set';
import type { KeySource } from '../jwt/key-source';
import { verifyOutsideToken, type OutsideIssuers } from '../jwt/outside-tokens';
import { tokenKind, type TokenKind } from '../jwt/token-kind';
import { verifyToken, type VerifyOptions } from '../jwt/verify';
import type { RevocationState } from '../registry/revocation-state';

/** What API Gateway passes on to the backend and the access log (strings only). */
export interface AuthorizerContext {
  userId: string;
  companyId: string;
  keyId?: string;
  clientId?: string;
  planId?: string;
}

/** The application side of client and outside tokens (lambda/registry/application-directory.ts). */
export interface ApplicationDirectory {
  clientKey: LookupClientKey;
  access(clientId: string, routeKey: string): Promise<
    | { ok: true; application: { clientId: string; companyId: string }; planId: string; subscriptionId: string }
    | { ok: false; reason: string }
  >;
}

export interface AccessDeps {
  /** This stack's own tokens: the settings they are verified with. */
  own: VerifyOptions;
  ownKeys: KeySource<KeyRing>;
  /** Trusted identity providers (empty when none are configured). */
  outside: OutsideIssuers;
  directory: ApplicationDirectory;
  revocations: RevocationState;
  governance?: GovernanceSource;
  clientTokenMaxLifetimeSeconds: number;
  /** Request facts may decide governance rules only when API Gateway caches no answer. */
  cacheOff: boolean;
  now?: () => Date;
}

export interface AccessRequest {
  token?: string;
  routeKey: string;
  facts: GovernanceRequest;
}

export type Decision =
  | { allow: true; kind: TokenKind; context: AuthorizerContext; warning?: string }
  | { allow: false; kind: TokenKind; reason: string; detail?: string; keyId?: string; clientId?: string; governance?: Record<string, unknown> };

type Verified = { ok: true; identity: AuthorizerContext; iat?: number } | { ok: false; reason: string; detail?: string };

/** Our key ring; undefined when it cannot be read (Secrets Manager down on a cold container, a bad secret). */
async function ownRing(deps: AccessDeps): Promise<KeyRing | undefined> {
  try {
    return await deps.ownKeys.get();
  } catch {
    return undefined;
  }
}

async function ownToken(token: string | undefined, deps: AccessDeps): Promise<Verified> {
  const options = { ...deps.own, currentDate: deps.now?.() };
  // As a JWKS or a client key that cannot be read: a reason code (this function never throws), not an exception.
  const keysDown: Verified = { ok: false, reason: 'keys_unavailable', detail: 'signing_keys' };
  let ring = await ownRing(deps);
  if (!ring) return keysDown;
  let result = verifyToken(token, ring, options);
  // A kid we have not seen may be a key added by a rotation since the cache was filled.
  if (!result.ok && result.reason === 'unknown_kid' && (await deps.ownKeys.refresh())) {
    ring = await ownRing(deps);
    if (!ring) return keysDown;
    result = verifyToken(token, ring, options);
  }
  if (!result.ok) return result;
  const identity: AuthorizerContext = { userId: result.userId, companyId: result.companyId };
  if (result.keyId) identity.keyId = result.keyId;
  return { ok: true, identity, iat: typeof result.payload.iat === 'number' ? result.payload.iat : undefined };
}

/** A client or outside token's application: active, subscribed to a plan that allows this route. */
async function throughApplication(clientId: string, identity: Omit<AuthorizerContext, 'companyId' | 'clientId' | 'planId'> & { companyId?: string }, req: AccessRequest, deps: AccessDeps): Promise<Verified> {
  let access: Awaited<ReturnType<ApplicationDirectory['access']>>;
  try {
    access = await deps.directory.access(clientId, req.routeKey);
  } catch {
    // DynamoDB down (the directory serves stale entries while it can): refused with a reason, as a client
    // token whose key cannot be looked up is (keys_unavailable), not thrown past the "never throws" promise.
    return { ok: false, reason: 'registry_unavailable', detail: clientId };
  }
  if (!access.ok) return { ok: false, reason: access.reason, detail: clientId };
  return { ok: true, identity: { ...identity, companyId: identity.companyId ?? access.application.companyId, clientId, planId: access.planId } };
}

async function verify(kind: TokenKind, token: string | undefined, req: AccessRequest, deps: AccessDeps): Promise<Verified> {
  const tolerance = deps.own.clockToleranceSeconds;
  if (kind === 'own') return ownToken(token, deps);
  if (kind === 'client') {
    const result = await verifyClientToken(token!, deps.directory.clientKey, {
      audience: deps.own.audience,
      clientTokenMaxLifetimeSeconds: deps.clientTokenMaxLifetimeSeconds,
      clockToleranceSeconds: tolerance,
      currentDate: deps.now?.(),
    });
    if (!result.ok) return result;
    // Amplify style: the application acts as itself, so it is the user; its customer is the company.
    const identity = { userId: result.clientId, ...(result.keyId ? { keyId: result.keyId } : {}) };
    return throughApplication(result.clientId, identity, req, deps);
  }
  const result = await verifyOutsideToken(token!, deps.outside, { clockToleranceSeconds: tolerance, currentDate: deps.now?.() });
  if (!result.ok) return result;
  const identity = { userId: result.userId, ...(result.companyId ? { companyId: result.companyId } : {}), ...(result.keyId ? { keyId: result.keyId } : {}) };
  return throughApplication(result.clientId, identity, req, deps);
}

export async function decide(req: AccessRequest, deps: AccessDeps): Promise<Decision> {
  const kind = tokenKind(req.token, deps.own.issuer, deps.outside);
  const verified = await verify(kind, req.token, req, deps);
  if (!verified.ok) return { allow: false, kind, reason: verified.reason, detail: verified.detail };
  const { identity } = verified;

  let warning: string | undefined;
  if (kind === 'own') {
    // In memory: at most one DynamoDB query per refresh interval, whatever the request rate.
    const revocation = await deps.revocations.check({ keyId: identity.keyId, userId: identity.userId, companyId: identity.companyId, iat: verified.iat });
    if (revocation.revoked) return { allow: false, kind, reason: revocation.reason ?? 'revoked', keyId: identity.keyId };
    // revocationFailMode open, and nothing could be read: allowed, and said.
    warning = revocation.reason;
  }

  // API Gateway reuses an answer for every request with the same identity sources while it is cached, so
  // request facts (route, IP, headers) may decide only when nothing is cached; otherwise rules on them are
  // skipped (and logged), never guessed.
  const verdict = await deps.governance?.check({ userId: identity.userId, companyId: identity.companyId, request: deps.cacheOff ? req.facts : undefined });
  if (verdict && !verdict.allow) return { allow: false, kind, reason: 'governance', governance: { ...verdict }, keyId: identity.keyId, clientId: identity.clientId };
  return warning ? { allow: true, kind, context: identity, warning } : { allow: true, kind, context: identity };
}
