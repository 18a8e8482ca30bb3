import { InputError, parseObject, requiredId } from '../jwt/issue';
import { MAX_ROUTES, routePatternProblem } from './route-patterns';
import { MAX_NAME_LENGTH } from './requests';

/** A client id travels as `iss` and `sub` of its tokens and into logs: a safe id, shorter than other ids. */
export const MAX_CLIENT_ID_LENGTH = 128;


/** A path parameter (`clientId`, `kid`, `planId`, `id`): a 400 for what no item can be named, so DynamoDB never sees it. */
export function pathParameter(pathParameters: Record<string, string | undefined> | undefined, name: string): string {
  return requiredId(name, pathParameters?.[name]);
}

export interface ApplicationRequest {
  name: string;
  companyId: string;
  clientId?: string;
}

/** POST /applications `{name, company_id, client_id?}` */
export function parseApplicationRequest(rawBody: string | undefined): ApplicationRequest {
  const body = parseObject(rawBody);
  const request: ApplicationRequest = { name: requiredId('name', body.name, MAX_NAME_LENGTH), companyId: requiredId('company_id', body.company_id) };
  if (body.client_id !== undefined) request.clientId = requiredId('client_id', body.client_id, MAX_CLIENT_ID_LENGTH);
  return request;
}

/**
 * POST /applications/{clientId}/keys `{jwk}` or `{pem}`: only their presence is checked here;
 * publicJwkFromRegistration reads the key (and refuses a private one without repeating it).
 */
export function parseKeyRegistration(rawBody: string | undefined): { jwk?: unknown; pem?: string } {
  const body = parseObject(rawBody);
  const out: { jwk?: unknown; pem?: string } = {};
  if (body.jwk !== undefined) out.jwk = body.jwk;
  if (body.pem !== undefined) out.pem = body.pem as string;
  return out;
}

export interface PlanRequest {
  name: string;
  routes?: string[];
  autoValidate: boolean;
}

/** POST /plans `{name, routes?, auto_validate?}` */
export function parsePlanRequest(rawBody: string | undefined): PlanRequest {
  const body = parseObject(rawBody);
  const request: PlanRequest = { name: requiredId('name', body.name, MAX_NAME_LENGTH), autoValidate: false };
  if (body.auto_validate !== undefined) {
    if (typeof body.auto_validate !== 'boolean') throw new InputError('auto_validate', '"auto_validate" must be true or false.');
    request.autoValidate = body.auto_validate;
  }
  if (body.routes !== undefined && body.routes !== null) {
    const routes = body.routes;
    if (!Array.isArray(routes) || routes.length === 0) {
      throw new InputError('routes', '"routes" must be a non-empty list like ["GET /orders/*"]; leave it out to allow every route.');
    }
    if (routes.length > MAX_ROUTES) throw new InputError('routes', `"routes" may list at most ${MAX_ROUTES} patterns.`);
    routes.forEach((route, i) => {
      const problem = routePatternProblem(route);
      if (problem) throw new InputError(`routes[${i}]`, `"routes[${i}]" ${problem}.`);
    });
    request.routes = [...new Set(routes as string[])];
  }
  return request;
}

/** POST /applications/{clientId}/subscriptions `{plan_id}` */
export function parseSubscriptionRequest(rawBody: string | undefined): { planId: string } {
  return { planId: requiredId('plan_id', parseObject(rawBody).plan_id) };
}
