/**
 * Revocation state for the Lambda authorizer: what the key registry has revoked, held in memory at module
 * scope and refreshed from the registry's change feed, so a request costs no DynamoDB call.
 *
 *   const revocations = createRevocationState({ feed, refreshMs: 5000, failMode: 'closed', maxLifetimeSeconds });
 *   const verdict = await revocations.check({ keyId: jti, userId, companyId, iat });
 *   if (verdict.revoked) deny(verdict.reason);          // 'revoked' | 'revocation_state_unavailable'
 *
 * - `check` refuses a token whose `jti` is revoked with revoked_at <= now, or whose `iat` (0 when absent,
 *   as in some portal keys) is before the not-before watermark of its user or its company.
 * - Freshness: a `check` that finds the state `refreshMs` old or older refreshes it first, synchronously
 *   and single-flight, so every decision uses state at most `refreshMs` old. A warm container therefore
 *   makes at most one DynamoDB call (one Query; more only if a page overflows 1 MB) per `refreshMs`,
 *   whatever the request rate. `calls` counts them.
 * - Cold start: the first load reads every change newer than now − maxLifetimeSeconds − 1 day (anything
 *   older concerns tokens that have expired). Later refreshes read only what changed since the previous
 *   one, less a 30 s overlap (GSIs are eventually consistent and writers' clocks differ); entries are
 *   applied idempotently (a key's revocation only moves earlier, a watermark only later).
 * - The same feed carries writes to client application items; `subscribe` hands every load's changes to
 *   the application directory (application-directory.ts), which drops what they name: no extra query.
 * - Faults: a failed refresh keeps the last state and is retried after `retryAfterFailureMs`, with no
 *   call per request in between. With no state at all (cold container, first load failed): `closed`
 *   refuses (`revocation_state_unavailable`), `open` allows and says so in `reason`.
 */
import type { Change, ChangeFeed } from './changes';
import { DAY_SECONDS } from './schema';

export type RevocationFailMode = 'closed' | 'open';
export type RevocationReason = 'revoked' | 'revocation_state_unavailable';

/** The verified token's facts the check needs (from its claims). */
export interface RevocationSubject {
  /** `jti`; portal keys have none. */
  keyId?: string;
  userId: string;
  companyId: string;
  /** `iat`, epoch seconds; treated as 0 when absent. */
  iat?: number;
}

/**
 * `revoked: true` with `reason` refuses the token. `revoked: false` with reason
 * `revocation_state_unavailable` is an allow without state (fail-open): log it.
 */
export interface RevocationVerdict {
  revoked: boolean;
  reason?: RevocationReason;
}

export interface RevocationStateOptions {
  feed: ChangeFeed;
  /** How old the state may get before a check refreshes it (revocationRefreshSeconds × 1000). */
  refreshMs: number;
  failMode: RevocationFailMode;
  /** JWT_EXPIRES_IN: no accepted token lives longer, so older changes can be forgotten. */
  maxLifetimeSeconds: number;
  /** After a failed refresh, no new attempt before this long. @default max(refreshMs, 1000) */
  retryAfterFailureMs?: number;
  /** How far back each incremental refresh re-reads. @default 30000 */
  overlapMs?: number;
  now?: () => number;
  /** Told about failed refreshes (never about tokens). */
  onError?: (err: unknown, context: { cold: boolean; failMode: RevocationFailMode }) => void;
}

export interface RevocationState {
  check(subject: RevocationSubject): Promise<RevocationVerdict>;
  /** Loads now unless the state is fresh or a failure's back-off runs; true when state is available. */
  refresh(): Promise<boolean>;
  /** DynamoDB calls made so far. */
  readonly calls: number;
  /** When the state in use was read (epoch ms), undefined before the first successful load. */
  readonly loadedAt: number | undefined;
  /** Entries held (revoked keys and watermarks): memory stays bounded by pruning. */
  readonly size: number;
  /**
   * Calls `listener` after each successful read of the change feed with every change read, revocations and
   * client application writes alike (the application directory drops what they name). The same query
   * serves both: subscribing adds no DynamoDB call. Returns the unsubscribe function.
   */
  subscribe(listener: ChangeListener): () => void;
}

export type ChangeListener = (changes: readonly Change[]) => void;

/** What is revoked, as of the last refresh. */
export interface Snapshot {
  /** key id → when it stops working, and when it expires anyway (epoch ms). */
  keys: Map<string, { revokedAtMs: number; expiresAtMs: number }>;
  /** user id → not-before (epoch s). */
  users: Map<string, number>;
  /** company id → not-before (epoch s). */
  companies: Map<string, number>;
}

export function emptySnapshot(): Snapshot {
  return { keys: new Map(), users: new Map(), companies: new Map() };
}

/** Applies changes; repeats and stale copies (an overlap, a lagging index) change nothing. */
export function applyChanges(snapshot: Snapshot, changes: Iterable<Change>): void {
  for (const change of changes) {
    if (change.kind === 'key') {
      const known = snapshot.keys.get(change.keyId);
      // A revocation only moves earlier (DELETE during a roll's grace); never un-revokes.
      if (!known || change.revokedAtMs < known.revokedAtMs) snapshot.keys.set(change.keyId, { revokedAtMs: change.revokedAtMs, expiresAtMs: change.expiresAtMs });
    } else if (change.kind === 'user' || change.kind === 'company') {
      const marks = change.kind === 'user' ? snapshot.users : snapshot.companies;
      marks.set(change.id, Math.max(marks.get(change.id) ?? -Infinity, change.notBefore));
    }
  }
}

/**
 * Forgets entries no token can depend on any more: a key one day past its expiry; a watermark once
 * every token issued before it has expired (maxLifetimeSeconds, plus a day, as the item's TTL).
 */
export function pruneSnapshot(snapshot: Snapshot, nowMs: number, maxLifetimeSeconds: number): void {
  for (const [keyId, entry] of snapshot.keys) if (entry.expiresAtMs + DAY_SECONDS * 1000 < nowMs) snapshot.keys.delete(keyId);
  for (const marks of [snapshot.users, snapshot.companies]) {
    for (const [id, notBefore] of marks) if ((notBefore + maxLifetimeSeconds + DAY_SECONDS) * 1000 < nowMs) marks.delete(id);
  }
}

/** The decision itself: pure. */
export function isRevoked(snapshot: Snapshot, subject: RevocationSubject, nowMs: number): boolean {
  if (subject.keyId !== undefined) {
    const entry = snapshot.keys.get(subject.keyId);
    if (entry && entry.revokedAtMs <= nowMs) return true;
  }
  const iat = subject.iat ?? 0;
  const userMark = snapshot.users.get(subject.userId);
  if (userMark !== undefined && iat < userMark) return true;
  const companyMark = snapshot.companies.get(subject.companyId);
  return companyMark !== undefined && iat < companyMark;
}

export function createRevocationState(options: RevocationStateOptions): RevocationState {
  const { feed, refreshMs, failMode, maxLifetimeSeconds, now = Date.now, onError } = options;
  const retryAfterFailureMs = options.retryAfterFailureMs ?? Math.max(refreshMs, 1000);
  const overlapMs = options.overlapMs ?? 30_000;
  let snapshot: Snapshot | undefined;
  let loadedAt: number | undefined;
  let retryAt = -Infinity;
  let inflight: Promise<void> | undefined;
  const listeners = new Set<ChangeListener>();

  async function load(): Promise<void> {
    const started = now();
    const cold = snapshot === undefined;
    // Incremental: from the previous load's start (this container's clock), less the overlap that covers
    // the index's lag and writers' clocks. Not from the newest change seen: after a burst of revocations
    // that would re-read the burst's last 30 s at every refresh until the next change.
    const since = cold ? started - (maxLifetimeSeconds + DAY_SECONDS) * 1000 : loadedAt! - overlapMs;
    try {
      const changes = await feed.since(since);
      const next = snapshot ?? emptySnapshot();
      applyChanges(next, changes);
      pruneSnapshot(next, started, maxLifetimeSeconds);
      snapshot = next;
      loadedAt = started;
      for (const listener of listeners) {
        try {
          listener(changes);
        } catch {
          // A listener must not throw (the directory clears itself instead); one that does costs this state nothing.
        }
      }
    } catch (err) {
      retryAt = now() + retryAfterFailureMs;
      onError?.(err, { cold, failMode });
    }
  }

  function due(): boolean {
    const t = now();
    return (loadedAt === undefined || t - loadedAt >= refreshMs) && t >= retryAt;
  }

  async function refresh(): Promise<boolean> {
    if (due()) {
      inflight ??= load().finally(() => {
        inflight = undefined;
      });
    }
    if (inflight) await inflight;
    return snapshot !== undefined;
  }

  return {
    async check(subject) {
      if (!(await refresh())) {
        return { revoked: failMode === 'closed', reason: 'revocation_state_unavailable' };
      }
      return isRevoked(snapshot!, subject, now()) ? { revoked: true, reason: 'revoked' } : { revoked: false };
    },
    refresh,
    get calls() {
      return feed.calls;
    },
    get loadedAt() {
      return loadedAt;
    },
    get size() {
      return snapshot ? snapshot.keys.size + snapshot.users.size + snapshot.companies.size : 0;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}
