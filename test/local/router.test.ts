import { matchRoute } from '../../local/api/router';
import type { RouteModel } from '../../local/api/model';

const routes = (...keys: string[]): RouteModel[] => keys.map((routeKey, i) => ({ logicalId: `R${i}`, id: `r${i}`, routeKey, authorizationType: 'NONE', authorizationScopes: [] }));
const pick = (rs: RouteModel[], method: string, path: string) => matchRoute(rs, method, path);

describe('matchRoute (API Gateway route selection)', () => {
  // Less specific routes first, so the order of the list decides nothing.
  const all = routes('$default', 'ANY /{proxy+}', 'ANY /keys/mine', 'GET /keys/{keyId}', 'DELETE /keys/{keyId}', 'GET /keys/mine', 'POST /keys');

  it('prefers a full match, then a path variable, then a greedy variable, then $default', () => {
    expect(pick(all, 'GET', '/keys/mine')?.route.routeKey).toBe('GET /keys/mine');
    expect(pick(all, 'GET', '/keys/k-1')).toMatchObject({ route: { routeKey: 'GET /keys/{keyId}' }, pathParameters: { keyId: 'k-1' } });
    expect(pick(all, 'PUT', '/keys/k-1')).toMatchObject({ route: { routeKey: 'ANY /{proxy+}' }, pathParameters: { proxy: 'keys/k-1' } });
    expect(pick(routes('$default', 'POST /keys'), 'GET', '/keys')?.route.routeKey).toBe('$default');
  });

  it('prefers a named method to ANY on the same path', () => {
    expect(pick(all, 'GET', '/keys/mine')?.route.routeKey).toBe('GET /keys/mine');
    expect(pick(all, 'PATCH', '/keys/mine')?.route.routeKey).toBe('ANY /keys/mine');
  });

  it('fills several path parameters and matches literal segments after them', () => {
    const keyRoutes = routes('$default', 'GET /keys/{keyId}', 'POST /keys/{keyId}/roll', 'POST /applications/{clientId}/keys', 'DELETE /applications/{clientId}/keys/{keyId}', 'POST /applications/{clientId}/keys/{keyId}/roll');
    expect(pick(keyRoutes, 'POST', '/keys/k-1/roll')).toMatchObject({ route: { routeKey: 'POST /keys/{keyId}/roll' }, pathParameters: { keyId: 'k-1' } });
    expect(pick(keyRoutes, 'POST', '/applications/app-1/keys')).toMatchObject({ route: { routeKey: 'POST /applications/{clientId}/keys' }, pathParameters: { clientId: 'app-1' } });
    expect(pick(keyRoutes, 'DELETE', '/applications/app-1/keys/k-2')).toMatchObject({ pathParameters: { clientId: 'app-1', keyId: 'k-2' } });
    expect(pick(keyRoutes, 'POST', '/applications/app-1/keys/k-2/roll')).toMatchObject({ route: { routeKey: 'POST /applications/{clientId}/keys/{keyId}/roll' }, pathParameters: { clientId: 'app-1', keyId: 'k-2' } });
    // A literal after a parameter must match too, and an empty segment fills no parameter.
    expect(pick(keyRoutes, 'POST', '/keys/k-1/rotate')?.route.routeKey).toBe('$default');
    expect(pick(keyRoutes, 'POST', '/keys//roll')?.route.routeKey).toBe('$default');
    expect(pick(keyRoutes, 'GET', '/keys/k-1/roll')?.route.routeKey).toBe('$default');
  });

  it('decodes path parameters; a greedy variable needs at least one segment', () => {
    expect(pick(all, 'DELETE', '/keys/a%20b')?.pathParameters).toEqual({ keyId: 'a b' });
    expect(pick(routes('ANY /{proxy+}'), 'GET', '/')).toBeUndefined();
  });
});
