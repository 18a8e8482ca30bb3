/**
 * Moesif's `regex_config`: the request conditions of a governance rule (in `/v1/rules`) and of a dynamic
 * sampling rule (in `/v1/config`), matched as Moesif's agents match them (moesif-nodejs
 * `governanceRulesManager.js` `doesRegexConfigMatch`, moesif-rack `regex_config_helper.rb`, kong-plugin-moesif
 * `regex_config_helpers.lua`):
 *
 * - `regex_config` is `[{ conditions: [{ path, value }] }]`: OR over the groups, AND within a group;
 * - `value` is a regular expression tested unanchored against the field `path` names (JavaScript `RegExp`, no
 *   flags, as moesif-nodejs); a pattern that does not compile never matches;
 * - a missing or empty `regex_config` matches every request, and so does a group without conditions.
 *
 * Paths: `request.verb`, `request.route` (the path without the query string, as moesif-rack and Kong build it),
 * `request.ip_address` (moesif-nodejs says `request.ip`: both are read), `request.headers.<name>` and
 * `response.status`. Each caller says which it can see; `compileRegexConfig` reports the rest as unsupported.
 *
 * Matching is three-valued: a condition on a fact the caller did not pass is unknown (not false), a group is
 * false as soon as one of its conditions is false, and the whole is true as soon as one group is true.
 */

export type FactName = 'verb' | 'route' | 'ip' | 'headers' | 'status';

/** What is known about one request. `undefined` = not known; a header that is not in `headers` is known to be absent. */
export interface RequestFacts {
  verb?: string;
  route?: string;
  ip?: string;
  /** Names lower-case, as API Gateway HTTP APIs deliver them. */
  headers?: Readonly<Record<string, string | undefined>>;
  status?: number;
}

type FactRef = { fact: Exclude<FactName, 'headers'> } | { fact: 'headers'; name: string };

interface CompiledCondition {
  /** undefined for a path the caller cannot see: the condition is false (Moesif's sampling reads it so). */
  ref?: FactRef;
  /** undefined when the pattern does not compile: the condition is false. */
  regex?: RegExp;
}

/** OR of ANDs; `undefined` means no conditions at all (every request matches). */
export type CompiledRegexConfig = readonly (readonly CompiledCondition[])[] | undefined;

export interface CompileResult {
  groups: CompiledRegexConfig;
  /** Paths this caller cannot evaluate, in document order, without repeats. */
  unsupported: string[];
  /** Patterns that do not compile (their condition never matches). */
  invalid: string[];
  /** The facts the conditions read. */
  facts: Set<FactName>;
}

const HEADER_PREFIX = 'request.headers.';

function resolvePath(path: string): FactRef | undefined {
  switch (path) {
    case 'request.verb':
      return { fact: 'verb' };
    case 'request.route':
      return { fact: 'route' };
    case 'request.ip_address':
    case 'request.ip':
      return { fact: 'ip' };
    case 'response.status':
      return { fact: 'status' };
  }
  if (path.startsWith(HEADER_PREFIX) && path.length > HEADER_PREFIX.length) return { fact: 'headers', name: path.slice(HEADER_PREFIX.length).toLowerCase() };
  return undefined;
}

/** Compiles `regex_config` for a caller that can see `supported` facts. Never throws. */
export function compileRegexConfig(regexConfig: unknown, supported: ReadonlySet<FactName>): CompileResult {
  const result: CompileResult = { groups: undefined, unsupported: [], invalid: [], facts: new Set() };
  if (!Array.isArray(regexConfig) || regexConfig.length === 0) return result;
  result.groups = regexConfig.map((group: unknown) => {
    const conditions = (group as { conditions?: unknown })?.conditions;
    return (Array.isArray(conditions) ? conditions : []).map((raw: unknown): CompiledCondition => {
      const { path, value } = (raw ?? {}) as { path?: unknown; value?: unknown };
      const pathText = String(path ?? '');
      const ref = resolvePath(pathText);
      if (!ref || !supported.has(ref.fact)) {
        if (!result.unsupported.includes(pathText)) result.unsupported.push(pathText);
        return {};
      }
      result.facts.add(ref.fact);
      try {
        return { ref, regex: new RegExp(String(value ?? '')) };
      } catch {
        result.invalid.push(String(value));
        return { ref };
      }
    });
  });
  return result;
}

function factValue(ref: FactRef, facts: RequestFacts): string | null | undefined {
  if (ref.fact === 'headers') {
    if (!facts.headers) return undefined;
    return facts.headers[ref.name] ?? null;
  }
  const value = facts[ref.fact];
  return value === undefined ? undefined : String(value);
}

/** true / false, or undefined when the answer depends on a fact that is not known. */
export function matchRegexConfig(groups: CompiledRegexConfig, facts: RequestFacts): boolean | undefined {
  if (!groups) return true;
  let unknown = false;
  for (const conditions of groups) {
    let group: boolean | undefined = true;
    for (const { ref, regex } of conditions) {
      if (!ref) {
        group = false;
        break;
      }
      const value = factValue(ref, facts);
      if (value === undefined) {
        group = undefined;
        continue;
      }
      if (value === null || !regex || !regex.test(value)) {
        group = false;
        break;
      }
    }
    if (group === true) return true;
    if (group === undefined) unknown = true;
  }
  return unknown ? undefined : false;
}
