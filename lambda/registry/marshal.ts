import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The registry's items are flat: strings and numbers only. Two small functions cover them, where
 * `@aws-sdk/util-dynamodb` would add a dependency (it is not in package.json) for shapes we never store
 * (lists, maps, sets, binary), and whose number handling (BigInt, NumberValue) we would have to configure.
 */
export type Flat = Record<string, string | number>;
export type Item = Record<string, AttributeValue>;

/** Attributes whose value is undefined are left out (DynamoDB refuses empty strings in key attributes). */
export function marshal(record: Record<string, string | number | undefined>): Item {
  const item: Item = {};
  for (const [name, value] of Object.entries(record)) {
    if (typeof value === 'string') item[name] = { S: value };
    else if (typeof value === 'number') item[name] = { N: String(value) };
  }
  return item;
}

/** Strings and numbers come back; any other type (none is written) is skipped. */
export function unmarshal(item: Item): Flat {
  const flat: Flat = {};
  for (const [name, value] of Object.entries(item)) {
    if (value.S !== undefined) flat[name] = value.S;
    else if (value.N !== undefined) flat[name] = Number(value.N);
  }
  return flat;
}
