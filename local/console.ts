import type { HttpApiModel } from './api/model';

/** One line per route: method, path and how it is authorized, in the order API Gateway would prefer them. */
export function routeTable(api: HttpApiModel): string[] {
  const rows = api.routes.map((r) => {
    const [method, path] = r.routeKey === '$default' ? ['ANY', '$default'] : r.routeKey.split(' ');
    const a = r.authorizerId ? api.authorizers.get(r.authorizerId) : undefined;
    let auth = r.authorizationType;
    if (r.authorizationType === 'AWS_IAM') auth += ' (locally: x-admin-token)';
    if (a?.type === 'REQUEST') auth += ` ${a.name}: ${a.identitySource.join(', ') || 'no identity source'}, cache ${a.ttlSeconds} s`;
    if (a?.type === 'JWT') auth += ` ${a.name}: issuer ${a.jwt?.issuer}, audience ${a.jwt?.audience.join(' ')}`;
    if (r.authorizationScopes.length) auth += `, scopes ${r.authorizationScopes.join(' ')}`;
    return [method, path, auth];
  });
  rows.sort((x, y) => (x[1] === '$default' ? 1 : y[1] === '$default' ? -1 : x[1].localeCompare(y[1]) || x[0].localeCompare(y[0])));
  const w0 = Math.max(...rows.map((r) => r[0].length), 0);
  const w1 = Math.max(...rows.map((r) => r[1].length), 0);
  return rows.map(([m, p, a]) => `  ${m.padEnd(w0)}  ${p.padEnd(w1)}  ${a}`);
}
