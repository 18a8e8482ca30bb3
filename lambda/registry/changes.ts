import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshal, unmarshal, type Item } from './marshal';
import { APP_KEY_PREFIX, APP_PREFIX, changedAtOf, CHANGES, feedTime, PLAN_PREFIX, SUB_PREFIX, TABLE } from './schema';
import type { Client } from './store';

/** A write to a client application item: the application directory drops what it cached of it. */
export type DirectoryChange =
  | { kind: 'application'; pk: string; changedAtMs: number; clientId: string }
  | { kind: 'client_key'; pk: string; changedAtMs: number; kid: string; clientId: string }
  | { kind: 'plan'; pk: string; changedAtMs: number; planId: string }
  | { kind: 'subscription'; pk: string; changedAtMs: number; subscriptionId: string; clientId: string; planId: string };

/** One entry of the change feed (gsi3): revocations for the revocation state, the rest for the application directory. */
export type Change =
  | { kind: 'key'; pk: string; changedAtMs: number; keyId: string; revokedAtMs: number; expiresAtMs: number }
  | { kind: 'user' | 'company'; pk: string; changedAtMs: number; id: string; notBefore: number }
  | DirectoryChange;

const DIRECTORY_KINDS: ReadonlySet<Change['kind']> = new Set(['application', 'client_key', 'plan', 'subscription']);
export const isDirectoryChange = (change: Change): change is DirectoryChange => DIRECTORY_KINDS.has(change.kind);

function directoryChange(pk: string, changedAtMs: number, flat: Record<string, unknown>): DirectoryChange | undefined {
  const text = (name: string) => (typeof flat[name] === 'string' ? (flat[name] as string) : undefined);
  const clientId = text('client_id');
  if (pk.startsWith(APP_KEY_PREFIX)) {
    const kid = text('kid');
    return kid !== undefined && clientId !== undefined ? { kind: 'client_key', pk, changedAtMs, kid, clientId } : undefined;
  }
  if (pk.startsWith(APP_PREFIX)) return clientId !== undefined ? { kind: 'application', pk, changedAtMs, clientId } : undefined;
  const planId = text('plan_id');
  if (pk.startsWith(PLAN_PREFIX)) return planId !== undefined ? { kind: 'plan', pk, changedAtMs, planId } : undefined;
  const subscriptionId = text('subscription_id');
  if (pk.startsWith(SUB_PREFIX) && subscriptionId !== undefined && clientId !== undefined && planId !== undefined) {
    return { kind: 'subscription', pk, changedAtMs, subscriptionId, clientId, planId };
  }
  return undefined;
}

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
  return directoryChange(pk, changedAtMs, flat);
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
