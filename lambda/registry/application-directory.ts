/**
 * The authorizer's view of client applications: registered keys, applications, accepted subscriptions and
 * plans, read from the key registry on demand and kept at module scope.
 *
 *   const directory = createApplicationDirectory({ client, tableName, changes: revocations });
 *   verifyClientToken(token, (kid) => directory.clientKey(kid), options);   // client-signed tokens
 *   const access = await directory.access(clientId, event.routeKey);       // then: deny unless access.ok
 *
 * - Cache: one entry per key (by kid), application, application's accepted subscriptions and plan, found or
 *   not: a flood of made-up kids or client ids costs one read per distinct value per `negativeTtlMs`, not
 *   one per request. At most `maxEntries` found and `maxEntries` not-found entries are held, apart (least
 *   recently used leave first), so a flood of made-up values cannot push out the applications in use.
 * - Freshness: every lookup first lets the change source (the revocation state) refresh, which reads the
 *   change feed at most once per refresh interval; each write to an application, key, subscription or
 *   plan is in that feed, and the directory drops exactly the entry it names. So a suspension, a removed
 *   key, a closed subscription or plan is seen within the revocation delay, at no extra query. A
 *   subscription listing comes from an index that may lag the feed by a moment; the feed's 30 s overlap
 *   reports the change again at the next refreshes, which drops an entry read too early.
 * - Faults: a read that fails throws (the caller denies); an entry past its TTL is served instead, up to
 *   `maxStaleMs` more (as the revocation state keeps its last state). After a failure no read is tried
 *   for `retryAfterFailureMs`, so an outage neither slows every request nor piles onto DynamoDB.
 */
import type { ClientAlgorithm, ClientPublicJwk } from '../jwt/client-keys';
import type { RegisteredClientKey } from '../jwt/client-tokens';
import type { PlanStatus } from './application-items';
import { createApplicationStore } from './application-store';
import type { Change } from './changes';
import { routeAllowed } from './route-patterns';
import { RegistryUnavailableError, type Client } from './store';

/** What the directory needs of the change feed: the revocation state satisfies it. */
export interface ChangeSource {
  refresh(): Promise<boolean>;
  subscribe(listener: (changes: readonly Change[]) => void): () => void;
}

export interface ApplicationDirectoryOptions {
  client: Client;
  tableName: string;
  now?: () => number;
  /** How long a found entry is used without a change before it is read again (changes drop it sooner). @default 900000 */
  ttlMs?: number;
  /** The same for what was not found (a made-up kid or client id). @default ttlMs */
  negativeTtlMs?: number;
  /** Found entries held at most, and as many not-found ones. @default 10000 */
  maxEntries?: number;
  /** How long past its TTL an entry is still served while reads fail. @default 900000 */
  maxStaleMs?: number;
  /** After a failed read, no read before this long. @default 1000 */
  retryAfterFailureMs?: number;
  /** The change feed; without one, entries change only when their TTL ends. */
  changes?: ChangeSource;
}

export interface DirectoryApplication {
  clientId: string;
  companyId: string;
  status: string;
}

export type AccessRefusal = 'unknown_application' | 'application_suspended' | 'no_subscription' | 'route_not_allowed';
export type AccessResult = { ok: true; application: DirectoryApplication; planId: string; subscriptionId: string } | { ok: false; reason: AccessRefusal };

export interface ApplicationDirectory {
  /** The registered key a client token's `kid` names, with its application's status (verifyClientToken's `lookupKey`). Throws when DynamoDB fails. */
  clientKey(kid: string): Promise<RegisteredClientKey | undefined>;
  /**
   * Whether the application may call `routeKey`: active, with an accepted subscription to a published or
   * deprecated plan that allows the route (the oldest such subscription). Throws when DynamoDB fails.
   */
  access(clientId: string, routeKey: string): Promise<AccessResult>;
  /** Drops the entries these changes name (the change source calls it). */
  invalidate(changes: readonly Change[]): void;
  /** DynamoDB calls made so far. */
  readonly calls: number;
  /** Entries held. */
  readonly size: number;
}

interface KeyEntry {
  clientId: string;
  jwk: ClientPublicJwk;
  alg: ClientAlgorithm;
}
interface PlanEntry {
  status: PlanStatus;
  routes?: string[];
}
interface SubscriptionEntry {
  subscriptionId: string;
  planId: string;
}
interface Entry {
  value: unknown;
  loadedAt: number;
}

const USABLE_PLANS: ReadonlySet<string> = new Set(['published', 'deprecated']);

export function createApplicationDirectory(options: ApplicationDirectoryOptions): ApplicationDirectory {
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? 900_000;
  const negativeTtlMs = options.negativeTtlMs ?? ttlMs;
  const maxEntries = options.maxEntries ?? 10_000;
  const maxStaleMs = options.maxStaleMs ?? 900_000;
  const retryAfterFailureMs = options.retryAfterFailureMs ?? 1000;
  let calls = 0;
  const counted: Client = {
    send: ((command: never) => {
      calls++;
      return options.client.send(command);
    }) as Client['send'],
  };
  const store = createApplicationStore(counted, options.tableName);
  /** Found and not-found entries, each bounded; Map order is use order (the first is the least recently used). */
  const found = new Map<string, Entry>();
  const missing = new Map<string, Entry>();
  /** Reads in flight; one that a change names while it runs is not cached (it may predate the change). */
  const inflight = new Map<string, { promise: Promise<unknown>; stale: boolean }>();
  let retryAt = -Infinity;

  function drop(key: string): void {
    found.delete(key);
    missing.delete(key);
    const read = inflight.get(key);
    if (read) read.stale = true;
  }

  function remember(key: string, entry: Entry): void {
    const [into, other] = entry.value === undefined ? [missing, found] : [found, missing];
    other.delete(key);
    into.delete(key);
    into.set(key, entry);
    while (into.size > maxEntries) into.delete(into.keys().next().value!);
  }

  async function cached<T>(key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const started = now();
    const entry = found.get(key) ?? missing.get(key);
    if (entry) {
      remember(key, entry);
      if (started - entry.loadedAt < (entry.value === undefined ? negativeTtlMs : ttlMs)) return entry.value as T | undefined;
    }
    const staleUsable = () => entry !== undefined && now() - entry.loadedAt < ttlMs + maxStaleMs;
    if (started < retryAt) {
      if (staleUsable()) return entry!.value as T | undefined;
      throw new RegistryUnavailableError('read the application directory (a read failed just before)');
    }
    let read = inflight.get(key);
    if (!read) {
      const fresh: { promise: Promise<unknown>; stale: boolean } = { promise: load(), stale: false };
      fresh.promise = fresh.promise.finally(() => inflight.delete(key));
      inflight.set(key, fresh);
      read = fresh;
    }
    try {
      const value = (await read.promise) as T | undefined;
      if (!read.stale) remember(key, { value, loadedAt: started });
      return value;
    } catch (err) {
      retryAt = now() + retryAfterFailureMs;
      if (staleUsable()) return entry!.value as T | undefined;
      throw err;
    }
  }

  const application = (clientId: string) =>
    cached<DirectoryApplication>(`a|${clientId}`, async () => {
      const app = await store.getApplication(clientId);
      return app && { clientId: app.client_id, companyId: app.company_id, status: app.status };
    });

  const plan = (planId: string) =>
    cached<PlanEntry>(`p|${planId}`, async () => {
      const found = await store.getPlan(planId);
      return found && { status: found.status, ...(found.routes !== undefined ? { routes: found.routes } : {}) };
    });

  const subscriptions = (clientId: string) =>
    cached<SubscriptionEntry[]>(`s|${clientId}`, async () =>
      (await store.listSubscriptions(clientId, 'accepted')).map((s) => ({ subscriptionId: s.subscription_id, planId: s.plan_id })),
    );

  const key = (kid: string) =>
    cached<KeyEntry>(`k|${kid}`, async () => {
      const record = await store.getClientKey(kid);
      if (!record || record.removed_at !== undefined) return undefined;
      try {
        return { clientId: record.client_id, jwk: JSON.parse(record.jwk) as ClientPublicJwk, alg: record.alg };
      } catch {
        return undefined;
      }
    });

  const sync = async () => {
    await options.changes?.refresh();
  };

  const directory: ApplicationDirectory = {
    async clientKey(kid) {
      await sync();
      const found = await key(kid);
      if (!found) return undefined;
      const app = await application(found.clientId);
      if (!app) return undefined;
      // The cached jwk object itself: verifyClientToken builds its KeyObject once per object.
      return { clientId: found.clientId, jwk: found.jwk, alg: found.alg, applicationStatus: app.status };
    },

    async access(clientId, routeKey) {
      await sync();
      const app = await application(clientId);
      if (!app) return { ok: false, reason: 'unknown_application' };
      if (app.status !== 'active') return { ok: false, reason: 'application_suspended' };
      let subscribed = false;
      for (const sub of (await subscriptions(clientId)) ?? []) {
        const found = await plan(sub.planId);
        if (!found || !USABLE_PLANS.has(found.status)) continue;
        subscribed = true;
        if (routeAllowed(found.routes, routeKey)) return { ok: true, application: app, planId: sub.planId, subscriptionId: sub.subscriptionId };
      }
      return { ok: false, reason: subscribed ? 'route_not_allowed' : 'no_subscription' };
    },

    invalidate(changes) {
      for (const change of changes) {
        if (change.kind === 'application') drop(`a|${change.clientId}`);
        else if (change.kind === 'client_key') drop(`k|${change.kid}`);
        else if (change.kind === 'subscription') drop(`s|${change.clientId}`);
        else if (change.kind === 'plan') drop(`p|${change.planId}`);
      }
    },

    get calls() {
      return calls;
    },
    get size() {
      return found.size + missing.size;
    },
  };
  options.changes?.subscribe((changes) => directory.invalidate(changes));
  return directory;
}
