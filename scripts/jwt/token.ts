import { randomUUID, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey, type ProtectedHeaderParameters } from 'jose';
import { CliError } from './errors';
import type { SigningAlg } from './keys';

export interface SignRequest {
  key: KeyObject;
  alg: SigningAlg;
  kid: string;
  iss: string;
  sub: string;
  aud: string | string[];
  /** Epoch seconds: iat. */
  now: number;
  ttlSeconds: number;
  /** Extra, non-registered claims. */
  claims: Record<string, unknown>;
}

export async function signToken(r: SignRequest): Promise<string> {
  return new SignJWT({ ...r.claims })
    .setProtectedHeader({ alg: r.alg, kid: r.kid, typ: 'JWT' })
    .setIssuer(r.iss)
    .setSubject(r.sub)
    .setAudience(r.aud)
    .setIssuedAt(r.now)
    .setExpirationTime(r.now + r.ttlSeconds)
    .setJti(randomUUID())
    .sign(r.key);
}

export interface DecodedToken {
  header: ProtectedHeaderParameters;
  payload: JWTPayload;
  /** iat, nbf and exp as ISO 8601 dates, for people. */
  dates: Record<string, string>;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** Header and payload of a compact JWS, without checking anything. Never echoes the token. */
export function decodeToken(token: string): DecodedToken {
  const parts = token.split('.');
  if (parts.length === 5) throw new CliError('malformed token: it is encrypted (JWE); only signed tokens (JWS) can be read.');
  if (parts.length !== 3) throw new CliError('malformed token: a JWT has three base64url parts separated by dots.');
  let header: ProtectedHeaderParameters;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch {
    throw new CliError('malformed token: its header or payload is not base64url-encoded JSON.');
  }
  const dates: Record<string, string> = {};
  for (const claim of ['iat', 'nbf', 'exp'] as const) {
    const value = payload[claim];
    if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < 8.64e12) dates[claim] = iso(value);
  }
  return { header, payload, dates };
}

export interface VerifyOptions {
  algorithms: SigningAlg[];
  issuer?: string;
  audience?: string[];
  /** Epoch seconds; the clock by default. */
  now?: number;
}

export type Verdict = { valid: true; payload: JWTPayload } | { valid: false; reason: string };

/**
 * Checks signature and claims; `exp` is required, as client-signed tokens must be short-lived.
 * A token problem is a verdict; a key set problem (unreachable URL, bad JWK Set) is thrown.
 */
export async function verifyToken(token: string, keys: JWTVerifyGetKey, options: VerifyOptions): Promise<Verdict> {
  const { header } = decodeToken(token);
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: options.algorithms,
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ['exp'],
      currentDate: options.now === undefined ? undefined : new Date(options.now * 1000),
    });
    return { valid: true, payload };
  } catch (err) {
    const reason = rejection(err as JoseError, header, options);
    if (reason === undefined) throw err;
    return { valid: false, reason };
  }
}

interface JoseError extends Error {
  code?: string;
  claim?: string;
  reason?: string;
  payload?: JWTPayload;
}

/** Header values are the sender's: show short plain ones, nothing else. */
const quoted = (value: unknown) => (typeof value === 'string' && /^[\w.:+/-]{1,80}$/.test(value) ? `"${value}"` : '(not shown)');

/** jose's error codes, mapped to one-line reasons in one place; undefined when the token is not at fault. */
function rejection(err: JoseError, header: ProtectedHeaderParameters, options: VerifyOptions): string | undefined {
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return `expired at ${iso(err.payload!.exp!)}.`;
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (err.reason === 'missing') return `missing "${err.claim}" claim.`;
      if (err.claim === 'iss') return 'wrong issuer: "iss" is not the --iss value.';
      if (err.claim === 'aud') return 'wrong audience: "aud" does not contain the --aud value.';
      if (err.claim === 'nbf') return `not valid yet: "nbf" is ${iso(err.payload!.nbf!)}.`;
      return `invalid "${err.claim}" claim.`;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad signature.';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return header.kid === undefined
        ? `unknown key: the token has no kid and no ${quoted(header.alg)} key is in the JWK Set.`
        : `unknown kid: no key in the JWK Set has kid ${quoted(header.kid)} for ${quoted(header.alg)}.`;
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'ambiguous key: several keys in the JWK Set match the token\'s kid and alg.';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return `algorithm ${quoted(header.alg)} not accepted (accepted: ${options.algorithms.join(', ')}).`;
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'malformed token: not a signed JWT with a JSON object payload.';
    default:
      return undefined;
  }
}
