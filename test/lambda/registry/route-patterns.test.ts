import { parsePlanRequest } from '../../../lambda/registry/application-requests';
import { requestRouteKey, routeAllowed, routePatternProblem } from '../../../lambda/registry/route-patterns';

describe('routeAllowed', () => {
  it('allows every route when the plan has no restriction, and none with an empty list', () => {
    expect(routeAllowed(undefined, 'DELETE /admin/{id}')).toBe(true);
    expect(routeAllowed(undefined, '$default')).toBe(true);
    expect(routeAllowed([], 'GET /orders')).toBe(false);
  });

  it.each([
    ['GET /orders', 'GET /orders', true],
    ['GET /orders', 'POST /orders', false],
    ['GET /orders', 'GET /orders/{id}', false],
    ['GET /orders/*', 'GET /orders/{id}', true],
    ['GET /orders/*', 'GET /orders/export', true],
    ['GET /orders/*', 'GET /orders', false],
    ['GET /orders/*', 'GET /orders/{id}/items', false],
    ['GET /orders/*', 'GET /orders/{proxy+}', false],
    ['GET /orders/*/items', 'GET /orders/{id}/items', true],
    ['GET /orders/*/items', 'GET /orders/{id}/lines', false],
    ['GET /orders/**', 'GET /orders', true],
    ['GET /orders/**', 'GET /orders/{id}/items/{line}', true],
    ['GET /orders/**', 'GET /orders/{proxy+}', true],
    ['GET /orders/**', 'GET /orderbook', false],
    ['GET /**', 'GET /', true],
    ['GET /', 'GET /', true],
    ['GET /', 'GET /orders', false],
    ['GET /orders/{id}', 'GET /orders/{id}', true],
    ['GET /orders/{id}', 'GET /orders/{orderId}', false],
    ['ANY /orders/*', 'DELETE /orders/{id}', true],
    ['ANY /orders/*', 'ANY /orders/{id}', true],
    ['GET /orders/*', 'ANY /orders/{id}', false],
    ['$default', '$default', true],
    ['ANY /**', '$default', false],
    ['$default', 'GET /orders', false],
    ['GET /Orders', 'GET /orders', false],
  ])('%s against the route key %s: %s', (pattern, routeKey, allowed) => {
    expect(routeAllowed([pattern], routeKey)).toBe(allowed);
  });

  it('allows a route any one pattern allows', () => {
    const patterns = ['GET /orders/*', 'POST /orders'];
    expect(routeAllowed(patterns, 'POST /orders')).toBe(true);
    expect(routeAllowed(patterns, 'GET /orders/{id}')).toBe(true);
    expect(routeAllowed(patterns, 'DELETE /orders/{id}')).toBe(false);
  });

  it('allows nothing for a route key that is not one', () => {
    expect(routeAllowed(['ANY /**'], 'GET')).toBe(false);
    expect(routeAllowed(['ANY /**'], 'GET orders')).toBe(false);
  });
});

describe('route pattern validation', () => {
  it.each(['GET /orders', 'GET /orders/*', 'ANY /orders/**', 'DELETE /orders/{id}', 'GET /files/{proxy+}', 'OPTIONS /', 'GET /**', '$default', 'HEAD /a.b/c-d_e~f'])('accepts %s', (pattern) => {
    expect(routePatternProblem(pattern)).toBeUndefined();
  });

  it.each([
    [7, /must be a string/],
    ['get /orders', /"METHOD \/path"/],
    ['GET  /orders', /"METHOD \/path"/],
    ['GET orders', /"METHOD \/path"/],
    ['FETCH /orders', /unknown method/],
    ['GET /orders/', /empty path segments/],
    ['GET //orders', /empty path segments/],
    ['GET /orders*', /only as a whole segment/],
    ['GET /**/items', /only as the last segment/],
    ['GET /orders?x=1', /characters a route key cannot hold/],
    ['GET /a b', /characters a route key cannot hold/],
    [`GET /${'a'.repeat(300)}`, /at most 256 characters/],
  ])('refuses %j', (pattern, problem) => {
    expect(routePatternProblem(pattern)).toMatch(problem);
  });

  it('POST /plans names the first bad pattern by its index, and refuses an empty list', () => {
    expect(() => parsePlanRequest(JSON.stringify({ name: 'p', routes: ['GET /a', 'GET /b*'] }))).toThrow(expect.objectContaining({ field: 'routes[1]' }));
    expect(() => parsePlanRequest(JSON.stringify({ name: 'p', routes: [] }))).toThrow(expect.objectContaining({ field: 'routes' }));
    expect(() => parsePlanRequest(JSON.stringify({ name: 'p', routes: 'GET /a' }))).toThrow(expect.objectContaining({ field: 'routes' }));
    expect(() => parsePlanRequest(JSON.stringify({ name: 'p', routes: Array.from({ length: 101 }, (_, i) => `GET /r${i}`) }))).toThrow(expect.objectContaining({ field: 'routes' }));
    expect(parsePlanRequest(JSON.stringify({ name: 'p', routes: ['GET /a', 'GET /a'], auto_validate: true }))).toEqual({ name: 'p', routes: ['GET /a'], autoValidate: true });
    expect(() => parsePlanRequest(JSON.stringify({ name: 'p', auto_validate: 'yes' }))).toThrow(expect.objectContaining({ field: 'auto_validate' }));
  });
});

describe('requestRouteKey (APIs whose routes are proxies)', () => {
  it('makes the request a route key the same patterns match', () => {
    expect(requestRouteKey('GET', '/orders/42')).toBe('GET /orders/42');
    expect(requestRouteKey('GET', '/')).toBe('GET /');
    expect(routeAllowed(['GET /orders/*'], requestRouteKey('GET', '/orders/42')!)).toBe(true);
    expect(routeAllowed(['GET /orders/*'], requestRouteKey('GET', '/orders/42/items')!)).toBe(false);
    expect(routeAllowed(['GET /orders/**'], requestRouteKey('GET', '/orders/42/items')!)).toBe(true);
    expect(routeAllowed(['ANY /orders/*'], requestRouteKey('PROPFIND', '/orders/42')!)).toBe(true);
    expect(routeAllowed(['GET /files/*'], requestRouteKey('GET', '/files/my%20doc.txt')!)).toBe(true);
  });

  it.each([
    ['GET', '/orders/../admin'],
    ['GET', '/orders/%2e%2e/admin'],
    ['GET', '/orders/%2E./admin'],
    ['GET', '/orders/./42'],
    ['GET', '/orders//42'],
    ['GET', '/orders/'],
    ['GET', '/orders/a%2Fb'],
    ['GET', '/orders/a%5Cb'],
    ['GET', '/orders/a\\b'],
    ['GET', '/orders/%252e%252e'],
    ['GET', '/orders/%E0%A4%A'],
    ['GET', '/orders/{proxy+}'],
    ['GET', '/orders/a b'],
    ['ANY', '/orders'],
    ['get', '/orders'],
    [undefined, '/orders'],
    ['GET', 'orders'],
    ['GET', undefined],
  ])('refuses %s %s (a backend could read it as another path)', (method, path) => {
    expect(requestRouteKey(method, path)).toBeUndefined();
  });
});
