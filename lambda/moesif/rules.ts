/**
 * The pure core of Moesif governance in the authorizer: the two documents → an index → allow or block.
 * The cached source around it (fetching, version tags, fail modes, staleness) is `governance.ts`.
 *
 * Documents (only the fields read here):
 * - `GET /v1/rules`: `[{ _id, name, type: 'user'|'company'|'regex', block, applied_to: 'matching'|'not_matching',
 *   applied_to_unidentified, regex_config, response: { status, headers, body } }]`;
 * - `GET /v1/config`: `user_rules` / `company_rules` map an entity id to the rules whose cohort it is in:
 *   `{ "user_rules": { "<userId>": [{ "rules": "<ruleId>", "values": {...} }] } }`.
 *
 * Semantics, as moesif-nodejs `governanceRulesManager.js` applies them (and moesif-rack, kong-plugin-moesif):
 * - only `block: true` rules matter (the others only add response headers, which an authorizer cannot do);
 * - a user (company) rule covers an identified user (company) that is in its cohort when `applied_to` is
 *   `matching` (or absent), and one that is not when it is `not_matching`; an unidentified caller (no id, or an
 *   empty one) is covered by the rules with `applied_to_unidentified: true`, whatever their `applied_to`;
 * - a regex rule covers every caller, identified or not;
 * - a covered caller is blocked when the rule's `regex_config` matches the request (`conditions.ts`): a rule
 *   without conditions therefore blocks every request it covers. A regex rule without conditions blocks every
 *   caller: Moesif's agents do the same (the docs: "Rules without any cohorts apply to all users and companies"),
 *   so the source logs such a rule when it loads;
 * - any covering, matching rule blocks; user > company > regex only decides which one is reported (Moesif
 *   applies them in that priority, so the user rule's response wins).
 *
 * What the authorizer cannot see it does not guess:
 * - a rule with a condition on anything but `request.verb`, `request.route`, `request.ip_address` /
 *   `request.ip` and `request.headers.<name>` (a request body field, `response.status`, an unknown path) is
 *   left out of the index and listed in `skipped`: it never blocks;
 * - a condition on a request fact the caller did not pass is unknown: the rule blocks only when another of its
 *   groups matches outright.
 */
import { compileRegexConfig, matchRegexConfig, type CompiledRegexConfig, type FactName, type RequestFacts } from './conditions';

export interface MoesifRegexCondition {
  path?: string;
  value?: string;
}
export interface MoesifRegexGroup {
  conditions?: MoesifRegexCondition[];
}
export interface MoesifRule {
  _id: string;
  name?: string;
  type: 'user' | 'company' | 'regex' | string;
  block?: boolean;
  applied_to?: 'matching' | 'not_matching' | string;
  applied_to_unidentified?: boolean;
  regex_config?: MoesifRegexGroup[];
  response?: { status?: number; headers?: Record<string, string>; body?: unknown };
}
export interface MoesifEntityRuleEntry {
  rules: string;
  values?: Record<string, unknown>;
}
export interface MoesifAppConfig {
  user_rules?: Record<string, MoesifEntityRuleEntry[]>;
  company_rules?: Record<string, MoesifEntityRuleEntry[]>;
}

/** A document Moesif sent that is not the shape above (the cached copy stays in use). */
export class GovernanceDocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GovernanceDocumentError';
  }
}

/** Request facts for `regex_config` conditions. A fact left out is unknown: a condition on it decides nothing. */
export interface GovernanceRequest {
  /** HTTP method, e.g. `event.requestContext.http.method`. */
  verb?: string;
  /** Request path without the query string, e.g. `event.rawPath`. */
  route?: string;
  /** Client IP, e.g. `event.requestContext.http.sourceIp`. */
  ip?: string;
  /** Header names lower-case, as API Gateway HTTP APIs deliver them (`event.headers`). */
  headers?: Record<string, string | undefined>;
}

export interface GovernanceSubject {
  /** The user id sent to Moesif; empty or missing means unidentified. */
  userId?: string;
  /** The company id sent to Moesif; empty or missing means unidentified. */
  companyId?: string;
  request?: GovernanceRequest;
}

/** The request facts an authorizer can see; conditions on anything else make a rule unenforceable. */
export const AUTHORIZER_FACTS: ReadonlySet<FactName> = new Set<FactName>(['verb', 'route', 'ip', 'headers']);

type EntityType = 'user' | 'company';

interface CompiledRule {
  id: string;
  name?: string;
  notMatching: boolean;
  unidentified: boolean;
  groups: CompiledRegexConfig;
  status?: number;
}
interface EntityRules {
  /** Blocking rules of this type, in document order. */
  rules: CompiledRule[];
  /** Entity id → ids of the blocking rules whose cohort it is in (from config). */
  members: Map<string, Set<string>>;
}

/** A blocking rule left out of the index because the authorizer cannot evaluate one of its conditions. */
export interface SkippedRule {
  ruleId: string;
  ruleName?: string;
  unsupportedPaths: string[];
}

/** A blocking rule the index keeps that is worth a log line when it loads. */
export interface NotableRule {
  ruleId: string;
  ruleName?: string;
}

/** Blocking rules ready to evaluate; build with `parseGovernance`. */
export interface GovernanceIndex {
  readonly user: EntityRules;
  readonly company: EntityRules;
  readonly regex: readonly CompiledRule[];
  readonly skipped: readonly SkippedRule[];
  /** Regex rules without conditions: they block every caller. */
  readonly blockEveryone: readonly NotableRule[];
  /** Rules with patterns that do not compile (those conditions never match). */
  readonly invalidPatterns: readonly (NotableRule & { patterns: string[] })[];
  /** Request facts some indexed rule reads; a `check` without them cannot enforce that rule. */
  readonly facts: ReadonlySet<FactName>;
}

export type BlockReason =
  | 'user_in_cohort'
  | 'user_not_in_cohort'
  | 'unidentified_user'
  | 'company_in_cohort'
  | 'company_not_in_cohort'
  | 'unidentified_company'
  | 'regex';

export type GovernanceDecision =
  | { blocked: false }
  | { blocked: true; ruleId: string; ruleName?: string; reason: BlockReason; status?: number };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function indexMembers(map: unknown, ruleIds: Set<string>): Map<string, Set<string>> {
  const members = new Map<string, Set<string>>();
  if (!isObject(map)) return members;
  for (const [entityId, entries] of Object.entries(map)) {
    if (!Array.isArray(entries)) continue;
    const ids = new Set<string>();
    for (const entry of entries) {
      const id = (entry as MoesifEntityRuleEntry | undefined)?.rules;
      // Only cohorts of indexed rules matter; the config also lists the rest.
      if (typeof id === 'string' && ruleIds.has(id)) ids.add(id);
    }
    if (ids.size > 0) members.set(entityId, ids);
  }
  return members;
}

/**
 * Builds the index from the parsed JSON of `/v1/config` and `/v1/rules`. Throws GovernanceDocumentError when a
 * document is not the expected shape; rules without an `_id` are ignored.
 */
export function parseGovernance(configJson: unknown, rulesJson: unknown): GovernanceIndex {
  if (!Array.isArray(rulesJson)) throw new GovernanceDocumentError('/v1/rules is not a JSON array.');
  if (!isObject(configJson)) throw new GovernanceDocumentError('/v1/config is not a JSON object.');
  const byType: Record<EntityType | 'regex', CompiledRule[]> = { user: [], company: [], regex: [] };
  const skipped: SkippedRule[] = [];
  const blockEveryone: NotableRule[] = [];
  const invalidPatterns: (NotableRule & { patterns: string[] })[] = [];
  const facts = new Set<FactName>();
  for (const raw of rulesJson as unknown[]) {
    if (!isObject(raw) || typeof raw._id !== 'string' || raw.block !== true) continue;
    const rule = raw as unknown as MoesifRule;
    if (rule.type !== 'user' && rule.type !== 'company' && rule.type !== 'regex') continue;
    const named: NotableRule = { ruleId: rule._id };
    if (typeof rule.name === 'string') named.ruleName = rule.name;
    const compiled = compileRegexConfig(rule.regex_config, AUTHORIZER_FACTS);
    if (compiled.unsupported.length > 0) {
      skipped.push({ ...named, unsupportedPaths: compiled.unsupported });
      continue;
    }
    if (compiled.invalid.length > 0) invalidPatterns.push({ ...named, patterns: compiled.invalid });
    if (rule.type === 'regex' && matchRegexConfig(compiled.groups, {}) === true) blockEveryone.push(named);
    for (const fact of compiled.facts) facts.add(fact);
    const status = rule.response?.status;
    byType[rule.type].push({
      id: rule._id,
      name: named.ruleName,
      notMatching: rule.applied_to === 'not_matching',
      unidentified: rule.applied_to_unidentified === true,
      groups: compiled.groups,
      status: typeof status === 'number' ? status : undefined,
    });
  }
  const entity = (type: EntityType, map: unknown): EntityRules => ({
    rules: byType[type],
    members: indexMembers(map, new Set(byType[type].map((r) => r.id))),
  });
  return {
    user: entity('user', configJson.user_rules),
    company: entity('company', configJson.company_rules),
    regex: byType.regex,
    skipped,
    blockEveryone,
    invalidPatterns,
    facts,
  };
}

function blockedBy(rule: CompiledRule, reason: BlockReason): GovernanceDecision {
  const decision: GovernanceDecision = { blocked: true, ruleId: rule.id, reason };
  if (rule.name !== undefined) decision.ruleName = rule.name;
  if (rule.status !== undefined) decision.status = rule.status;
  return decision;
}

function decideEntity(rules: EntityRules, type: EntityType, id: string | undefined, facts: RequestFacts): GovernanceDecision | undefined {
  if (!id) {
    const rule = rules.rules.find((r) => r.unidentified && matchRegexConfig(r.groups, facts) === true);
    return rule && blockedBy(rule, `unidentified_${type}`);
  }
  const cohorts = rules.members.get(id);
  for (const rule of rules.rules) {
    const inCohort = cohorts?.has(rule.id) === true;
    if (inCohort === rule.notMatching) continue;
    if (matchRegexConfig(rule.groups, facts) === true) return blockedBy(rule, inCohort ? `${type}_in_cohort` : `${type}_not_in_cohort`);
  }
  return undefined;
}

/** Whether a blocking rule covers this caller and matches this request. Pure. */
export function decide(index: GovernanceIndex, subject: GovernanceSubject): GovernanceDecision {
  const { userId, companyId } = subject;
  const facts: RequestFacts = subject.request ?? {};
  const user = decideEntity(index.user, 'user', userId, facts);
  if (user) return user;
  const company = decideEntity(index.company, 'company', companyId, facts);
  if (company) return company;
  const regex = index.regex.find((rule) => matchRegexConfig(rule.groups, facts) === true);
  return regex ? blockedBy(regex, 'regex') : { blocked: false };
}

/** The facts the index's rules read that this request does not give. */
export function missingFacts(index: GovernanceIndex, request: GovernanceRequest | undefined): FactName[] {
  return [...index.facts].filter((fact) => request?.[fact as keyof GovernanceRequest] === undefined);
}
