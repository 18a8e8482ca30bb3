import { randomUUID } from 'node:crypto';
import { signJws } from './signature';
import { parseDurationSeconds } from '../shared/duration';
import type { SignerKey } from './jwk-set';
import { idProblem } from '../shared/ids';

/** A request the caller got wrong: answered with 400 and the field's name. */
export class InputError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export interface IssueRequest {
  userId: string;
  companyId: string;
  /** Requested lifetime in seconds; at most the configured maximum. */
  expiresInSeconds?: number;
}

export interface IssueOptions {
  issuer: string;
  audience: string;
  userIdField: string;
  companyIdField: string;
  /** The configured JWT_EXPIRES_IN: default and ceiling of a key's lifetime. */
  maxLifetimeSeconds: number;
  now?: Date;
  newKeyId?: () => string;
}

export interface IssuedKey {
  apikey: string;
  token_type: 'Bearer';
  key_id: string;
  expires_at: string;
}

/**
 * A required id of a request (body field or path parameter): 400 naming the field when it is absent, longer
 * than `maxLength`, or not a safe id. Ids travel into tokens, the authorizer context, JSON access-log lines
 * and Moesif (lambda/shared/ids.ts).
 */
export function requiredId(field: string, value: unknown, maxLength?: number): string {
  if (value === undefined || value === null || value === '') throw new InputError(field, `"${field}" is required.`);
  if (maxLength !== undefined && typeof value === 'string' && value.length > maxLength) throw new InputError(field, `"${field}" must have at most ${maxLength} characters.`);
  const problem = idProblem(value);
  if (problem) throw new InputError(field, `"${field}" ${problem}.`);
  return value as string;
}

/** A body that must be a JSON object; an absent or empty one is `{}` where `optional`. */
export function parseObject(rawBody: string | undefined, optional = false): Record<string, unknown> {
  if (optional && (rawBody === undefined || rawBody.trim() === '')) return {};
  let body: unknown;
  try {
    body = JSON.parse(rawBody ?? '');
  } catch {
    throw new InputError('body', 'The body must be a JSON object.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('body', 'The body must be a JSON object.');
  return body as Record<string, unknown>;
}

/** Parses and validates the POST /keys body. */
export function parseIssueRequest(rawBody: string | undefined, maxLifetimeSeconds: number): IssueRequest {
  return issueRequestFrom(parseObject(rawBody), maxLifetimeSeconds);
}

/** The POST /keys fields of a body already parsed (the key admin reads `name` from the same object). */
export function issueRequestFrom(fields: Record<string, unknown>, maxLifetimeSeconds: number): IssueRequest {
  const request: IssueRequest = { userId: requiredId('user_id', fields.user_id), companyId: requiredId('company_id', fields.company_id) };
  if (fields.expires_in !== undefined) {
    const seconds = parseDurationSeconds(fields.expires_in);
    if (seconds === undefined) throw new InputError('expires_in', '"expires_in" must be a positive number of seconds or a duration like "30d".');
    if (seconds > maxLifetimeSeconds) {
      throw new InputError('expires_in', `"expires_in" may not exceed the configured maximum of ${maxLifetimeSeconds} seconds.`);
    }
    request.expiresInSeconds = seconds;
  }
  return request;
}

/** The encoded header of each signer: the same for every key it signs. */
const HEADERS = new WeakMap<SignerKey, string>();

/**
 * Mints an API key: the user and company claims, iat, exp, iss, aud, jti; header alg, kid, typ. Signed with
 * synchronous node:crypto (signature.ts), not jose's SignJWT, whose WebCrypto dispatch costs more than the
 * signature itself (bench/RESULTS.md); test/lambda/jwt/issue.test.ts holds its tokens to jose's verdict.
 */
export function issueKey(request: IssueRequest, signer: SignerKey, options: IssueOptions): IssuedKey {
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const exp = iat + (request.expiresInSeconds ?? options.maxLifetimeSeconds);
  const jti = (options.newKeyId ?? randomUUID)();
  let header = HEADERS.get(signer);
  if (header === undefined) {
    header = Buffer.from(JSON.stringify({ alg: signer.alg, kid: signer.kid, typ: 'JWT' })).toString('base64url');
    HEADERS.set(signer, header);
  }
  const claims = { [options.userIdField]: request.userId, [options.companyIdField]: request.companyId, iat, exp, iss: options.issuer, aud: options.audience, jti };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const apikey = `${input}.${signJws(signer.alg, signer.signingKey, input).toString('base64url')}`;
  return { apikey, token_type: 'Bearer', key_id: jti, expires_at: new Date(exp * 1000).toISOString() };
}
