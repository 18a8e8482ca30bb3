import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { InputError } from '../jwt/issue';
import type { Item } from './marshal';
import { KEY_SK, LIST_INDEX, TABLE, type Scope } from './schema';

/**
 * `next` is LastEvaluatedKey as base64url JSON: opaque to callers, and checked on the way back in. A
 * cursor must be exactly the four string keys of a key item in the listing it continues (same index,
 * same user or company), so a tampered or foreign one is a 400, never a DynamoDB error or another listing.
 */
export function encodeNext(lastKey: Item): string {
  const plain = Object.fromEntries(Object.entries(lastKey).map(([name, value]) => [name, value.S]));
  return Buffer.from(JSON.stringify(plain), 'utf8').toString('base64url');
}

export function decodeNext(next: string, scope: Scope, id: string): Item {
  const index = LIST_INDEX[scope];
  const refuse = () => new InputError('next', '"next" is not a cursor this listing returned.');
  if (!/^[A-Za-z0-9_-]+$/.test(next) || next.length > 4096) throw refuse();
  let plain: unknown;
  try {
    plain = JSON.parse(Buffer.from(next, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) throw refuse();
  const fields = plain as Record<string, unknown>;
  const names = [TABLE.partitionKey, TABLE.sortKey, index.pk, index.sk];
  if (Object.keys(fields).length !== names.length || !names.every((n) => typeof fields[n] === 'string')) throw refuse();
  const pk = fields[TABLE.partitionKey] as string;
  const sortKey = fields[index.sk] as string;
  if (fields[TABLE.sortKey] !== KEY_SK || fields[index.pk] !== index.prefix + id || !pk.startsWith('KEY#') || !sortKey.endsWith(`#${pk.slice(4)}`)) throw refuse();
  return Object.fromEntries(names.map((n) => [n, { S: fields[n] as string } satisfies AttributeValue]));
}
