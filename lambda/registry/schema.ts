/**
 * The key registry's single table. Every name the functions, the CDK table construct and the test table
 * share is here, so they cannot drift apart.
 *
 * | item          | pk                          | sk          | gsi1 (by user)               | gsi2 (by company)               | gsi3 (change feed)                 |
 * |---------------|-----------------------------|-------------|------------------------------|---------------------------------|------------------------------------|
 * | key record    | KEY#<key_id>                | KEY         | USER#<user_id>, created#id   | COMPANY#<company_id>, created#id | CHANGES, <ms>#<pk> once revoked    |
 * | watermark     | WATERMARK#USER#<id>, …#COMPANY#<id> | WATERMARK | -                        | -                               | CHANGES, <ms>#<pk>                 |
 * | application   | APP#<client_id>             | APP         | -                            | -                               | CHANGES, <ms>#<pk> at every write  |
 * | client key    | APPKEY#<kid>                | APPKEY      | APPKEYS#<client_id>, created#kid (gone once removed) | -     | CHANGES, <ms>#<pk> at every write  |
 * | plan          | PLAN#<plan_id>              | PLAN        | -                            | -                               | CHANGES, <ms>#<pk> at every write  |
 * | subscription  | SUB#<subscription_id>       | SUB         | APPSUBS#<client_id>, created#id | PLANSUBS#<plan_id>, created#id | CHANGES, <ms>#<pk> at every write |
 * | live guard    | LIVESUB#<plan_id>#<client_id> | LIVESUB   | -                            | -                               | -                                  |
 *
 * A kid is global (the authorizer looks a client token's `kid` up directly), so a key is its own item. A
 * removed key stays a day as a tombstone (`removed_at`, `ttl`) so the change feed can tell authorizers.
 * The live guard holds the one pending or accepted subscription of an application to a plan (a plan id is
 * base64url, without "#", so the key cannot be read two ways). Applications, plans and subscriptions
 * are never deleted: they are the record of who was allowed what.
 *
 * `ttl` (epoch seconds) lets DynamoDB delete an item once nothing can depend on it any more.
 */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
  /** Overloaded GSIs, projection ALL, string keys. */
  indexes: [
    { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
    { name: 'gsi3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
  ],
} as const;

export type IndexName = (typeof TABLE.indexes)[number]['name'];
export type Scope = 'user' | 'company';

/** Keys listed by user (gsi1) or company (gsi2), newest first. */
export const LIST_INDEX: Record<Scope, { name: IndexName; pk: string; sk: string; prefix: string }> = {
  user: { name: 'gsi1', pk: 'gsi1pk', sk: 'gsi1sk', prefix: 'USER#' },
  company: { name: 'gsi2', pk: 'gsi2pk', sk: 'gsi2sk', prefix: 'COMPANY#' },
};

/** Revocations, scheduled revocations and watermarks, ordered by when they were written (gsi3). */
export const CHANGES = { name: 'gsi3' as IndexName, pk: 'gsi3pk', sk: 'gsi3sk', partition: 'CHANGES' };

export const KEY_SK = 'KEY';
export const APP_SK = 'APP';
export const APP_KEY_SK = 'APPKEY';
export const PLAN_SK = 'PLAN';
export const SUB_SK = 'SUB';
export const LIVE_SK = 'LIVESUB';

/** Partition keys of the client application items (prefixes the change feed tells apart). */
export const APP_PREFIX = 'APP#';
export const APP_KEY_PREFIX = 'APPKEY#';
export const PLAN_PREFIX = 'PLAN#';
export const SUB_PREFIX = 'SUB#';

/** Listings of the application items: an application's keys and subscriptions (gsi1), a plan's subscriptions (gsi2). */
export const APP_INDEX = {
  keys: { name: 'gsi1' as IndexName, pk: 'gsi1pk', sk: 'gsi1sk', prefix: 'APPKEYS#' },
  subscriptions: { name: 'gsi1' as IndexName, pk: 'gsi1pk', sk: 'gsi1sk', prefix: 'APPSUBS#' },
  planSubscriptions: { name: 'gsi2' as IndexName, pk: 'gsi2pk', sk: 'gsi2sk', prefix: 'PLANSUBS#' },
} as const;
export const WATERMARK_SK = 'WATERMARK';
export const DAY_SECONDS = 86_400;

export function keyPk(keyId: string): string {
  return `KEY#${keyId}`;
}

export const appPk = (clientId: string) => APP_PREFIX + clientId;
export const appKeyPk = (kid: string) => APP_KEY_PREFIX + kid;
export const planPk = (planId: string) => PLAN_PREFIX + planId;
export const subPk = (subscriptionId: string) => SUB_PREFIX + subscriptionId;
export const livePk = (planId: string, clientId: string) => `LIVESUB#${planId}#${clientId}`;

export function watermarkPk(scope: Scope, id: string): string {
  return `WATERMARK#${scope === 'user' ? 'USER' : 'COMPANY'}#${id}`;
}

/** Sort key of a listing: ISO times sort as text, the key id breaks ties. */
export function listSortKey(createdAt: string, keyId: string): string {
  return `${createdAt}#${keyId}`;
}

/** Epoch milliseconds as 15 digits, so the change feed's sort keys order as numbers (good until year 33658). */
export function feedTime(ms: number): string {
  return String(Math.max(0, Math.floor(ms))).padStart(15, '0');
}

export function changeSortKey(changedAtMs: number, pk: string): string {
  return `${feedTime(changedAtMs)}#${pk}`;
}

/** The change time written in a gsi3 sort key, or undefined when it is not one. */
export function changedAtOf(sortKey: unknown): number | undefined {
  if (typeof sortKey !== 'string') return undefined;
  const match = /^(\d{15})#/.exec(sortKey);
  return match ? Number(match[1]) : undefined;
}

/** The table's definition as CreateTable takes it (tests and the local runtime; the CDK construct mirrors it). */
export function createTableInput(tableName: string) {
  const stringKeys = [TABLE.partitionKey, TABLE.sortKey, ...TABLE.indexes.flatMap((i) => [i.partitionKey, i.sortKey])];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' as const },
    ],
    AttributeDefinitions: stringKeys.map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
    GlobalSecondaryIndexes: TABLE.indexes.map((i) => ({
      IndexName: i.name,
      KeySchema: [
        { AttributeName: i.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: i.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    })),
  };
}
