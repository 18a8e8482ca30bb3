import { BatchGetItemCommand, DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { keyFromItem, keyItem, revocationAttributes, type KeyRecord, type KeyWatermarks } from './keys';
import { marshal, unmarshal, type Item } from './marshal';
import { changeSortKey, CHANGES, KEY_SK, keyPk, LIST_INDEX, TABLE, WATERMARK_SK, watermarkPk, type Scope } from './schema';

/** DynamoDB could not be reached or refused the call (network, throttling, permissions, missing table). */
export class RegistryUnavailableError extends Error {
  constructor(operation: string, options?: { cause?: unknown }) {
    const cause = options?.cause as { name?: string } | undefined;
    super(`The key registry could not ${operation}${cause?.name ? ` (${cause.name})` : ''}.`, options);
    this.name = 'RegistryUnavailableError';
  }
}

export type Client = Pick<DynamoDBClient, 'send'>;

export interface ListPage {
  records: KeyRecord[];
  lastKey?: Item;
}

/** What a watermark item holds (also read by the change feed). */
export interface Watermark {
  scope: Scope;
  id: string;
  /** Epoch seconds: tokens of this user or company issued before it are refused. */
  notBefore: number;
}

export function isConditionFailure(err: unknown): boolean {
  return (err as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/** Runs one DynamoDB call: a failed condition passes through, any other failure becomes RegistryUnavailableError. */
export async function registryCall<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isConditionFailure(err)) throw err;
    throw new RegistryUnavailableError(operation, { cause: err });
  }
}

/**
 * The registry's reads and writes. Every write that can race is conditional, so concurrent admin calls
 * cannot resurrect a revoked key, roll one key twice or move a watermark back.
 */
export function createRegistryStore(client: Client, tableName: string) {
  const call = registryCall;
  const keyOf = (keyId: string) => marshal({ [TABLE.partitionKey]: keyPk(keyId), [TABLE.sortKey]: KEY_SK });

  return {
    /** Writes a new key's record; refuses to overwrite one (a key id is written once). */
    async putKey(record: KeyRecord): Promise<void> {
      await call('record the key', () =>
        client.send(new PutItemCommand({ TableName: tableName, Item: keyItem(record), ConditionExpression: 'attribute_not_exists(pk)' })),
      ).catch((err) => {
        throw isConditionFailure(err) ? new RegistryUnavailableError('record the key: its id is taken', { cause: err }) : err;
      });
    },

    async getKey(keyId: string): Promise<KeyRecord | undefined> {
      const out = await call('read the key', () => client.send(new GetItemCommand({ TableName: tableName, Key: keyOf(keyId), ConsistentRead: true })));
      return keyFromItem(out.Item);
    },

    /** Removes a record whose key was never handed out (a roll that could not complete). */
    async deleteKey(keyId: string): Promise<void> {
      await call('remove the key', () => client.send(new DeleteItemCommand({ TableName: tableName, Key: keyOf(keyId) })));
    },

    /** One page of a user's or company's keys, newest first. */
    async listKeys(scope: Scope, id: string, limit: number, startKey?: Item): Promise<ListPage> {
      const index = LIST_INDEX[scope];
      const out = await call('list keys', () =>
        client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: index.name,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': index.pk },
            ExpressionAttributeValues: marshal({ ':pk': index.prefix + id }),
            ScanIndexForward: false,
            Limit: limit,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      const records = (out.Items ?? []).map(keyFromItem).filter((r): r is KeyRecord => r !== undefined);
      return out.LastEvaluatedKey ? { records, lastKey: out.LastEvaluatedKey } : { records };
    },

    /** Keys of a user or company created in [from, to] (ISO times, inclusive). */
    async keysCreatedBetween(scope: Scope, id: string, from: string, to: string): Promise<KeyRecord[]> {
      const index = LIST_INDEX[scope];
      const records: KeyRecord[] = [];
      let startKey: Item | undefined;
      do {
        const out = await call('list keys', () =>
          client.send(
            new QueryCommand({
              TableName: tableName,
              IndexName: index.name,
              KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
              ExpressionAttributeNames: { '#pk': index.pk, '#sk': index.sk },
              // "$" sorts right after "#", so every "<to>#<key id>" is inside the range.
              ExpressionAttributeValues: marshal({ ':pk': index.prefix + id, ':from': from, ':to': `${to}$` }),
              ExclusiveStartKey: startKey,
            }),
          ),
        );
        records.push(...(out.Items ?? []).map(keyFromItem).filter((r): r is KeyRecord => r !== undefined));
        startKey = out.LastEvaluatedKey;
      } while (startKey);
      return records;
    },

    /**
     * Revokes a key at `at` (ISO) unless it is revoked already by then. Returns false when nothing
     * changed: the key is unknown or was revoked no later than `at` (the caller reads it to tell which).
     */
    async revokeKey(keyId: string, at: string, changedAtMs: number, by: string): Promise<boolean> {
      const values = revocationAttributes(keyId, at, changedAtMs);
      try {
        await call('revoke the key', () =>
          client.send(
            new UpdateItemCommand({
              TableName: tableName,
              Key: keyOf(keyId),
              UpdateExpression: 'SET revoked_at = :at, revoked_by = :by, #fpk = :fpk, #fsk = :fsk',
              ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(revoked_at) OR revoked_at > :at)',
              ExpressionAttributeNames: { '#fpk': CHANGES.pk, '#fsk': CHANGES.sk },
              ExpressionAttributeValues: marshal({ ':at': at, ':by': by, ':fpk': values[CHANGES.pk], ':fsk': values[CHANGES.sk] }),
            }),
          ),
        );
        return true;
      } catch (err) {
        if (isConditionFailure(err)) return false;
        throw err;
      }
    },

    /**
     * Marks an active key as replaced and schedules its revocation at `at`. False when the key is gone,
     * expired, revoked (now or later) or replaced already.
     */
    async scheduleReplacement(keyId: string, replacedBy: string, at: string, now: string, changedAtMs: number, by: string): Promise<boolean> {
      const values = revocationAttributes(keyId, at, changedAtMs);
      try {
        await call('schedule the revocation', () =>
          client.send(
            new UpdateItemCommand({
              TableName: tableName,
              Key: keyOf(keyId),
              UpdateExpression: 'SET revoked_at = :at, revoked_by = :by, replaced_by = :next, #fpk = :fpk, #fsk = :fsk',
              ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revoked_at) AND attribute_not_exists(replaced_by) AND expires_at > :now',
              ExpressionAttributeNames: { '#fpk': CHANGES.pk, '#fsk': CHANGES.sk },
              ExpressionAttributeValues: marshal({ ':at': at, ':by': by, ':next': replacedBy, ':now': now, ':fpk': values[CHANGES.pk], ':fsk': values[CHANGES.sk] }),
            }),
          ),
        );
        return true;
      } catch (err) {
        if (isConditionFailure(err)) return false;
        throw err;
      }
    },

    /** The watermarks of these records' users and companies, read together (consistent reads). */
    async watermarksOf(records: readonly KeyRecord[]): Promise<Map<KeyRecord, KeyWatermarks>> {
      const pks = [...new Set(records.flatMap((r) => [watermarkPk('user', r.user_id), watermarkPk('company', r.company_id)]))];
      const found = new Map<string, number>();
      // BatchGetItem takes 100 keys, and may hand some back unprocessed under load: ask again for those.
      for (let i = 0; i < pks.length; i += 100) {
        let keys: Item[] | undefined = pks.slice(i, i + 100).map((pk) => marshal({ [TABLE.partitionKey]: pk, [TABLE.sortKey]: WATERMARK_SK }));
        for (let attempt = 0; keys?.length; attempt++) {
          if (attempt === 5) throw new Error('DynamoDB left watermark reads unprocessed five times.');
          const requested = keys;
          const out = await call('read the watermarks', () => client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: requested, ConsistentRead: true } } })));
          for (const item of out.Responses?.[tableName] ?? []) {
            const w = unmarshal(item);
            if (typeof w.not_before === 'number') found.set(String(w[TABLE.partitionKey]), w.not_before);
          }
          keys = out.UnprocessedKeys?.[tableName]?.Keys as Item[] | undefined;
          if (keys?.length) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
        }
      }
      return new Map(records.map((r) => [r, { user: found.get(watermarkPk('user', r.user_id)), company: found.get(watermarkPk('company', r.company_id)) }]));
    },

    /**
     * Sets a user's or company's not-before watermark. It only moves forward: when a later one is there
     * already (a concurrent call), that one stays and is returned.
     */
    async putWatermark(mark: Watermark, changedAtMs: number, ttl: number, by: string): Promise<number> {
      const pk = watermarkPk(mark.scope, mark.id);
      const item = marshal({
        [TABLE.partitionKey]: pk,
        [TABLE.sortKey]: WATERMARK_SK,
        [mark.scope === 'user' ? 'user_id' : 'company_id']: mark.id,
        not_before: mark.notBefore,
        created_by: by,
        [CHANGES.pk]: CHANGES.partition,
        [CHANGES.sk]: changeSortKey(changedAtMs, pk),
        [TABLE.ttlAttribute]: ttl,
      });
      try {
        await call('record the watermark', () =>
          client.send(
            new PutItemCommand({
              TableName: tableName,
              Item: item,
              ConditionExpression: 'attribute_not_exists(pk) OR not_before < :nb',
              ExpressionAttributeValues: marshal({ ':nb': mark.notBefore }),
            }),
          ),
        );
        return mark.notBefore;
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
        const out = await call('read the watermark', () =>
          client.send(new GetItemCommand({ TableName: tableName, Key: marshal({ [TABLE.partitionKey]: pk, [TABLE.sortKey]: WATERMARK_SK }), ConsistentRead: true })),
        );
        const existing = out.Item ? unmarshal(out.Item).not_before : undefined;
        return typeof existing === 'number' ? existing : mark.notBefore;
      }
    },
  };
}

export type RegistryStore = ReturnType<typeof createRegistryStore>;
