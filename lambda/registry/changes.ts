import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshal, unmarshal, type Item } from './marshal';
import { changedAtOf, CHANGES, feedTime, TABLE } from './schema';
import type { Client } from './store';

/** One entry of the change feed (gsi3), as the authorizer's revocation state applies it. */
export type Change =
  | { kind: 'key'; pk: string; changedAtMs: number; keyId: string; revokedAtMs: number; expiresAtMs: number }
  | { kind: 'user' | 'company'; pk: string; changedAtMs: number; id: string; notBefore: number };

export interface ChangeFeed {
  /** Every change written after `sinceMs` (epoch ms), all pages. Throws when DynamoDB fails. */
  since(sinceMs: number): Promise<Change[]>;
  /** Query calls made, failed ones included. */
  readonly calls: number;
}

/** The change an item of the feed stands for; undefined for an item that is not one (skipped). */
export function changeFromItem(item: Item): Change | undefined {
  const flat = unmarshal(item);
  const pk = flat[TABLE.partitionKey];
  const changedAtMs = changedAtOf(flat[CHANGES.sk]);
  if (typeof pk !== 'string' || changedAtMs === undefined) return undefined;
  if (pk.startsWith('KEY#')) {
    const revokedAtMs = typeof flat.revoked_at === 'string' ? Date.parse(flat.revoked_at) : NaN;
    const expiresAtMs = typeof flat.expires_at === 'string' ? Date.parse(flat.expires_at) : NaN;
    if (typeof flat.key_id !== 'string' || Number.isNaN(revokedAtMs) || Number.isNaN(expiresAtMs)) return undefined;
    return { kind: 'key', pk, changedAtMs, keyId: flat.key_id, revokedAtMs, expiresAtMs };
  }
  if (pk.startsWith('WATERMARK#') && typeof flat.not_before === 'number') {
    if (typeof flat.user_id === 'string') return { kind: 'user', pk, changedAtMs, id: flat.user_id, notBefore: flat.not_before };
    if (typeof flat.company_id === 'string') return { kind: 'company', pk, changedAtMs, id: flat.company_id, notBefore: flat.not_before };
  }
  return undefined;
}

/** Reads the change feed: one Query per call unless a page overflows (1 MB, or `pageSize` items in tests). */
export function createChangeFeed(client: Client, tableName: string, options: { pageSize?: number } = {}): ChangeFeed {
  let calls = 0;
  return {
    async since(sinceMs) {
      const changes: Change[] = [];
      let startKey: Item | undefined;
      do {
        calls++;
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: CHANGES.name,
            KeyConditionExpression: '#pk = :pk AND #sk > :since',
            ExpressionAttributeNames: { '#pk': CHANGES.pk, '#sk': CHANGES.sk },
            ExpressionAttributeValues: marshal({ ':pk': CHANGES.partition, ':since': feedTime(sinceMs) }),
            ExclusiveStartKey: startKey,
            Limit: options.pageSize,
          }),
        );
        for (const item of out.Items ?? []) {
          const change = changeFromItem(item);
          if (change) changes.push(change);
        }
        startKey = out.LastEvaluatedKey;
      } while (startKey);
      return changes;
    },
    get calls() {
      return calls;
    },
  };
}
