/**
 * A plan's route restriction: the API Gateway route keys its subscribers may call, as patterns.
 *
 *   GET /orders            exactly that route key
 *   GET /orders/*          one more path segment: matches `GET /orders/{id}` (and `GET /orders/export`)
 *   GET /orders/**         any rest, none included: `GET /orders`, `GET /orders/{id}/items`, `GET /orders/{proxy+}`
 *   ANY /reports/*         every method; a route key `ANY /reports/{id}` is matched only by an ANY pattern
 *   $default               the `$default` route
 *
 * The authorizer sees the route key (`$context.routeKey`), not the path, so matching is on route keys:
 * `*` never matches a greedy `{proxy+}` segment (that route serves deeper paths than one segment), only `**` does.
 */

export const ROUTE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'ANY'] as const;
export const MAX_ROUTES = 100;
export const MAX_ROUTE_LENGTH = 256;

/** Characters of a literal path segment: RFC 3986 pchar (without "%" escapes' meaning) plus API Gateway's `{param}`/`{proxy+}`. */
const SEGMENT = /^[A-Za-z0-9._~!$&'()+,;=:@%{}-]+$/;

/** Why `pattern` is not a route pattern, or undefined when it is one. */
export function routePatternProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string') return 'must be a string like "GET /orders/*"';
  if (pattern === '$default') return undefined;
  if (pattern.length > MAX_ROUTE_LENGTH) return `must have at most ${MAX_ROUTE_LENGTH} characters`;
  const match = /^([A-Z]+) (\/.*)$/.exec(pattern);
  if (!match) return 'must be "METHOD /path" (one space, the path starting with "/") or "$default"';
  if (!(ROUTE_METHODS as readonly string[]).includes(match[1])) return `has an unknown method; use one of ${ROUTE_METHODS.join(', ')}`;
  const path = match[2];
  if (path === '/') return undefined;
  const segments = path.slice(1).split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (segment === '') return 'must not have empty path segments ("//" or a trailing "/")';
    if (segment === '**') {
      if (i !== segments.length - 1) return 'may use "**" only as the last segment';
    } else if (segment !== '*') {
      if (segment.includes('*')) return 'may use "*" only as a whole segment ("/orders/*", not "/orders*")';
      if (!SEGMENT.test(segment)) return 'has a path segment with characters a route key cannot hold';
    }
  }
  return undefined;
}

function split(routeKey: string): { method: string; segments: string[] } | undefined {
  const space = routeKey.indexOf(' ');
  if (space <= 0) return undefined;
  const path = routeKey.slice(space + 1);
  if (!path.startsWith('/')) return undefined;
  return { method: routeKey.slice(0, space), segments: path === '/' ? [] : path.slice(1).split('/') };
}

const greedy = (segment: string) => /^\{[^}]*\+\}$/.test(segment);

function matches(pattern: string, routeKey: string): boolean {
  if (pattern === '$default') return routeKey === '$default';
  const p = split(pattern);
  // `$default` and anything else that is not "METHOD /path" splits to nothing: no path pattern matches it.
  const r = split(routeKey);
  if (!p || !r) return false;
  if (p.method !== 'ANY' && p.method !== r.method) return false;
  for (let i = 0; i < p.segments.length; i++) {
    const want = p.segments[i];
    if (want === '**') return true;
    const got = r.segments[i];
    if (got === undefined) return false;
    if (want === '*' ? greedy(got) : want !== got) return false;
  }
  return p.segments.length === r.segments.length;
}

/**
 * Whether a plan with these route patterns allows the route key API Gateway reports. `undefined` (no
 * restriction) allows every route key (`$default` or `METHOD /path`, nothing else); an empty list allows none. Pure: the authorizer calls it per request.
 */
export function routeAllowed(patterns: readonly string[] | undefined, routeKey: string): boolean {
  // "Every route" is every route key, not what is none: the authorizer asks with '' for a request path it
  // refuses to read (requestRouteKey: `..`, encoded slashes), which a plan without routes must refuse too.
  if (routeKey !== '$default' && !split(routeKey)) return false;
  if (patterns === undefined) return true;
  return patterns.some((pattern) => matches(pattern, routeKey));
}

function unsafeSegment(segment: string): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return true;
  }
  // "%" left after decoding is a double encoding: a backend that decodes again would see something else.
  return decoded === '' || decoded === '.' || decoded === '..' || /[/\\%]/.test(decoded) || /[{}\s]/.test(segment);
}

/**
 * The request itself as a route key (`GET /orders/42`), for APIs whose routes are proxies (`ANY /{proxy+}`,
 * `$default`), where the route key says nothing about the endpoint. Only then must the authorizer cache be
 * keyed by `$context.httpMethod` and `$context.path`. Undefined (refuse) for a path a backend could read as
 * another one: empty, `.` or `..` segments (encoded or not), slashes or backslashes encoded in a segment,
 * double encodings, braces or white space.
 */
export function requestRouteKey(method: string | undefined, path: string | undefined): string | undefined {
  if (!method || !/^[A-Z]+$/.test(method) || method === 'ANY' || !path || !path.startsWith('/')) return undefined;
  if (path === '/') return `${method} /`;
  const segments = path.slice(1).split('/');
  return segments.some(unsafeSegment) ? undefined : `${method} ${path}`;
}

