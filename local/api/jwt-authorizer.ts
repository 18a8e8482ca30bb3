import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { FORBIDDEN, UNAUTHORIZED, type Decision } from './authorization';
import { identityValues, type IdentityFacts } from './identity-source';
import type { AuthorizerModel } from './model';

// API Gateway's JWT authorizers verify RSA signatures only.
const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512'];

type KeyGetter = ReturnType<typeof createRemoteJWKSet>;

/** How API Gateway shows a claim in `jwt.claims`: strings as they are, lists as `[a b]`, other values as text. */
export function claimString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' ')}]`;
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

function invalid(description: string): Decision {
  return { ...UNAUTHORIZED, headers: { 'www-authenticate': `Bearer scope="" error="invalid_token" error_description="${description}"` }, error: description };
}

function reasonOf(err: unknown): string {
  const e = err as { code?: string; claim?: string };
  switch (e.code) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return e.claim === 'iss' ? 'the token does not have a valid issuer' : e.claim === 'nbf' ? 'the token is not valid yet' : `the token has an invalid ${e.claim} claim`;
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'the token was signed by an unknown key';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'the token is signed with an algorithm API Gateway does not accept';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'the token is not a valid JWT';
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JOSE_GENERIC':
      return `the issuer's keys could not be read`;
    default:
      return 'the token signature is invalid';
  }
}

/**
 * JWT authorizers as API Gateway runs them: the token from the identity source (optionally `Bearer `),
 * keys from the issuer's `/.well-known/openid-configuration` → `jwks_uri` (fetched over HTTP like the
 * service does, cached two hours), then signature, issuer, `aud` (or `client_id`), `exp`/`nbf`/`iat`,
 * and the route's scopes.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
 */
export class JwtAuthorizers {
  private readonly keys = new Map<string, Promise<KeyGetter>>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  private keySet(issuer: string): Promise<KeyGetter> {
    let getter = this.keys.get(issuer);
    if (!getter) {
      getter = (async () => {
        const res = await fetch(`${issuer}/.well-known/openid-configuration`);
        if (!res.ok) throw new Error(`${issuer}/.well-known/openid-configuration answered ${res.status}`);
        const doc = (await res.json()) as { jwks_uri?: string };
        if (!doc.jwks_uri) throw new Error(`${issuer}/.well-known/openid-configuration has no jwks_uri`);
        return createRemoteJWKSet(new URL(doc.jwks_uri), { cacheMaxAge: 2 * 3600_000, cooldownDuration: 30_000 });
      })();
      this.keys.set(issuer, getter);
      // A failed discovery is tried again on the next request.
      getter.catch(() => this.keys.delete(issuer));
    }
    return getter;
  }

  async authorize(authorizer: AuthorizerModel, scopes: string[], facts: IdentityFacts): Promise<Decision> {
    const values = identityValues(authorizer.identitySource.length ? authorizer.identitySource : ['$request.header.Authorization'], facts);
    if (!values) return UNAUTHORIZED;
    const token = values[0].replace(/^Bearer\s+/i, '').trim();
    const { issuer, audience } = authorizer.jwt ?? { issuer: '', audience: [] };
    let alg: string;
    try {
      alg = decodeProtectedHeader(token).alg ?? 'none';
    } catch {
      return invalid('the token is not a valid JWT');
    }
    if (!RSA_ALGORITHMS.includes(alg)) return invalid(`signing method ${alg} is invalid`);
    let keys: KeyGetter;
    try {
      keys = await this.keySet(issuer);
    } catch (err) {
      return invalid(`the issuer's keys could not be read (${(err as Error).message})`);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, { issuer, algorithms: RSA_ALGORITHMS, requiredClaims: ['exp'], currentDate: this.now() }));
    } catch (err) {
      return invalid(reasonOf(err));
    }
    if (typeof payload.iat === 'number' && payload.iat * 1000 > this.now().getTime()) return invalid('the token was issued in the future');
    // `client_id` counts only when there is no `aud`.
    const audiences = payload.aud !== undefined ? [payload.aud].flat() : [payload.client_id].filter((v): v is string => typeof v === 'string');
    if (!audiences.some((a) => audience.includes(a))) return invalid('the token does not have a valid audience');
    const tokenScopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [payload.scp ?? []].flat().flatMap((s) => String(s).split(' '));
    if (scopes.length > 0 && !scopes.some((s) => tokenScopes.includes(s))) {
      return { ...FORBIDDEN, headers: { 'www-authenticate': `Bearer scope="${scopes.join(' ')}" error="insufficient_scope" error_description="expected scopes: ${scopes.join(' ')}"` } };
    }
    const claims = Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, claimString(v)]));
    return { allow: true, output: { kind: 'jwt', claims, scopes: tokenScopes.filter(Boolean).length ? tokenScopes.filter(Boolean) : null }, values: {}, claims };
  }
}
