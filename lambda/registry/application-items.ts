import { marshal, unmarshal, type Flat, type Item } from './marshal';
import { APP_INDEX, APP_KEY_SK, APP_SK, appKeyPk, appPk, changeSortKey, CHANGES, listSortKey, PLAN_SK, planPk, SUB_SK, subPk, TABLE } from './schema';

/**
 * Client applications, their registered public keys, plans and subscriptions as the registry keeps them.
 * Times are ISO 8601 (UTC, milliseconds); `*_by` are IAM ARNs of the admin callers.
 */

export const APPLICATION_STATUSES = ['active', 'suspended'] as const;
export type ApplicationStatus = (typeof APPLICATION_STATUSES)[number];
export const PLAN_STATUSES = ['staging', 'published', 'deprecated', 'closed'] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];
export const SUBSCRIPTION_STATUSES = ['pending', 'accepted', 'rejected', 'closed'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];
/** A subscription that holds its application's one place on the plan. */
export const LIVE_STATUSES: readonly SubscriptionStatus[] = ['pending', 'accepted'];

export interface ApplicationRecord {
  client_id: string;
  name: string;
  /** The customer that owns it (Moesif's company). */
  company_id: string;
  status: ApplicationStatus;
  created_at: string;
  updated_at: string;
  created_by?: string;
  updated_by?: string;
}

export interface ClientKeyRecord {
  kid: string;
  client_id: string;
  /** The canonical public JWK as JSON text (never a private member: registration refuses those). */
  jwk: string;
  alg: 'RS256' | 'ES256';
  created_at: string;
  created_by?: string;
  /** A removed key is a tombstone until its `ttl`: the change feed must still show it. */
  removed_at?: string;
  removed_by?: string;
}

export interface PlanRecord {
  plan_id: string;
  name: string;
  status: PlanStatus;
  /** Route patterns its subscribers may call; absent: every route. */
  routes?: string[];
  /** New subscriptions are accepted at once instead of pending. */
  auto_validate: boolean;
  created_at: string;
  updated_at: string;
  created_by?: string;
  updated_by?: string;
}

export interface SubscriptionRecord {
  subscription_id: string;
  client_id: string;
  plan_id: string;
  status: SubscriptionStatus;
  created_at: string;
  updated_at: string;
  created_by?: string;
  updated_by?: string;
}

/** The item's place in the change feed: every write of an application item moves it there. */
export function feedAttributes(pk: string, changedAtMs: number) {
  return { [CHANGES.pk]: CHANGES.partition, [CHANGES.sk]: changeSortKey(changedAtMs, pk) };
}

export function applicationItem(record: ApplicationRecord, changedAtMs: number): Item {
  const pk = appPk(record.client_id);
  return marshal({ [TABLE.partitionKey]: pk, [TABLE.sortKey]: APP_SK, ...record, ...feedAttributes(pk, changedAtMs) });
}

export function clientKeyItem(record: ClientKeyRecord, changedAtMs: number): Item {
  const pk = appKeyPk(record.kid);
  const index = APP_INDEX.keys;
  return marshal({
    [TABLE.partitionKey]: pk,
    [TABLE.sortKey]: APP_KEY_SK,
    ...record,
    [index.pk]: index.prefix + record.client_id,
    [index.sk]: listSortKey(record.created_at, record.kid),
    ...feedAttributes(pk, changedAtMs),
  });
}

export function planItem(record: PlanRecord, changedAtMs: number): Item {
  const pk = planPk(record.plan_id);
  return marshal({ [TABLE.partitionKey]: pk, [TABLE.sortKey]: PLAN_SK, ...record, ...feedAttributes(pk, changedAtMs) });
}

export function subscriptionItem(record: SubscriptionRecord, changedAtMs: number): Item {
  const pk = subPk(record.subscription_id);
  const sortKey = listSortKey(record.created_at, record.subscription_id);
  return marshal({
    [TABLE.partitionKey]: pk,
    [TABLE.sortKey]: SUB_SK,
    ...record,
    [APP_INDEX.subscriptions.pk]: APP_INDEX.subscriptions.prefix + record.client_id,
    [APP_INDEX.subscriptions.sk]: sortKey,
    [APP_INDEX.planSubscriptions.pk]: APP_INDEX.planSubscriptions.prefix + record.plan_id,
    [APP_INDEX.planSubscriptions.sk]: sortKey,
    ...feedAttributes(pk, changedAtMs),
  });
}

/** The named string fields of an item of sort key `sk`, or undefined when it is not one (or damaged). */
function fields(item: Item | undefined, sk: string, required: readonly string[], optional: readonly string[]): Flat | undefined {
  if (!item) return undefined;
  const flat = unmarshal(item);
  if (flat[TABLE.sortKey] !== sk) return undefined;
  const out: Flat = {};
  for (const name of required) {
    if (typeof flat[name] !== 'string') return undefined;
    out[name] = flat[name];
  }
  for (const name of optional) if (typeof flat[name] === 'string') out[name] = flat[name];
  return out;
}

const oneOf = <T extends string>(values: readonly T[], value: unknown): value is T => (values as readonly unknown[]).includes(value);

export function applicationFromItem(item: Item | undefined): ApplicationRecord | undefined {
  const f = fields(item, APP_SK, ['client_id', 'name', 'company_id', 'status', 'created_at', 'updated_at'], ['created_by', 'updated_by']);
  return f && oneOf(APPLICATION_STATUSES, f.status) ? (f as unknown as ApplicationRecord) : undefined;
}

export function clientKeyFromItem(item: Item | undefined): ClientKeyRecord | undefined {
  const f = fields(item, APP_KEY_SK, ['kid', 'client_id', 'jwk', 'alg', 'created_at'], ['created_by', 'removed_at', 'removed_by']);
  return f && (f.alg === 'RS256' || f.alg === 'ES256') ? (f as unknown as ClientKeyRecord) : undefined;
}

export function planFromItem(item: Item | undefined): PlanRecord | undefined {
  const f = fields(item, PLAN_SK, ['plan_id', 'name', 'status', 'created_at', 'updated_at'], ['created_by', 'updated_by']);
  if (!f || !oneOf(PLAN_STATUSES, f.status)) return undefined;
  const flat = unmarshal(item!);
  const record = { ...f, auto_validate: flat.auto_validate === true } as unknown as PlanRecord;
  if (Array.isArray(flat.routes)) record.routes = flat.routes;
  else if (flat.routes !== undefined) return undefined;
  return record;
}

export function subscriptionFromItem(item: Item | undefined): SubscriptionRecord | undefined {
  const f = fields(item, SUB_SK, ['subscription_id', 'client_id', 'plan_id', 'status', 'created_at', 'updated_at'], ['created_by', 'updated_by']);
  return f && oneOf(SUBSCRIPTION_STATUSES, f.status) ? (f as unknown as SubscriptionRecord) : undefined;
}

/** What the admin routes answer (the records without the callers' ARNs). */
export function applicationView(a: ApplicationRecord) {
  return { client_id: a.client_id, name: a.name, company_id: a.company_id, status: a.status, created_at: a.created_at, updated_at: a.updated_at };
}

export function planView(p: PlanRecord) {
  return { plan_id: p.plan_id, name: p.name, status: p.status, routes: p.routes ?? null, auto_validate: p.auto_validate, created_at: p.created_at, updated_at: p.updated_at };
}

export function subscriptionView(s: SubscriptionRecord) {
  return { subscription_id: s.subscription_id, client_id: s.client_id, plan_id: s.plan_id, status: s.status, created_at: s.created_at, updated_at: s.updated_at };
}

export type ApplicationView = ReturnType<typeof applicationView>;
export type PlanView = ReturnType<typeof planView>;
export type SubscriptionView = ReturnType<typeof subscriptionView>;
