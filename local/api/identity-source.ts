/** The parts of a request identity-source expressions read. */
export interface IdentityFacts {
  /** Lower-cased header names; repeated headers joined with commas. */
  headers: Record<string, string>;
  query: Record<string, string>;
  stageVariables: Record<string, string>;
  context: (name: string) => string | undefined;
}

/** One identity-source expression (`$request.header.Authorization`, `$request.querystring.k`, `$context.routeKey`, `$stageVariables.v`). */
export function identityValue(expression: string, facts: IdentityFacts): string | undefined {
  const e = expression.trim();
  if (e.startsWith('$request.header.')) return facts.headers[e.slice('$request.header.'.length).toLowerCase()];
  if (e.startsWith('$request.querystring.')) return facts.query[e.slice('$request.querystring.'.length)];
  if (e.startsWith('$stageVariables.')) return facts.stageVariables[e.slice('$stageVariables.'.length)];
  if (e.startsWith('$context.')) return facts.context(e.slice('$context.'.length));
  return undefined;
}

/**
 * Every identity source's value, or undefined when one is missing or empty: API Gateway then answers
 * 401 without calling the authorizer.
 */
export function identityValues(expressions: string[], facts: IdentityFacts): string[] | undefined {
  const values = expressions.map((e) => identityValue(e, facts));
  return values.every((v): v is string => v !== undefined && v !== '') ? values : undefined;
}
