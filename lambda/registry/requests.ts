import { InputError, parseObject, requiredId } from '../jwt/issue';
import { parseDurationSeconds } from '../shared/duration';
import { STATUSES, type KeyStatus } from './keys';
import type { Scope } from './schema';

export const MAX_NAME_LENGTH = 128;
export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 100;


/** The optional `name` of POST /keys (parsed beside parseIssueRequest, from the same body). */
export function parseKeyName(body: Record<string, unknown>): string | undefined {
  if (body.name === undefined || body.name === null) return undefined;
  return requiredId('name', body.name, MAX_NAME_LENGTH);
}

/** The `{keyId}` path parameter. */
export function parseKeyId(pathParameters: Record<string, string | undefined> | undefined): string {
  return requiredId('keyId', pathParameters?.keyId);
}

export interface ListQuery {
  scope: Scope;
  id: string;
  status?: KeyStatus;
  limit: number;
  next?: string;
}

/** GET /keys?user_id=…|company_id=…[&status=…][&limit=…][&next=…] */
export function parseListQuery(query: Record<string, string | undefined> | undefined): ListQuery {
  const q = query ?? {};
  if (q.user_id !== undefined && q.company_id !== undefined) throw new InputError('company_id', 'Give "user_id" or "company_id", not both.');
  if (q.user_id === undefined && q.company_id === undefined) throw new InputError('user_id', 'One of "user_id" or "company_id" is required.');
  const scope: Scope = q.user_id !== undefined ? 'user' : 'company';
  const field = scope === 'user' ? 'user_id' : 'company_id';
  const request: ListQuery = { scope, id: requiredId(field, q[field]), limit: DEFAULT_LIMIT };
  if (q.status !== undefined) {
    if (!STATUSES.includes(q.status as KeyStatus)) throw new InputError('status', `"status" must be one of ${STATUSES.join(', ')}.`);
    request.status = q.status as KeyStatus;
  }
  if (q.limit !== undefined) {
    const limit = /^\d{1,3}$/.test(q.limit) ? Number(q.limit) : NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) throw new InputError('limit', `"limit" must be a whole number from 1 to ${MAX_LIMIT}.`);
    request.limit = limit;
  }
  if (q.next !== undefined) request.next = q.next;
  return request;
}

/**
 * A roll's grace: 0 (the old key stops now) up to the maximum key lifetime, as seconds or a duration
 * like "1h". parseDurationSeconds refuses zero, which a grace allows, so "0", "0s", "0h"… are read here.
 */
export function parseGraceSeconds(value: unknown, maxLifetimeSeconds: number): number {
  if (value === undefined) return 0;
  const zero = value === 0 || (typeof value === 'string' && /^\s*0+\s*([a-z]*)\s*$/i.test(value) && parseDurationSeconds(value.replace(/0+/, '1')) !== undefined);
  const seconds = zero ? 0 : parseDurationSeconds(value);
  if (seconds === undefined) throw new InputError('grace', '"grace" must be 0, a number of seconds or a duration like "1h".');
  if (seconds > maxLifetimeSeconds) throw new InputError('grace', `"grace" may not exceed the maximum key lifetime of ${maxLifetimeSeconds} seconds.`);
  return seconds;
}

/** POST /keys/{keyId}/roll: an optional body `{"grace": "1h"}`. */
export function parseRollRequest(rawBody: string | undefined, maxLifetimeSeconds: number): { graceSeconds: number } {
  return { graceSeconds: parseGraceSeconds(parseObject(rawBody, true).grace, maxLifetimeSeconds) };
}

/** POST /revocations: exactly one of `{"user_id": …}` or `{"company_id": …}`. */
export function parseRevocationRequest(rawBody: string | undefined): { scope: Scope; id: string } {
  const body = parseObject(rawBody);
  const hasUser = body.user_id !== undefined;
  const hasCompany = body.company_id !== undefined;
  if (hasUser && hasCompany) throw new InputError('company_id', 'Give "user_id" or "company_id", not both.');
  if (!hasUser && !hasCompany) throw new InputError('user_id', 'One of "user_id" or "company_id" is required.');
  return hasUser ? { scope: 'user', id: requiredId('user_id', body.user_id) } : { scope: 'company', id: requiredId('company_id', body.company_id) };
}
