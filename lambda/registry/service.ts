import { randomUUID } from 'node:crypto';
import { issueKey, type IssuedKey, type IssueOptions, type IssueRequest } from '../jwt/issue';
import type { SignerKey } from '../jwt/jwk-set';
import { bumpDue } from './bump';
import { decodeNext, encodeNext } from './cursor';
import { iso, keyView, statusOf, type KeyRecord, type KeyView, type KeyWatermarks } from './keys';
import type { ListQuery } from './requests';
import { DAY_SECONDS, type Scope } from './schema';
import type { RegistryStore } from './store';

/** 404: no such key. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** 409: the item is not in a state that allows the operation; `state` is that state, when there is one to name. */
export class ConflictError extends Error {
  constructor(
    message: string,
    readonly state?: string,
  ) {
    super(message);
    this.name = 'ConflictError';
  }
}

export const CACHE_WARNING =
  'The change is recorded and every Lambda authorizer enforces it within revocationRefreshSeconds, but the invalidation of ' +
  "API Gateway's authorizer cache could not be scheduled: a cached allow may be served until the cache TTL ends.";

export interface RegistryServiceDeps {
  store: RegistryStore;
  /** The JWT settings minting uses (JWT_EXPIRES_IN is `maxLifetimeSeconds`). */
  jwt: Omit<IssueOptions, 'now' | 'newKeyId'>;
  /** The key that signs now; throws KeySourceUnavailableError when there is none. */
  signer: () => Promise<SignerKey>;
  /** revocationRefreshSeconds: how long until every authorizer has seen a change. */
  refreshSeconds: number;
  /** Schedules the authorizer cache's invalidation for `dueMs`; absent when there is no cache to invalidate. */
  scheduleBump?: (dueMs: number, nowMs: number) => Promise<void>;
  now?: () => number;
  newKeyId?: () => string;
  /** Told when a schedule or a clean-up failed (the answer still succeeds). */
  onWarning?: (message: string, fields: Record<string, unknown>) => void;
}

export interface Caller {
  arn: string;
}

/**
 * Schedules the invalidation of API Gateway's authorizer cache once every authorizer knows a change that
 * takes effect at `effectiveAtMs`; answers a warning for the response when that could not be queued.
 */
export function cacheInvalidator(deps: Pick<RegistryServiceDeps, 'scheduleBump' | 'refreshSeconds' | 'onWarning'>) {
  return async (effectiveAtMs: number, nowMs: number, fields: Record<string, unknown>): Promise<{ warning?: string }> => {
    if (!deps.scheduleBump) return {};
    try {
      await deps.scheduleBump(bumpDue(effectiveAtMs, deps.refreshSeconds), nowMs);
      return {};
    } catch (err) {
      deps.onWarning?.('authorizer cache invalidation not scheduled', { ...fields, error: (err as Error).name, errorMessage: (err as Error).message });
      return { warning: CACHE_WARNING };
    }
  };
}

/** What the routes do, with the clock, the signer and the clients passed in. */
export function createRegistryService(deps: RegistryServiceDeps) {
  const { store, jwt } = deps;
  const now = deps.now ?? Date.now;
  const newKeyId = deps.newKeyId ?? randomUUID;

  const invalidateCacheAt = cacheInvalidator(deps);

  /** Signs a key and records it; a key whose record cannot be written is never returned. */
  async function mintRecorded(request: IssueRequest, name: string | undefined, caller: Caller, nowMs: number, replaces?: string) {
    const signer = await deps.signer();
    const keyId = newKeyId();
    const issued = await issueKey(request, signer, { ...jwt, now: new Date(nowMs), newKeyId: () => keyId });
    const record: KeyRecord = {
      key_id: keyId,
      user_id: request.userId,
      company_id: request.companyId,
      ...(name !== undefined ? { name } : {}),
      kid: signer.kid,
      created_at: iso(nowMs),
      expires_at: issued.expires_at,
      minter: caller.arn,
      ...(replaces !== undefined ? { replaces } : {}),
    };
    await store.putKey(record);
    return { issued, record };
  }

  return {
    /** POST /keys */
    async mint(request: IssueRequest, name: string | undefined, caller: Caller): Promise<{ issued: IssuedKey; record: KeyRecord }> {
      return mintRecorded(request, name, caller, now());
    },

    /** GET /keys: one page from the user's or company's index; the status filter applies to that page. */
    async list(query: ListQuery): Promise<{ keys: KeyView[]; next?: string }> {
      const startKey = query.next !== undefined ? decodeNext(query.next, query.scope, query.id) : undefined;
      const page = await store.listKeys(query.scope, query.id, query.limit, startKey);
      const marks = await store.watermarksOf(page.records);
      const nowMs = now();
      const keys = page.records.map((r) => keyView(r, nowMs, marks.get(r))).filter((k) => query.status === undefined || k.status === query.status);
      return page.lastKey ? { keys, next: encodeNext(page.lastKey) } : { keys };
    },

    /** GET /keys/{keyId} */
    async get(keyId: string): Promise<KeyView> {
      const record = await store.getKey(keyId);
      if (!record) throw new NotFoundError(`No key has the id "${keyId}".`);
      return keyView(record, now(), (await store.watermarksOf([record])).get(record));
    },

    /** DELETE /keys/{keyId}: revokes now; a key revoked already keeps its time (idempotent). */
    async revoke(keyId: string, caller: Caller): Promise<{ key: KeyView; changed: boolean; warning?: string }> {
      const nowMs = now();
      const changed = await store.revokeKey(keyId, iso(nowMs), nowMs, caller.arn);
      const record = await store.getKey(keyId);
      if (!record) throw new NotFoundError(`No key has the id "${keyId}".`);
      const extra = changed ? await invalidateCacheAt(nowMs, nowMs, { keyId }) : {};
      return { key: keyView(record, nowMs, (await store.watermarksOf([record])).get(record)), changed, ...extra };
    },

    /**
     * POST /keys/{keyId}/roll: a new key for the same user, company and name, with the old key's lifetime;
     * the old key is revoked when the grace ends. The new record is written first (inert: its token is
     * not out yet), then the old key is marked with a conditional write; if that fails, the new record is
     * removed and nothing is returned. (DynamoDB transactions would do both at once, but the local
     * DynamoDB the tests and `npm start` use has no TransactWriteItems, and this order is safe without.)
     */
    async roll(keyId: string, graceSeconds: number, caller: Caller): Promise<{ issued: IssuedKey & { replaces: string }; warning?: string }> {
      const nowMs = now();
      const old = await store.getKey(keyId);
      if (!old) throw new NotFoundError(`No key has the id "${keyId}".`);
      let marks: KeyWatermarks | undefined;
      const refuse = (record: KeyRecord) => {
        if (record.replaced_by !== undefined) return new ConflictError(`Key "${keyId}" was rolled already: its replacement is "${record.replaced_by}".`);
        const status = statusOf(record, nowMs, marks);
        const why = status === 'active' ? 'scheduled for revocation' : record.revoked_at === undefined && status === 'revoked' ? 'revoked by a watermark (POST /revocations)' : status;
        return new ConflictError(`Key "${keyId}" is ${why}: only an active key can be rolled.`);
      };
      if (old.replaced_by !== undefined || old.revoked_at !== undefined || statusOf(old, nowMs) !== 'active') throw refuse(old);
      // A key a watermark refuses is revoked too: rolling it would hand its access back after a revoke-all.
      marks = (await store.watermarksOf([old])).get(old);
      if (statusOf(old, nowMs, marks) !== 'active') throw refuse(old);

      const lifetime = Math.min(jwt.maxLifetimeSeconds, Math.max(1, Math.ceil((Date.parse(old.expires_at) - Date.parse(old.created_at)) / 1000)));
      const request: IssueRequest = { userId: old.user_id, companyId: old.company_id, expiresInSeconds: lifetime };
      const { issued, record } = await mintRecorded(request, old.name, caller, nowMs, old.key_id);
      const revokeAtMs = nowMs + graceSeconds * 1000;
      const discard = () =>
        store.deleteKey(record.key_id).catch((err) => deps.onWarning?.('unused replacement key record left behind', { keyId: record.key_id, error: (err as Error).name }));
      let scheduled: boolean;
      try {
        scheduled = await store.scheduleReplacement(old.key_id, record.key_id, iso(revokeAtMs), iso(nowMs), nowMs, caller.arn);
      } catch (err) {
        await discard();
        throw err;
      }
      if (!scheduled) {
        await discard();
        throw refuse((await store.getKey(keyId)) ?? old);
      }
      // An old key that expires before its grace ends needs no invalidation: expiry does it.
      const extra = revokeAtMs < Date.parse(old.expires_at) ? await invalidateCacheAt(revokeAtMs, nowMs, { keyId, replacedBy: record.key_id }) : {};
      return { issued: { ...issued, replaces: old.key_id }, ...extra };
    },

    /**
     * POST /revocations: every key issued to the user or company before now is refused (a not-before
     * watermark in seconds, compared with `iat`). Registry keys minted earlier in the watermark's own
     * second share its `iat` and would pass, so they are revoked by id as well.
     */
    async revokeIssuedBefore(scope: Scope, id: string, caller: Caller): Promise<{ notBefore: string; revokedKeys: number; warning?: string }> {
      const nowMs = now();
      const second = Math.floor(nowMs / 1000);
      const ttl = second + jwt.maxLifetimeSeconds + DAY_SECONDS;
      const notBefore = await store.putWatermark({ scope, id, notBefore: second }, nowMs, ttl, caller.arn);
      let revokedKeys = 0;
      for (const key of await store.keysCreatedBetween(scope, id, iso(second * 1000), iso(nowMs))) {
        if (statusOf(key, nowMs) !== 'revoked' && (await store.revokeKey(key.key_id, iso(nowMs), nowMs, caller.arn))) revokedKeys++;
      }
      const extra = await invalidateCacheAt(nowMs, nowMs, { scope, id });
      return { notBefore: iso(notBefore * 1000), revokedKeys, ...extra };
    },
  };
}

export type RegistryService = ReturnType<typeof createRegistryService>;
