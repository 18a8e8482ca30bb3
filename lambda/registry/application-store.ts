import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  applicationFromItem,
  applicationItem,
  clientKeyFromItem,
  clientKeyItem,
  feedAttributes,
  planFromItem,
  planItem,
  subscriptionFromItem,
  subscriptionItem,
  type ApplicationRecord,
  type ApplicationStatus,
  type ClientKeyRecord,
  type PlanRecord,
  type PlanStatus,
  type SubscriptionRecord,
  type SubscriptionStatus,
} from './application-items';
import { marshal, unmarshal, type Item } from './marshal';
import { APP_INDEX, APP_KEY_SK, APP_SK, appKeyPk, appPk, LIVE_SK, livePk, PLAN_SK, planPk, SUB_SK, subPk, TABLE } from './schema';
import { isConditionFailure, registryCall as call, type Client } from './store';

/** Who holds an application's one live place on a plan. */
export interface LiveGuard {
  subscription_id: string;
  claimed_at: string;
}

/** When a write happens and who makes it. */
export interface Stamp {
  at: string;
  changedAtMs: number;
  by: string;
}

/**
 * Reads and writes of applications, client keys, plans and subscriptions (listings read every page; `pageSize`
 * makes pages small in tests). Every state change is a
 * conditional update on the state it leaves, so of two concurrent transitions one wins and the other is
 * told (false). Writes set the item's change-feed position, so every authorizer hears of them.
 */
export function createApplicationStore(client: Client, tableName: string, options: { pageSize?: number } = {}) {
  const key = (pk: string, sk: string) => marshal({ [TABLE.partitionKey]: pk, [TABLE.sortKey]: sk });

  async function get(operation: string, pk: string, sk: string): Promise<Item | undefined> {
    const out = await call(operation, () => client.send(new GetItemCommand({ TableName: tableName, Key: key(pk, sk), ConsistentRead: true })));
    return out.Item;
  }

  /** True when the write happened, false when its condition failed. */
  async function conditional(operation: string, run: () => Promise<unknown>): Promise<boolean> {
    try {
      await call(operation, run);
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  const putNew = (operation: string, item: Item, condition = 'attribute_not_exists(pk)') =>
    conditional(operation, () => client.send(new PutItemCommand({ TableName: tableName, Item: item, ConditionExpression: condition })));

  /**
   * Moves `status` from one of `from` to `to`, with the time, the caller and a new place in the change feed.
   * Returns the item as written, or undefined when it is missing or in another state.
   */
  async function setStatus(operation: string, pk: string, sk: string, from: readonly string[], to: string, change: Stamp): Promise<Item | undefined> {
    const froms = Object.fromEntries(from.map((s, i) => [`:f${i}`, s]));
    const feed = feedAttributes(pk, change.changedAtMs);
    let written: Item | undefined;
    const done = await conditional(operation, async () => {
      const out = await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: key(pk, sk),
          UpdateExpression: 'SET #status = :to, updated_at = :at, updated_by = :by, #fpk = :fpk, #fsk = :fsk',
          ConditionExpression: `attribute_exists(pk) AND #status IN (${Object.keys(froms).join(', ')})`,
          ExpressionAttributeNames: { '#status': 'status', '#fpk': 'gsi3pk', '#fsk': 'gsi3sk' },
          ExpressionAttributeValues: marshal({ ...froms, ':to': to, ':at': change.at, ':by': change.by, ':fpk': feed.gsi3pk, ':fsk': feed.gsi3sk }),
          ReturnValues: 'ALL_NEW',
        }),
      );
      written = out.Attributes;
    });
    return done ? written : undefined;
  }

  /** One page of an index listing, oldest first (`filter`: only that status). */
  async function page(operation: string, index: { name: string; pk: string }, pkValue: string, startKey?: Item, status?: string) {
    const out = await call(operation, () =>
      client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: index.name,
          KeyConditionExpression: '#pk = :pk',
          ...(status !== undefined ? { FilterExpression: '#status = :status' } : {}),
          ExpressionAttributeNames: { '#pk': index.pk, ...(status !== undefined ? { '#status': 'status' } : {}) },
          ExpressionAttributeValues: marshal({ ':pk': pkValue, ...(status !== undefined ? { ':status': status } : {}) }),
          ExclusiveStartKey: startKey,
          Limit: options.pageSize,
        }),
      ),
    );
    return { items: out.Items ?? [], lastKey: out.LastEvaluatedKey };
  }

  async function all<T>(operation: string, index: { name: string; pk: string }, pkValue: string, parse: (item: Item) => T | undefined, status?: string): Promise<T[]> {
    const records: T[] = [];
    let startKey: Item | undefined;
    do {
      const out = await page(operation, index, pkValue, startKey, status);
      for (const item of out.items) {
        const record = parse(item);
        if (record !== undefined) records.push(record);
      }
      startKey = out.lastKey;
    } while (startKey);
    return records;
  }

  return {
    /** False when the client id is taken. */
    putApplication: (record: ApplicationRecord, changedAtMs: number) => putNew('record the application', applicationItem(record, changedAtMs)),
    getApplication: async (clientId: string) => applicationFromItem(await get('read the application', appPk(clientId), APP_SK)),
    setApplicationStatus: async (clientId: string, from: ApplicationStatus, to: ApplicationStatus, change: Stamp) =>
      applicationFromItem(await setStatus('change the application', appPk(clientId), APP_SK, [from], to, change)),

    /** False when the kid is registered (a removed key's tombstone may be overwritten). */
    putClientKey: (record: ClientKeyRecord, changedAtMs: number) =>
      putNew('record the key', clientKeyItem(record, changedAtMs), 'attribute_not_exists(pk) OR attribute_exists(removed_at)'),
    /** The key's item, a removed one's tombstone included (its `removed_at` says so). */
    getClientKey: async (kid: string) => clientKeyFromItem(await get('read the key', appKeyPk(kid), APP_KEY_SK)),
    /** Removes a registered key of this application: a tombstone (out of its listing) until `ttl`. */
    removeClientKey(kid: string, clientId: string, change: Stamp, ttl: number): Promise<boolean> {
      const pk = appKeyPk(kid);
      const feed = feedAttributes(pk, change.changedAtMs);
      return conditional('remove the key', () =>
        client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: key(pk, APP_KEY_SK),
            UpdateExpression: 'SET removed_at = :at, removed_by = :by, #ttl = :ttl, #fpk = :fpk, #fsk = :fsk REMOVE #lpk, #lsk',
            ConditionExpression: 'attribute_exists(pk) AND client_id = :client AND attribute_not_exists(removed_at)',
            ExpressionAttributeNames: { '#ttl': TABLE.ttlAttribute, '#fpk': 'gsi3pk', '#fsk': 'gsi3sk', '#lpk': APP_INDEX.keys.pk, '#lsk': APP_INDEX.keys.sk },
            ExpressionAttributeValues: marshal({ ':at': change.at, ':by': change.by, ':ttl': ttl, ':client': clientId, ':fpk': feed.gsi3pk, ':fsk': feed.gsi3sk }),
          }),
        ),
      );
    },
    /** An application's registered keys, oldest first. */
    listClientKeys: (clientId: string) => all('list the keys', APP_INDEX.keys, APP_INDEX.keys.prefix + clientId, clientKeyFromItem),

    putPlan: (record: PlanRecord, changedAtMs: number) => putNew('record the plan', planItem(record, changedAtMs)),
    getPlan: async (planId: string) => planFromItem(await get('read the plan', planPk(planId), PLAN_SK)),
    setPlanStatus: async (planId: string, from: readonly PlanStatus[], to: PlanStatus, change: Stamp) =>
      planFromItem(await setStatus('change the plan', planPk(planId), PLAN_SK, from, to, change)),

    putSubscription: (record: SubscriptionRecord, changedAtMs: number) => putNew('record the subscription', subscriptionItem(record, changedAtMs)),
    getSubscription: async (subscriptionId: string) => subscriptionFromItem(await get('read the subscription', subPk(subscriptionId), SUB_SK)),
    setSubscriptionStatus: async (subscriptionId: string, from: readonly SubscriptionStatus[], to: SubscriptionStatus, change: Stamp) =>
      subscriptionFromItem(await setStatus('change the subscription', subPk(subscriptionId), SUB_SK, from, to, change)),
    /** An application's subscriptions, oldest first (`status`: only those). */
    listSubscriptions: (clientId: string, status?: SubscriptionStatus) =>
      all('list the subscriptions', APP_INDEX.subscriptions, APP_INDEX.subscriptions.prefix + clientId, subscriptionFromItem, status),
    /** One page of a plan's subscriptions, oldest first. */
    async planSubscriptions(planId: string, startKey?: Item): Promise<{ records: SubscriptionRecord[]; lastKey?: Item }> {
      const out = await page('list the subscriptions', APP_INDEX.planSubscriptions, APP_INDEX.planSubscriptions.prefix + planId, startKey);
      return { records: out.items.map(subscriptionFromItem).filter((s): s is SubscriptionRecord => s !== undefined), lastKey: out.lastKey };
    },

    /** Takes the application's live place on the plan for `subscriptionId`; false when it is held. */
    claimLive: (planId: string, clientId: string, subscriptionId: string, at: string) =>
      putNew('reserve the subscription', marshal({ [TABLE.partitionKey]: livePk(planId, clientId), [TABLE.sortKey]: LIVE_SK, subscription_id: subscriptionId, claimed_at: at })),
    async getLive(planId: string, clientId: string): Promise<LiveGuard | undefined> {
      const item = await get('read the subscription', livePk(planId, clientId), LIVE_SK);
      const flat = item ? unmarshal(item) : undefined;
      return flat && typeof flat.subscription_id === 'string' && typeof flat.claimed_at === 'string' ? { subscription_id: flat.subscription_id, claimed_at: flat.claimed_at } : undefined;
    },
    /** Moves the live place from a subscription that no longer holds it; false when another call moved it first. */
    takeOverLive: (planId: string, clientId: string, from: string, to: string, at: string) =>
      conditional('reserve the subscription', () =>
        client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: key(livePk(planId, clientId), LIVE_SK),
            UpdateExpression: 'SET subscription_id = :to, claimed_at = :at',
            ConditionExpression: 'subscription_id = :from',
            ExpressionAttributeValues: marshal({ ':from': from, ':to': to, ':at': at }),
          }),
        ),
      ),
    /** Frees the live place if `subscriptionId` holds it. */
    releaseLive: (planId: string, clientId: string, subscriptionId: string) =>
      conditional('release the subscription', () =>
        client.send(
          new DeleteItemCommand({
            TableName: tableName,
            Key: key(livePk(planId, clientId), LIVE_SK),
            ConditionExpression: 'subscription_id = :id',
            ExpressionAttributeValues: marshal({ ':id': subscriptionId }),
          }),
        ),
      ),
  };
}

export type ApplicationStore = ReturnType<typeof createApplicationStore>;
