import type { RouteModel } from './model';

type Segment = { kind: 'literal'; value: string } | { kind: 'param'; name: string } | { kind: 'greedy'; name: string };

export interface ParsedRouteKey {
  method: string;
  path: string;
  segments: Segment[];
}

/** `GET /orders/{id}` → method and path segments; `$default` → undefined. */
export function parseRouteKey(routeKey: string): ParsedRouteKey | undefined {
  if (routeKey === '$default') return undefined;
  const space = routeKey.indexOf(' ');
  const method = routeKey.slice(0, space).toUpperCase();
  const path = routeKey.slice(space + 1);
  const segments = path
    .split('/')
    .slice(1)
    .map((s): Segment => {
      const m = /^\{([^}+]+)(\+)?\}$/.exec(s);
      if (!m) return { kind: 'literal', value: s };
      return m[2] ? { kind: 'greedy', name: m[1] } : { kind: 'param', name: m[1] };
    });
  return { method, path, segments };
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Path parameters when `path` matches the route's segments; undefined otherwise. */
function matchPath(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (seg.kind === 'greedy') {
      const rest = parts.slice(i);
      // A greedy variable matches one or more segments, never none.
      if (rest.length === 0 || rest.join('/') === '') return undefined;
      params[seg.name] = decode(rest.join('/'));
      return params;
    }
    if (i >= parts.length) return undefined;
    if (seg.kind === 'literal' && seg.value !== parts[i]) return undefined;
    if (seg.kind === 'param') {
      if (parts[i] === '') return undefined;
      params[seg.name] = decode(parts[i]);
    }
  }
  return segments.length === parts.length ? params : undefined;
}

/** Literal beats variable beats greedy, segment by segment; then a named method beats ANY. */
function specificity(parsed: ParsedRouteKey): number[] {
  return [...parsed.segments.map((s) => (s.kind === 'literal' ? 3 : s.kind === 'param' ? 2 : 1)), 0, parsed.method === 'ANY' ? 0 : 1];
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (b[i] ?? -1) - (a[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The route API Gateway picks for a request: the most specific match (full match, then path
 * variables, then greedy `{proxy+}`; a named method before ANY), else `$default`.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html#http-api-develop-routes.evaluation
 */
export function matchRoute(routes: RouteModel[], method: string, path: string): { route: RouteModel; pathParameters: Record<string, string> } | undefined {
  const parts = path.split('/').slice(1);
  const candidates: { route: RouteModel; params: Record<string, string>; rank: number[] }[] = [];
  for (const route of routes) {
    const parsed = parseRouteKey(route.routeKey);
    if (!parsed || (parsed.method !== 'ANY' && parsed.method !== method.toUpperCase())) continue;
    const params = matchPath(parsed.segments, parts);
    if (params) candidates.push({ route, params, rank: specificity(parsed) });
  }
  candidates.sort((a, b) => compare(a.rank, b.rank));
  if (candidates[0]) return { route: candidates[0].route, pathParameters: candidates[0].params };
  const fallback = routes.find((r) => r.routeKey === '$default');
  return fallback ? { route: fallback, pathParameters: {} } : undefined;
}
