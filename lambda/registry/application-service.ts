import { randomBytes } from 'node:crypto';
import { ClientKeyError, publicJwkFromRegistration } from '../jwt/client-keys';
import { InputError } from '../jwt/issue';
import {
  applicationView,
  LIVE_STATUSES,
  planView,
  subscriptionView,
  type ApplicationRecord,
  type ApplicationStatus,
  type ClientKeyRecord,
  type PlanRecord,
  type PlanStatus,
  type SubscriptionRecord,
  type SubscriptionStatus,
} from './application-items';
import type { ApplicationRequest, PlanRequest } from './application-requests';
import type { ApplicationStore, Stamp } from './application-store';
import { iso } from './keys';
import { DAY_SECONDS } from './schema';
import { cacheInvalidator, ConflictError, NotFoundError, type Caller, type RegistryServiceDeps } from './service';

export const ROUTE_RESTRICTION_MESSAGE =
  "Plans cannot restrict routes on this deployment: API Gateway caches the authorizer's answer per token, so an answer " +
  'given for one route would be reused on the others. Deploy with -c routeRestrictedPlans=true (the cache key then ' +
  'includes the route), or leave "routes" out to allow every route.';

/** A reservation whose subscription never got written (a failed call) is free again after this long. */
export const ABANDONED_CLAIM_MS = 60_000;

export interface ApplicationServiceDeps extends Pick<RegistryServiceDeps, 'refreshSeconds' | 'scheduleBump' | 'onWarning'> {
  store: ApplicationStore;
  /** JWT_ISSUER and every trusted issuer: a client with such an id would have its tokens sent to another verifier. */
  reservedClientIds: ReadonlySet<string>;
  /** ROUTE_RESTRICTED_PLANS: the authorizer cache is keyed per route, so plans may restrict routes. */
  routeRestrictedPlans: boolean;
  now?: () => number;
  /** Generated client, plan and subscription ids. @default 16 random bytes, base64url */
  newId?: () => string;
}

const randomId = () => randomBytes(16).toString('base64url');

type PlanAction = 'publish' | 'deprecate' | 'close';
type SubscriptionAction = 'accept' | 'reject' | 'close';

const PLAN_MOVES: Record<PlanAction, { from: readonly PlanStatus[]; to: PlanStatus; past: string }> = {
  publish: { from: ['staging'], to: 'published', past: 'published' },
  deprecate: { from: ['published'], to: 'deprecated', past: 'deprecated' },
  close: { from: ['staging', 'published', 'deprecated'], to: 'closed', past: 'closed' },
};
const SUBSCRIPTION_MOVES: Record<SubscriptionAction, { from: readonly SubscriptionStatus[]; to: SubscriptionStatus; past: string }> = {
  accept: { from: ['pending'], to: 'accepted', past: 'accepted' },
  reject: { from: ['pending'], to: 'rejected', past: 'rejected' },
  close: { from: ['pending', 'accepted'], to: 'closed', past: 'closed' },
};

const listed = (states: readonly string[]) => (states.length === 1 ? states[0] : `${states.slice(0, -1).join(', ')} or ${states[states.length - 1]}`);

/**
 * Client applications, their keys, plans and subscriptions (the admin routes' logic). Every change an
 * authorizer must see is written with its change-feed position (the store does it) and, when it can turn
 * an answer from allow to deny or back, schedules the authorizer cache's invalidation as a revocation does.
 */
export function createApplicationService(deps: ApplicationServiceDeps) {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? randomId;
  const invalidate = cacheInvalidator(deps);
  const stamp = (caller: Caller, nowMs = now()): Stamp => ({ at: iso(nowMs), changedAtMs: nowMs, by: caller.arn });
  const withWarning = async <T extends object>(view: T, nowMs: number, fields: Record<string, unknown>) => ({ ...view, ...(await invalidate(nowMs, nowMs, fields)) });

  async function application(clientId: string): Promise<ApplicationRecord> {
    const app = await store.getApplication(clientId);
    if (!app) throw new NotFoundError(`No application has the client_id "${clientId}".`);
    return app;
  }
  async function plan(planId: string): Promise<PlanRecord> {
    const found = await store.getPlan(planId);
    if (!found) throw new NotFoundError(`No plan has the id "${planId}".`);
    return found;
  }
  async function subscription(subscriptionId: string): Promise<SubscriptionRecord> {
    const found = await store.getSubscription(subscriptionId);
    if (!found) throw new NotFoundError(`No subscription has the id "${subscriptionId}".`);
    return found;
  }

  /** Frees the application's live place on the plan; a failure is only logged (the next subscription takes the place over). */
  async function release(sub: SubscriptionRecord): Promise<void> {
    try {
      await store.releaseLive(sub.plan_id, sub.client_id, sub.subscription_id);
    } catch (err) {
      deps.onWarning?.('subscription reservation not released', { subscriptionId: sub.subscription_id, error: (err as Error).name });
    }
  }

  /** Reserves the application's one live (pending or accepted) place on the plan for a new subscription. */
  async function reserve(planId: string, clientId: string, subscriptionId: string, nowMs: number): Promise<void> {
    const at = iso(nowMs);
    if (await store.claimLive(planId, clientId, subscriptionId, at)) return;
    const guard = await store.getLive(planId, clientId);
    if (!guard) {
      if (await store.claimLive(planId, clientId, subscriptionId, at)) return;
    } else {
      const holder = await store.getSubscription(guard.subscription_id);
      if (holder && LIVE_STATUSES.includes(holder.status)) {
        throw new ConflictError(
          `Application "${clientId}" has a ${holder.status} subscription to plan "${planId}" already (${holder.subscription_id}): close it first, or keep using it.`,
          holder.status,
        );
      }
      const abandoned = !holder && nowMs - Date.parse(guard.claimed_at) > ABANDONED_CLAIM_MS;
      if ((holder || abandoned) && (await store.takeOverLive(planId, clientId, guard.subscription_id, subscriptionId, at))) return;
    }
    throw new ConflictError(`Another subscription of application "${clientId}" to plan "${planId}" is being created right now; retry in a minute.`);
  }

  async function closeSubscriptionsOf(planId: string, caller: Caller, nowMs: number): Promise<number> {
    let closed = 0;
    let startKey: Awaited<ReturnType<ApplicationStore['planSubscriptions']>>['lastKey'];
    do {
      const page = await store.planSubscriptions(planId, startKey);
      for (const sub of page.records) {
        if (!LIVE_STATUSES.includes(sub.status)) continue;
        const done = await store.setSubscriptionStatus(sub.subscription_id, LIVE_STATUSES, 'closed', stamp(caller, nowMs));
        if (done) {
          closed++;
          await release(done);
        }
      }
      startKey = page.lastKey;
    } while (startKey);
    return closed;
  }

  return {
    /** POST /applications */
    async createApplication(request: ApplicationRequest, caller: Caller) {
      if (request.clientId !== undefined && deps.reservedClientIds.has(request.clientId)) {
        throw new ConflictError(
          `client_id "${request.clientId}" is the issuer of this API's own keys or of a trusted identity provider: tokens with that "iss" go to that issuer's verifier. Choose another client_id.`,
        );
      }
      const nowMs = now();
      let clientId = request.clientId ?? newId();
      // A generated id collides with probability 2^-128; two tries keep a broken generator from looping.
      for (let attempt = 0; attempt < (request.clientId === undefined ? 2 : 1); attempt++, clientId = newId()) {
        const record: ApplicationRecord = {
          client_id: clientId,
          name: request.name,
          company_id: request.companyId,
          status: 'active',
          created_at: iso(nowMs),
          updated_at: iso(nowMs),
          created_by: caller.arn,
        };
        if (await store.putApplication(record, nowMs)) return applicationView(record);
      }
      if (request.clientId === undefined) throw new ConflictError('The generated client_id is taken; retry.');
      throw new ConflictError(`An application with client_id "${request.clientId}" exists already: choose another client_id, or leave it out to have one generated.`);
    },

    /** GET /applications/{clientId}: the application, its keys (public facts only) and its subscriptions. */
    async getApplication(clientId: string) {
      const app = await application(clientId);
      const [keys, subscriptions] = await Promise.all([store.listClientKeys(clientId), store.listSubscriptions(clientId)]);
      return {
        ...applicationView(app),
        keys: keys.filter((k) => k.removed_at === undefined).map((k) => ({ kid: k.kid, alg: k.alg, created_at: k.created_at })),
        subscriptions: subscriptions.map((s) => ({ subscription_id: s.subscription_id, plan_id: s.plan_id, status: s.status, created_at: s.created_at })),
      };
    },

    /** POST /applications/{clientId}/suspend and /resume */
    async setApplicationStatus(clientId: string, action: 'suspend' | 'resume', caller: Caller) {
      const [from, to]: [ApplicationStatus, ApplicationStatus] = action === 'suspend' ? ['active', 'suspended'] : ['suspended', 'active'];
      const nowMs = now();
      const changed = await store.setApplicationStatus(clientId, from, to, stamp(caller, nowMs));
      if (!changed) {
        const app = await application(clientId);
        throw new ConflictError(`Application "${clientId}" is ${app.status}: only an ${from} application can be ${action === 'suspend' ? 'suspended' : 'resumed'}.`, app.status);
      }
      return withWarning(applicationView(changed), nowMs, { clientId, status: to });
    },

    /** POST /applications/{clientId}/keys `{jwk}` or `{pem}` */
    async registerKey(clientId: string, input: { jwk?: unknown; pem?: string }, caller: Caller) {
      await application(clientId);
      let jwk;
      try {
        jwk = await publicJwkFromRegistration(input);
      } catch (err) {
        if (err instanceof ClientKeyError) throw new InputError(input.pem !== undefined && input.jwk === undefined ? 'pem' : 'jwk', err.message);
        throw err;
      }
      const nowMs = now();
      const record: ClientKeyRecord = { kid: jwk.kid, client_id: clientId, jwk: JSON.stringify(jwk), alg: jwk.alg, created_at: iso(nowMs), created_by: caller.arn };
      if (!(await store.putClientKey(record, nowMs))) {
        const holder = await store.getClientKey(jwk.kid);
        throw new ConflictError(
          holder?.client_id === clientId
            ? `Key "${jwk.kid}" is registered to this application already.`
            : `Key "${jwk.kid}" is registered to another application: a kid names one key across all applications. Give this key another "kid", or generate a new key pair.`,
        );
      }
      return withWarning({ kid: record.kid, alg: record.alg, created_at: record.created_at }, nowMs, { clientId, kid: record.kid });
    },

    /** DELETE /applications/{clientId}/keys/{kid}: the key stops verifying within the revocation delay. */
    async removeKey(clientId: string, kid: string, caller: Caller) {
      const nowMs = now();
      const removed = await store.removeClientKey(kid, clientId, stamp(caller, nowMs), Math.floor(nowMs / 1000) + DAY_SECONDS);
      if (!removed) throw new NotFoundError(`Application "${clientId}" has no key "${kid}".`);
      return withWarning({ client_id: clientId, kid, removed_at: iso(nowMs) }, nowMs, { clientId, kid });
    },

    /** POST /plans: a new plan is `staging` (it takes no subscriptions until published). */
    async createPlan(request: PlanRequest, caller: Caller) {
      if (request.routes !== undefined && !deps.routeRestrictedPlans) throw new ConflictError(ROUTE_RESTRICTION_MESSAGE);
      const nowMs = now();
      const record: PlanRecord = {
        plan_id: newId(),
        name: request.name,
        status: 'staging',
        ...(request.routes !== undefined ? { routes: request.routes } : {}),
        auto_validate: request.autoValidate,
        created_at: iso(nowMs),
        updated_at: iso(nowMs),
        created_by: caller.arn,
      };
      if (!(await store.putPlan(record, nowMs))) throw new ConflictError('The generated plan id is taken; retry.');
      return planView(record);
    },

    /** GET /plans/{planId} */
    async getPlan(planId: string) {
      return planView(await plan(planId));
    },

    /** POST /plans/{planId}/publish | /deprecate | /close; closing closes the plan's pending and accepted subscriptions. */
    async transitionPlan(planId: string, action: PlanAction, caller: Caller) {
      const move = PLAN_MOVES[action];
      const nowMs = now();
      const changed = await store.setPlanStatus(planId, move.from, move.to, stamp(caller, nowMs));
      if (!changed) {
        const current = await plan(planId);
        throw new ConflictError(`Plan "${planId}" is ${current.status}: only a ${listed(move.from)} plan can be ${move.past}.`, current.status);
      }
      const extra = action === 'close' ? { closed_subscriptions: await closeSubscriptionsOf(planId, caller, nowMs) } : {};
      return withWarning({ ...planView(changed), ...extra }, nowMs, { planId, status: move.to });
    },

    /**
     * POST /applications/{clientId}/subscriptions `{plan_id}`: an active application, a published plan, and no
     * other live subscription of the application to it. Accepted at once when the plan auto-validates.
     */
    async subscribe(clientId: string, planId: string, caller: Caller) {
      const app = await application(clientId);
      if (app.status !== 'active') throw new ConflictError(`Application "${clientId}" is ${app.status}: only an active application can subscribe.`, app.status);
      const target = await plan(planId);
      if (target.status !== 'published') throw new ConflictError(`Plan "${planId}" is ${target.status}: only a published plan takes new subscriptions.`, target.status);
      const nowMs = now();
      const record: SubscriptionRecord = {
        subscription_id: newId(),
        client_id: clientId,
        plan_id: planId,
        status: target.auto_validate ? 'accepted' : 'pending',
        created_at: iso(nowMs),
        updated_at: iso(nowMs),
        created_by: caller.arn,
      };
      await reserve(planId, clientId, record.subscription_id, nowMs);
      try {
        if (!(await store.putSubscription(record, nowMs))) throw new ConflictError('The generated subscription id is taken; retry.');
      } catch (err) {
        await release(record);
        throw err;
      }
      // Closing a plan sweeps its subscriptions through an index that may not show this one yet: look again.
      const after = await store.getPlan(planId);
      if (after?.status === 'closed') {
        const closed = await store.setSubscriptionStatus(record.subscription_id, LIVE_STATUSES, 'closed', stamp(caller, nowMs));
        if (closed) await release(closed);
        throw new ConflictError(`Plan "${planId}" is closed: only a published plan takes new subscriptions.`, 'closed');
      }
      const view = subscriptionView(record);
      return record.status === 'accepted' ? withWarning(view, nowMs, { subscriptionId: record.subscription_id }) : view;
    },

    /** GET /subscriptions/{id} */
    async getSubscription(subscriptionId: string) {
      return subscriptionView(await subscription(subscriptionId));
    },

    /** POST /subscriptions/{id}/accept | /reject | /close; accepting needs the plan still published. */
    async transitionSubscription(subscriptionId: string, action: SubscriptionAction, caller: Caller) {
      const move = SUBSCRIPTION_MOVES[action];
      if (action === 'accept') {
        const sub = await subscription(subscriptionId);
        const target = await store.getPlan(sub.plan_id);
        if (sub.status === 'pending' && target?.status !== 'published') {
          const state = target?.status ?? 'missing';
          throw new ConflictError(`Plan "${sub.plan_id}" is ${state}: a subscription can be accepted only while its plan is published.`, state);
        }
      }
      const nowMs = now();
      const changed = await store.setSubscriptionStatus(subscriptionId, move.from, move.to, stamp(caller, nowMs));
      if (!changed) {
        const current = await subscription(subscriptionId);
        throw new ConflictError(`Subscription "${subscriptionId}" is ${current.status}: only a ${listed(move.from)} subscription can be ${move.past}.`, current.status);
      }
      if (!LIVE_STATUSES.includes(changed.status)) await release(changed);
      return withWarning(subscriptionView(changed), nowMs, { subscriptionId, status: move.to });
    },
  };
}

export type ApplicationService = ReturnType<typeof createApplicationService>;
