import { ALGORITHMS, isSymmetric, type Algorithm } from './algorithms';
import { idProblem } from '../shared/ids';

/**
 * The `trustedIssuers` setting: outside identity providers (Cognito, Entra ID, Auth0, Okta, Keycloak, ...)
 * whose access tokens the Lambda authorizer accepts, each checked against its own published keys. Read once
 * at synth (lib/config) and once per cold start (env TRUSTED_ISSUERS), by this one parser.
 */

/** Asymmetric algorithms only: an outside issuer never shares a secret with this API, so HS* cannot be trusted. */
export type OutsideAlgorithm = Exclude<Algorithm, 'HS256' | 'HS384' | 'HS512'>;
export const OUTSIDE_ALGORITHMS: readonly OutsideAlgorithm[] = ALGORITHMS.filter((a): a is OutsideAlgorithm => !isSymmetric(a));

export interface TrustedIssuer {
  /** The exact `iss` of its tokens (compared as text: no trailing-slash or case folding). */
  issuer: string;
  /** Accepted `aud` values: a token must name at least one. */
  audience: readonly string[];
  /** Where its JWK Set is; absent: `jwks_uri` of `<issuer>/.well-known/openid-configuration`. */
  jwksUri?: string;
  /** @default ['RS256'] */
  algorithms: readonly OutsideAlgorithm[];
  /** The claim holding the user id. @default 'sub' */
  userIdClaim: string;
  /** The claim holding the company id; absent (or absent from a token): the application's company. */
  companyIdClaim?: string;
  /** The claim holding the client application's id; absent: `client_id`, else `azp`. */
  clientIdClaim?: string;
}

/** One entry as written (JSON, or the `JwtApiKeys` prop): the optional fields take their defaults. */
export interface TrustedIssuerInput {
  /** The exact `iss` of its tokens. */
  readonly issuer: string;
  /** The `aud` its tokens carry for this API (one of them). */
  readonly audience: string | readonly string[];
  /** @default the `jwks_uri` of `<issuer>/.well-known/openid-configuration` */
  readonly jwksUri?: string;
  /** @default ['RS256'] */
  readonly algorithms?: readonly OutsideAlgorithm[];
  /** @default 'sub' */
  readonly userIdClaim?: string;
  /** @default none: the application's company */
  readonly companyIdClaim?: string;
  /** @default `client_id`, else `azp` */
  readonly clientIdClaim?: string;
}

export class TrustedIssuersError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrustedIssuersError';
  }
}

const FIELDS = ['issuer', 'audience', 'jwksUri', 'algorithms', 'userIdClaim', 'companyIdClaim', 'clientIdClaim'] as const;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why `value` is not a URL keys may be fetched from, or undefined. Plain http only on loopback (tests, local runs). */
export function urlProblem(value: unknown, isIssuer: boolean): string | undefined {
  if (typeof value !== 'string' || value === '') return 'must be a non-empty URL string';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    return 'must use https:// (plain http:// only for 127.0.0.1 or localhost)';
  }
  if (url.username || url.password) return 'must not hold a user name or password';
  // OpenID Connect Discovery §3: an issuer has no query or fragment.
  if (url.hash || value.includes('#')) return 'must not have a #fragment';
  if (isIssuer && url.search) return 'must not have a ?query';
  return undefined;
}

function at(index: number, field: string, problem: string): TrustedIssuersError {
  return new TrustedIssuersError(`trustedIssuers[${index}].${field} ${problem}.`);
}

function claimName(entry: Record<string, unknown>, index: number, field: string): string | undefined {
  const value = entry[field];
  if (value === undefined) return undefined;
  const problem = idProblem(value);
  if (problem) throw at(index, field, `must be a claim name: it ${problem}`);
  return value as string;
}

function audiences(value: unknown, index: number): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || list.some((a) => typeof a !== 'string' || a.trim() === '' || a.trim() !== a)) {
    throw at(index, 'audience', 'must be a non-empty string or a non-empty list of them (the aud its tokens carry for this API)');
  }
  return [...new Set(list as string[])];
}

function algorithms(value: unknown, index: number): OutsideAlgorithm[] {
  if (value === undefined) return ['RS256'];
  if (!Array.isArray(value) || value.length === 0) throw at(index, 'algorithms', `must be a non-empty list, e.g. ["RS256"]`);
  for (const alg of value) {
    if (typeof alg === 'string' && alg.toUpperCase().startsWith('HS')) {
      throw at(index, 'algorithms', `holds ${alg.slice(0, 8)}: an outside issuer never shares a secret with this API; use its public-key algorithm (RS256, ES256, ...)`);
    }
    if (!(OUTSIDE_ALGORITHMS as readonly unknown[]).includes(alg)) {
      throw at(index, 'algorithms', `holds an unsupported value; use ${OUTSIDE_ALGORITHMS.join(', ')}`);
    }
  }
  return [...new Set(value as OutsideAlgorithm[])];
}

function entryOf(raw: unknown, index: number): TrustedIssuer {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TrustedIssuersError(`trustedIssuers[${index}] must be an object {issuer, audience, ...}.`);
  const entry = raw as Record<string, unknown>;
  const unknown = Object.keys(entry).find((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown !== undefined) throw at(index, unknown.slice(0, 40), `is not a known field; use ${FIELDS.join(', ')}`);

  const issuerProblem = urlProblem(entry.issuer, true);
  if (issuerProblem) throw at(index, 'issuer', issuerProblem);
  if (entry.jwksUri !== undefined) {
    const problem = urlProblem(entry.jwksUri, false);
    if (problem) throw at(index, 'jwksUri', problem);
  }
  const issuer: TrustedIssuer = {
    issuer: entry.issuer as string,
    audience: audiences(entry.audience, index),
    algorithms: algorithms(entry.algorithms, index),
    userIdClaim: claimName(entry, index, 'userIdClaim') ?? 'sub',
  };
  if (entry.jwksUri !== undefined) issuer.jwksUri = entry.jwksUri as string;
  const company = claimName(entry, index, 'companyIdClaim');
  if (company !== undefined) issuer.companyIdClaim = company;
  const client = claimName(entry, index, 'clientIdClaim');
  if (client !== undefined) issuer.clientIdClaim = client;
  return issuer;
}

/**
 * Validates the `trustedIssuers` list: JSON text (context, a file, env TRUSTED_ISSUERS) or the parsed value.
 * Empty text or an empty list means none. Throws a TrustedIssuersError naming the entry and field to fix.
 */
export function parseTrustedIssuers(json: unknown): TrustedIssuer[] {
  let value = json;
  if (typeof json === 'string') {
    if (json.trim() === '') return [];
    try {
      value = JSON.parse(json);
    } catch {
      throw new TrustedIssuersError('trustedIssuers is not valid JSON; expected a list like [{"issuer":"https://idp.example.com","audience":"my-api"}].');
    }
  }
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TrustedIssuersError('trustedIssuers must be a JSON list of {issuer, audience, ...} objects.');
  const list = value.map(entryOf);
  const seen = new Map<string, number>();
  list.forEach((entry, index) => {
    const first = seen.get(entry.issuer);
    if (first !== undefined) throw at(index, 'issuer', `repeats trustedIssuers[${first}].issuer; list each issuer once (audience takes a list)`);
    seen.set(entry.issuer, index);
  });
  return list;
}
