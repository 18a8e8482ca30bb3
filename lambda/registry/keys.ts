import { marshal, unmarshal, type Item } from './marshal';
import { changeSortKey, CHANGES, DAY_SECONDS, KEY_SK, keyPk, LIST_INDEX, listSortKey, TABLE } from './schema';

/** A minted key as the registry keeps it. Never the token. Times are ISO 8601 (UTC, milliseconds). */
export interface KeyRecord {
  key_id: string;
  user_id: string;
  company_id: string;
  name?: string;
  kid: string;
  created_at: string;
  expires_at: string;
  /** The IAM ARN of the caller that minted (or rolled) it. */
  minter: string;
  /** When it stops (or stopped) working; later than now while a roll's grace runs. */
  revoked_at?: string;
  revoked_by?: string;
  /** The key this one was rolled from, and the key that replaced it. */
  replaces?: string;
  replaced_by?: string;
}

export type KeyStatus = 'active' | 'revoked' | 'expired';
export const STATUSES: readonly KeyStatus[] = ['active', 'revoked', 'expired'];

/** What the admin routes answer for a key. */
export interface KeyView {
  key_id: string;
  user_id: string;
  company_id: string;
  name: string | null;
  kid: string;
  created_at: string;
  expires_at: string;
  revoked_at?: string;
  status: KeyStatus;
  /** Set when a watermark (`POST /revocations`) of its user or company refuses it: that watermark's not-before time. */
  watermark_not_before?: string;
  replaces?: string;
  replaced_by?: string;
}

/** The not-before watermarks (epoch seconds) of a key's user and company, where set. */
export interface KeyWatermarks {
  user?: number;
  company?: number;
}

/**
 * The watermark that refuses a key: one issued before it (its `iat`, the second it was created, is earlier) that
 * had not expired by then. Watermarks only move forward, so this is the latest one; the authorizer refuses the
 * same tokens (`iat < not_before`).
 */
export function coveringWatermark(record: KeyRecord, marks: KeyWatermarks = {}): number | undefined {
  const created = Math.floor(Date.parse(record.created_at) / 1000);
  const covering = [marks.user, marks.company].filter((m): m is number => m !== undefined && created < m && m * 1000 < Date.parse(record.expires_at));
  return covering.length ? Math.max(...covering) : undefined;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function statusOf(record: KeyRecord, nowMs: number, marks?: KeyWatermarks): KeyStatus {
  if (record.revoked_at !== undefined && Date.parse(record.revoked_at) <= nowMs) return 'revoked';
  if (coveringWatermark(record, marks) !== undefined) return 'revoked';
  if (Date.parse(record.expires_at) <= nowMs) return 'expired';
  return 'active';
}

export function keyView(record: KeyRecord, nowMs: number, marks?: KeyWatermarks): KeyView {
  const view: KeyView = {
    key_id: record.key_id,
    user_id: record.user_id,
    company_id: record.company_id,
    name: record.name ?? null,
    kid: record.kid,
    created_at: record.created_at,
    expires_at: record.expires_at,
    status: statusOf(record, nowMs, marks),
  };
  if (record.revoked_at !== undefined) view.revoked_at = record.revoked_at;
  const mark = coveringWatermark(record, marks);
  if (mark !== undefined) view.watermark_not_before = iso(mark * 1000);
  if (record.replaces !== undefined) view.replaces = record.replaces;
  if (record.replaced_by !== undefined) view.replaced_by = record.replaced_by;
  return view;
}

/** A key's item: the record, its listing keys, and a TTL one day past its expiry. */
export function keyItem(record: KeyRecord): Item {
  const sortKey = listSortKey(record.created_at, record.key_id);
  return marshal({
    [TABLE.partitionKey]: keyPk(record.key_id),
    [TABLE.sortKey]: KEY_SK,
    ...record,
    [LIST_INDEX.user.pk]: LIST_INDEX.user.prefix + record.user_id,
    [LIST_INDEX.user.sk]: sortKey,
    [LIST_INDEX.company.pk]: LIST_INDEX.company.prefix + record.company_id,
    [LIST_INDEX.company.sk]: sortKey,
    [TABLE.ttlAttribute]: Math.floor(Date.parse(record.expires_at) / 1000) + DAY_SECONDS,
  });
}

/** The attributes a revocation (now or scheduled) sets: the time, and the key's place in the change feed. */
export function revocationAttributes(keyId: string, revokedAt: string, changedAtMs: number) {
  return { revoked_at: revokedAt, [CHANGES.pk]: CHANGES.partition, [CHANGES.sk]: changeSortKey(changedAtMs, keyPk(keyId)) };
}

const REQUIRED = ['key_id', 'user_id', 'company_id', 'kid', 'created_at', 'expires_at'] as const;
const OPTIONAL = ['name', 'minter', 'revoked_at', 'revoked_by', 'replaces', 'replaced_by'] as const;

/** The record in a key item, or undefined when the item is not one (a watermark, or damaged). */
export function keyFromItem(item: Item | undefined): KeyRecord | undefined {
  if (!item) return undefined;
  const flat = unmarshal(item);
  if (flat[TABLE.sortKey] !== KEY_SK) return undefined;
  const record: Record<string, string> = {};
  for (const name of REQUIRED) {
    if (typeof flat[name] !== 'string') return undefined;
    record[name] = flat[name] as string;
  }
  for (const name of OPTIONAL) if (typeof flat[name] === 'string') record[name] = flat[name] as string;
  record.minter ??= '';
  return record as unknown as KeyRecord;
}
