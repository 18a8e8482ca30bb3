import { log } from '../shared/log';
import { parseApplicationRequest, parseKeyRegistration, parsePlanRequest, parseSubscriptionRequest, pathParameter } from './application-requests';
import type { ApplicationService } from './application-service';
import { APPLICATION_ROUTES } from './routes';
import type { Caller } from './service';

/** The client application routes of the key-admin function (the list: ./routes.ts). */
export { APPLICATION_ROUTES };

export interface ApplicationRequestContext {
  /** The decoded body. */
  body?: string;
  pathParameters?: Record<string, string | undefined>;
  requestId?: string;
}

export type ApplicationRoute = (request: ApplicationRequestContext, caller: Caller, service: ApplicationService) => Promise<{ status: number; body: unknown }>;

const param = (request: ApplicationRequestContext, name: string) => pathParameter(request.pathParameters, name);

/** Logs an admin change with ids and states only: never a key (public or not) or a body. */
function audit(message: string, fields: Record<string, unknown>, caller: Caller, request: ApplicationRequestContext): void {
  log('INFO', message, { ...fields, caller: caller.arn, requestId: request.requestId });
}

function transitions<A extends string>(
  prefix: string,
  name: string,
  actions: readonly A[],
  run: (service: ApplicationService, id: string, action: A, caller: Caller) => Promise<Record<string, unknown>>,
): Record<string, ApplicationRoute> {
  return Object.fromEntries(
    actions.map((action) => [
      `POST ${prefix}/{${name}}/${action}`,
      (async (request, caller, service) => {
        const id = param(request, name);
        const result = await run(service, id, action, caller);
        audit(`${prefix.slice(1, -1)} ${action}`, { [name]: id, status: result.status }, caller, request);
        return { status: 200, body: result };
      }) satisfies ApplicationRoute,
    ]),
  );
}

export const APPLICATION_HANDLERS: Record<string, ApplicationRoute> = {
  'POST /applications': async (request, caller, service) => {
    const app = await service.createApplication(parseApplicationRequest(request.body), caller);
    audit('application created', { clientId: app.client_id, companyId: app.company_id }, caller, request);
    return { status: 201, body: app };
  },
  'GET /applications/{clientId}': async (request, _caller, service) => ({ status: 200, body: await service.getApplication(param(request, 'clientId')) }),
  'POST /applications/{clientId}/keys': async (request, caller, service) => {
    const clientId = param(request, 'clientId');
    const key = await service.registerKey(clientId, parseKeyRegistration(request.body), caller);
    audit('client key registered', { clientId, kid: key.kid, alg: key.alg }, caller, request);
    return { status: 201, body: key };
  },
  'DELETE /applications/{clientId}/keys/{kid}': async (request, caller, service) => {
    const removed = await service.removeKey(param(request, 'clientId'), param(request, 'kid'), caller);
    audit('client key removed', { clientId: removed.client_id, kid: removed.kid }, caller, request);
    return { status: 200, body: removed };
  },
  ...transitions('/applications', 'clientId', ['suspend', 'resume'] as const, (service, id, action, caller) => service.setApplicationStatus(id, action, caller)),
  'POST /applications/{clientId}/subscriptions': async (request, caller, service) => {
    const clientId = param(request, 'clientId');
    const sub = await service.subscribe(clientId, parseSubscriptionRequest(request.body).planId, caller);
    audit('subscription created', { clientId, planId: sub.plan_id, subscriptionId: sub.subscription_id, status: sub.status }, caller, request);
    return { status: 201, body: sub };
  },
  'POST /plans': async (request, caller, service) => {
    const plan = await service.createPlan(parsePlanRequest(request.body), caller);
    audit('plan created', { planId: plan.plan_id, routes: plan.routes?.length ?? 'all', autoValidate: plan.auto_validate }, caller, request);
    return { status: 201, body: plan };
  },
  'GET /plans/{planId}': async (request, _caller, service) => ({ status: 200, body: await service.getPlan(param(request, 'planId')) }),
  ...transitions('/plans', 'planId', ['publish', 'deprecate', 'close'] as const, (service, id, action, caller) => service.transitionPlan(id, action, caller)),
  'GET /subscriptions/{id}': async (request, _caller, service) => ({ status: 200, body: await service.getSubscription(param(request, 'id')) }),
  ...transitions('/subscriptions', 'id', ['accept', 'reject', 'close'] as const, (service, id, action, caller) => service.transitionSubscription(id, action, caller)),
};

/** Routes that change something: in native mode (no Lambda authorizer) nothing would enforce them. */
export const APPLICATION_WRITES = new Set(APPLICATION_ROUTES.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`));
