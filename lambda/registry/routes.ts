/**
 * Every route of the key-admin function, all IAM-authorized: the CDK construct (lib/constructs/key-admin.ts)
 * creates exactly these, and the handler dispatches on `event.routeKey` = `${method} ${path}` (a test holds
 * the two equal). No imports: the CDK side loads this at synth, where no AWS SDK is installed.
 */
export const KEY_ROUTES = [
  { method: 'POST', path: '/keys' },
  { method: 'GET', path: '/keys' },
  { method: 'GET', path: '/keys/{keyId}' },
  { method: 'DELETE', path: '/keys/{keyId}' },
  { method: 'POST', path: '/keys/{keyId}/roll' },
  { method: 'POST', path: '/revocations' },
] as const;

/** Client applications, their keys, plans and subscriptions (lambda/registry/application-routes.ts). */
export const APPLICATION_ROUTES = [
  { method: 'POST', path: '/applications' },
  { method: 'GET', path: '/applications/{clientId}' },
  { method: 'POST', path: '/applications/{clientId}/keys' },
  { method: 'DELETE', path: '/applications/{clientId}/keys/{kid}' },
  { method: 'POST', path: '/applications/{clientId}/suspend' },
  { method: 'POST', path: '/applications/{clientId}/resume' },
  { method: 'POST', path: '/applications/{clientId}/subscriptions' },
  { method: 'POST', path: '/plans' },
  { method: 'GET', path: '/plans/{planId}' },
  { method: 'POST', path: '/plans/{planId}/publish' },
  { method: 'POST', path: '/plans/{planId}/deprecate' },
  { method: 'POST', path: '/plans/{planId}/close' },
  { method: 'GET', path: '/subscriptions/{id}' },
  { method: 'POST', path: '/subscriptions/{id}/accept' },
  { method: 'POST', path: '/subscriptions/{id}/reject' },
  { method: 'POST', path: '/subscriptions/{id}/close' },
] as const;

export const ADMIN_ROUTES = [...KEY_ROUTES, ...APPLICATION_ROUTES];
