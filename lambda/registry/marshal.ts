import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The registry's items are flat: strings, numbers, a few booleans and lists of strings (a plan's routes).
 * Two small functions cover them, where `@aws-sdk/util-dynamodb` would add a dependency (it is not in
 * package.json) for shapes we never store (maps, sets, binary), and whose number handling (BigInt,
 * NumberValue) we would have to configure.
 */
export type Value = string | number | boolean | string[];
export type Flat = Record<string, Value>;
export type Item = Record<string, AttributeValue>;

/** Attributes whose value is undefined are left out (DynamoDB refuses empty strings in key attributes). */
export function marshal(record: Record<string, Value | undefined>): Item {
  const item: Item = {};
  for (const [name, value] of Object.entries(record)) {
    if (typeof value === 'string') item[name] = { S: value };
    else if (typeof value === 'number') item[name] = { N: String(value) };
    else if (typeof value === 'boolean') item[name] = { BOOL: value };
    else if (Array.isArray(value)) item[name] = { L: value.map((s) => ({ S: s })) };
  }
  return item;
}

/** Strings, numbers, booleans and lists of strings come back; any other type (none is written) is skipped. */
export function unmarshal(item: Item): Flat {
  const flat: Flat = {};
  for (const [name, value] of Object.entries(item)) {
    if (value.S !== undefined) flat[name] = value.S;
    else if (value.N !== undefined) flat[name] = Number(value.N);
    else if (value.BOOL !== undefined) flat[name] = value.BOOL;
    else if (value.L !== undefined && value.L.every((v) => v.S !== undefined)) flat[name] = value.L.map((v) => v.S as string);
  }
  return flat;
}
