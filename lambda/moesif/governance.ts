/**
 * Moesif governance rules ("block this user", "block this company") enforced in the Lambda authorizer.
 *
 * Moesif documents governance as incompatible with its AWS API Gateway integration
 * (https://www.moesif.com/docs/api-governance-rules/creating-governance-rules/): the gateway never asks
 * Moesif. So the authorizer does what Moesif's server SDKs do (moesif-nodejs `governanceRulesManager.js`,
 * moesif-aws-lambda-nodejs, kong-plugin-moesif, moesif-litellm): it reads two documents with the
 * `X-Moesif-Application-Id` header and keeps them at module scope.
 *
 * - `GET /v1/rules`: an array of rules, `{ _id, name, type: 'user'|'company'|'regex', block, applied_to:
 *   'matching'|'not_matching', applied_to_unidentified, regex_config: [{ conditions: [{ path, value }] }],
 *   response: { status, headers, body } }`. Its version tag comes in `X-Moesif-Rules-Tag`.
 * - `GET /v1/config`: the app config; `user_rules` / `company_rules` map an entity id to the rules whose
 *   cohort it belongs to: `{ "user_rules": { "<userId>": [{ "rules": "<ruleId>", "values": {...} }] } }`.
 *   Its version tag comes in `X-Moesif-Config-ETag`.
 *
 * Supported (the part that decides allow/deny):
 * - user and company rules with `block: true`: `applied_to: 'matching'` blocks members of the rule's
 *   cohort (as listed in config), `'not_matching'` blocks everyone else;
 * - `applied_to_unidentified` rules when the token carries no user id / company id;
 * - regex rules (`type: 'regex'`), which apply to every caller; with no `regex_config` they block everyone;
 * - `regex_config` on any rule (OR of groups, AND of conditions, JavaScript `RegExp`, as moesif-nodejs)
 *   over `request.verb`, `request.route`, `request.ip_address` (or `request.ip`) and `request.headers.<name>`,
 *   when the caller passes those request facts;
 * - priority user > company > regex only chooses which rule is reported; any applicable blocking rule blocks.
 *
 * Not supported, deliberately:
 * - conditions on anything else (`request.body.*`, `response.*`, ...) or on a fact the caller did not pass:
 *   the authorizer has no request body and runs before the response exists, so such a condition counts as
 *   not matching and the rule does not block (one unenforceable rule must not lock everyone out);
 * - non-blocking rules (they only add response headers, which an authorizer cannot do);
 * - the rule's `response` status/body/headers and merge-tag `values`: an HTTP API Lambda authorizer can only
 *   allow or deny, so a blocked caller gets API Gateway's 403 `{"message":"Forbidden"}`. The rule's status is
 *   returned for logging;
 * - sampling (`sample_rate`, `user_sample_rate`, ...) from the same config document: not governance.
 *
 * Refresh: both documents are refetched when older than `refreshMs` (60 s, as moesif-nodejs), sending the
 * last tag as `If-None-Match`; a 304 keeps the cached copy. moesif-litellm does the same; the other SDKs
 * compare the tag after a full GET, which also works here (a 200 just replaces the copy).
 */
import { EnvError } from '../shared/env';
import { errorFields, log as defaultLog } from '../shared/log';

// ---------------------------------------------------------------------------------------------------------
// The Moesif documents (only the fields we read).

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

/** Moesif could not be read: network, timeout, non-200 answer, wrong application id. */
export class GovernanceUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GovernanceUnavailableError';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Pure core: documents → index → decision.

type EntityType = 'user' | 'company';

interface CompiledCondition {
  path: string;
  /** undefined when Moesif sent a pattern JavaScript cannot compile: the condition never matches. */
  regex?: RegExp;
}
interface CompiledRule {
  id: string;
  name?: string;
  notMatching: boolean;
  unidentified: boolean;
  /** undefined: no regex_config, the rule applies to every request. */
  groups?: CompiledCondition[][];
  status?: number;
}
interface EntityRules {
  /** Blocking rules of this type, in document order. */
  rules: CompiledRule[];
  /** Entity id → ids of the blocking rules whose cohort it is in (from config). */
  members: Map<string, Set<string>>;
}

/** Blocking rules ready to evaluate; build with `parseGovernance`. */
export interface GovernanceIndex {
  readonly user: EntityRules;
  readonly company: EntityRules;
  readonly regex: readonly CompiledRule[];
}

/** Request facts for `regex_config` conditions. Omit it and rules with conditions never block. */
export interface GovernanceRequest {
  /** HTTP method, e.g. `event.requestContext.http.method`. */
  verb?: string;
  /** Request path, e.g. `event.rawPath`. */
  route?: string;
  /** Client IP, e.g. `event.requestContext.http.sourceIp`. */
  ip?: string;
  /** Header names lower-case, as API Gateway HTTP APIs deliver them. */
  headers?: Record<string, string | undefined>;
}

export interface GovernanceSubject {
  /** The user id sent to Moesif; empty or missing means unidentified. */
  userId?: string;
  /** The company id sent to Moesif; empty or missing means unidentified. */
  companyId?: string;
  request?: GovernanceRequest;
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

function compileRule(rule: MoesifRule): CompiledRule {
  const groups = Array.isArray(rule.regex_config) && rule.regex_config.length > 0
    ? rule.regex_config.map((group) =>
        (Array.isArray(group?.conditions) ? group.conditions : []).map((c): CompiledCondition => {
          let regex: RegExp | undefined;
          try {
            regex = new RegExp(String(c?.value ?? ''));
          } catch {
            regex = undefined;
          }
          return { path: String(c?.path ?? ''), regex };
        }),
      )
    : undefined;
  const status = rule.response?.status;
  return {
    id: rule._id,
    name: typeof rule.name === 'string' ? rule.name : undefined,
    notMatching: rule.applied_to === 'not_matching',
    unidentified: rule.applied_to_unidentified === true,
    groups,
    status: typeof status === 'number' ? status : undefined,
  };
}

function indexMembers(map: unknown, ruleIds: Set<string>): Map<string, Set<string>> {
  const members = new Map<string, Set<string>>();
  if (!isObject(map)) return members;
  for (const [entityId, entries] of Object.entries(map)) {
    if (!Array.isArray(entries)) continue;
    const ids = new Set<string>();
    for (const entry of entries) {
      const id = (entry as MoesifEntityRuleEntry | undefined)?.rules;
      // Only cohorts of blocking rules matter; the config also lists the rest (and sampling data).
      if (typeof id === 'string' && ruleIds.has(id)) ids.add(id);
    }
    if (ids.size > 0) members.set(entityId, ids);
  }
  return members;
}

/**
 * Builds the index from the parsed JSON of `/v1/config` and `/v1/rules`. Throws GovernanceDocumentError when
 * a document is not the expected shape; individual rules without an `_id` or `type` are skipped.
 */
export function parseGovernance(configJson: unknown, rulesJson: unknown): GovernanceIndex {
  if (!Array.isArray(rulesJson)) throw new GovernanceDocumentError('/v1/rules is not a JSON array.');
  if (!isObject(configJson)) throw new GovernanceDocumentError('/v1/config is not a JSON object.');
  const byType: Record<EntityType | 'regex', CompiledRule[]> = { user: [], company: [], regex: [] };
  for (const raw of rulesJson as unknown[]) {
    if (!isObject(raw) || typeof raw._id !== 'string' || raw.block !== true) continue;
    const type = raw.type;
    if (type === 'user' || type === 'company' || type === 'regex') byType[type].push(compileRule(raw as unknown as MoesifRule));
  }
  const entity = (type: EntityType, map: unknown): EntityRules => ({
    rules: byType[type],
    members: indexMembers(map, new Set(byType[type].map((r) => r.id))),
  });
  return {
    user: entity('user', configJson.user_rules),
    company: entity('company', configJson.company_rules),
    regex: byType.regex,
  };
}

function fieldValue(path: string, request: GovernanceRequest | undefined): string | undefined {
  if (!request) return undefined;
  if (path === 'request.verb') return request.verb;
  if (path === 'request.route') return request.route;
  if (path === 'request.ip_address' || path === 'request.ip') return request.ip;
  if (path.startsWith('request.headers.') && request.headers) {
    const name = path.slice('request.headers.'.length);
    return request.headers[name.toLowerCase()] ?? request.headers[name];
  }
  return undefined;
}

/** OR over groups, AND within a group; a condition whose fact is unknown does not match. */
function regexMatches(rule: CompiledRule, request: GovernanceRequest | undefined): boolean {
  if (!rule.groups) return true;
  return rule.groups.some((conditions) =>
    conditions.every((c) => {
      const value = fieldValue(c.path, request);
      return value !== undefined && c.regex !== undefined && c.regex.test(value);
    }),
  );
}

function blockedBy(rule: CompiledRule, reason: BlockReason): GovernanceDecision {
  const decision: GovernanceDecision = { blocked: true, ruleId: rule.id, reason };
  if (rule.name !== undefined) decision.ruleName = rule.name;
  if (rule.status !== undefined) decision.status = rule.status;
  return decision;
}

function decideEntity(rules: EntityRules, type: EntityType, id: string | undefined, request: GovernanceRequest | undefined): GovernanceDecision | undefined {
  if (!id) {
    const rule = rules.rules.find((r) => r.unidentified && regexMatches(r, request));
    return rule && blockedBy(rule, `unidentified_${type}`);
  }
  const cohorts = rules.members.get(id);
  for (const rule of rules.rules) {
    const inCohort = cohorts?.has(rule.id) === true;
    if (inCohort === rule.notMatching) continue;
    if (regexMatches(rule, request)) return blockedBy(rule, inCohort ? `${type}_in_cohort` : `${type}_not_in_cohort`);
  }
  return undefined;
}

/** Whether a blocking rule covers this caller. Pure; user rules are reported before company and regex rules. */
export function decide(index: GovernanceIndex, subject: GovernanceSubject): GovernanceDecision {
  const { userId, companyId, request } = subject;
  const user = decideEntity(index.user, 'user', userId, request);
  if (user) return user;
  const company = decideEntity(index.company, 'company', companyId, request);
  if (company) return company;
  const regex = index.regex.find((rule) => regexMatches(rule, request));
  return regex ? blockedBy(regex, 'regex') : { blocked: false };
}

// ---------------------------------------------------------------------------------------------------------
// The cached source the authorizer calls.

export type FailMode = 'fail-open' | 'fail-closed';
export type GovernanceMode = 'off' | FailMode;

/** Reads `MOESIF_GOVERNANCE`-style settings: unset or empty means off; anything unknown throws. */
export function parseGovernanceMode(raw: string | undefined, name = 'MOESIF_GOVERNANCE'): GovernanceMode {
  if (raw === undefined || raw === '') return 'off';
  if (raw === 'off' || raw === 'fail-open' || raw === 'fail-closed') return raw;
  throw new EnvError(name, `must be off, fail-open or fail-closed, got "${raw}".`);
}

export interface GovernanceSourceOptions {
  /** Moesif API base URL. @default 'https://api.moesif.net' */
  baseUrl?: string;
  /** The Moesif application id. Give this or `loadApplicationId`. */
  applicationId?: string;
  /** Fetches the application id (e.g. from Secrets Manager) on first use; retried until it succeeds. */
  loadApplicationId?: () => Promise<string>;
  /** What `check` answers while nothing has ever been loaded. @default 'fail-open' */
  failMode?: FailMode;
  /** Age after which both documents are revalidated. @default 60000 */
  refreshMs?: number;
  /** Wait after a failed load before trying again (bounds the latency a down Moesif adds). @default 5000 */
  retryMs?: number;
  /** Per-request timeout, so a slow Moesif cannot eat the authorizer's budget. @default 1000 */
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
  now?: () => number;
  log?: typeof defaultLog;
}

/** `stale`: the last refresh failed, so an older copy decided. */
export type GovernanceVerdict =
  | { allow: true; reason: 'not_blocked'; stale: boolean }
  | { allow: true; reason: 'unavailable_fail_open' }
  | { allow: false; reason: 'blocked'; ruleId: string; ruleName?: string; detail: BlockReason; status?: number; stale: boolean }
  | { allow: false; reason: 'unavailable_fail_closed' };

export interface GovernanceSource {
  /**
   * Never throws. Revalidates first when the copy is due: the two GETs run in parallel, each cut at `timeoutMs`
   * (plus the application id loader on first use), and concurrent calls share one load.
   */
  check(subject: GovernanceSubject): Promise<GovernanceVerdict>;
  /** Loads or revalidates now (joins a load in flight); true when a copy is loaded afterwards and fresh. */
  refresh(): Promise<boolean>;
  /** HTTP requests sent to Moesif (both documents count). */
  readonly fetches: number;
  /** Of those, answered 304 Not Modified. */
  readonly notModified: number;
  /** Loads that failed (the previous copy, if any, stayed in use). */
  readonly failures: number;
}

interface CachedDocument {
  tag?: string;
  json: unknown;
}

const CONFIG = { path: '/v1/config', tagHeader: 'x-moesif-config-etag' } as const;
const RULES = { path: '/v1/rules', tagHeader: 'x-moesif-rules-tag' } as const;

/** A module-scope cache of Moesif's governance documents, shared by every invocation of a warm Lambda. */
export function createGovernanceSource(options: GovernanceSourceOptions): GovernanceSource {
  const {
    baseUrl = 'https://api.moesif.net',
    applicationId,
    loadApplicationId,
    failMode = 'fail-open',
    refreshMs = 60_000,
    retryMs = 5_000,
    timeoutMs = 1_000,
    fetch: fetchFn = globalThis.fetch,
    now = Date.now,
    log = defaultLog,
  } = options;
  if (!applicationId && !loadApplicationId) throw new Error('createGovernanceSource needs applicationId or loadApplicationId.');
  if (failMode !== 'fail-open' && failMode !== 'fail-closed') throw new Error(`failMode must be fail-open or fail-closed, got "${String(failMode)}".`);
  const base = baseUrl.replace(/\/+$/, '');

  let appId = applicationId || undefined;
  let docs: { config: CachedDocument; rules: CachedDocument } | undefined;
  let index: GovernanceIndex | undefined;
  let loadedAt = -Infinity;
  let attemptedAt = -Infinity;
  let lastFailed = false;
  let inflight: Promise<void> | undefined;
  let fetches = 0;
  let notModified = 0;
  let failures = 0;

  async function fetchDocument(doc: typeof CONFIG | typeof RULES, id: string, cached: CachedDocument | undefined): Promise<CachedDocument> {
    fetches++;
    const headers: Record<string, string> = { 'X-Moesif-Application-Id': id, Accept: 'application/json' };
    if (cached?.tag) headers['If-None-Match'] = cached.tag;
    let res: Response;
    try {
      res = await fetchFn(base + doc.path, { headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new GovernanceUnavailableError(`GET ${doc.path} failed: ${(err as Error)?.name ?? 'Error'}`, { cause: err });
    }
    if (res.status === 304 && cached) {
      notModified++;
      await res.body?.cancel();
      return cached;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new GovernanceUnavailableError(`GET ${doc.path} answered ${res.status}.`);
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch (err) {
      throw new GovernanceUnavailableError(`GET ${doc.path} did not return JSON in time.`, { cause: err });
    }
    // Moesif names its version tags; a plain ETag is accepted too.
    return { tag: res.headers.get(doc.tagHeader) ?? res.headers.get('etag') ?? undefined, json };
  }

  async function loadOnce(): Promise<void> {
    attemptedAt = now();
    try {
      if (!appId) {
        const loaded = await loadApplicationId!();
        if (!loaded) throw new GovernanceUnavailableError('The Moesif application id is empty.');
        appId = loaded;
      }
      // allSettled, not all: a request left running after its sibling failed would be frozen with the Lambda
      // and finish (or time out) during some later invocation.
      const settled = await Promise.allSettled([fetchDocument(CONFIG, appId, docs?.config), fetchDocument(RULES, appId, docs?.rules)]);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      const [config, rules] = settled.map((r) => (r as PromiseFulfilledResult<CachedDocument>).value);
      // Both 304: nothing to rebuild. Otherwise parse before committing, so a bad document keeps the old copy.
      const next = index && docs && config === docs.config && rules === docs.rules ? index : parseGovernance(config.json, rules.json);
      docs = { config, rules };
      index = next;
      loadedAt = now();
      lastFailed = false;
    } catch (err) {
      failures++;
      lastFailed = true;
      log('WARN', 'moesif governance refresh failed', { ...errorFields(err), usingStaleCopy: index !== undefined, failMode });
      throw err;
    }
  }

  function load(): Promise<void> {
    inflight ??= loadOnce().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  function due(): boolean {
    const t = now();
    return lastFailed ? t - attemptedAt >= retryMs : t - loadedAt >= refreshMs;
  }

  function unavailable(): GovernanceVerdict {
    return failMode === 'fail-open' ? { allow: true, reason: 'unavailable_fail_open' } : { allow: false, reason: 'unavailable_fail_closed' };
  }

  return {
    async check(subject) {
      try {
        if (inflight || due()) await load().catch(() => undefined);
        if (!index) return unavailable();
        const decision = decide(index, subject);
        if (!decision.blocked) return { allow: true, reason: 'not_blocked', stale: lastFailed };
        const verdict: GovernanceVerdict = { allow: false, reason: 'blocked', ruleId: decision.ruleId, detail: decision.reason, stale: lastFailed };
        if (decision.ruleName !== undefined) verdict.ruleName = decision.ruleName;
        if (decision.status !== undefined) verdict.status = decision.status;
        return verdict;
      } catch (err) {
        log('ERROR', 'moesif governance check failed', { ...errorFields(err), failMode });
        return unavailable();
      }
    },
    async refresh() {
      try {
        await load();
        return true;
      } catch {
        return false;
      }
    },
    get fetches() {
      return fetches;
    },
    get notModified() {
      return notModified;
    },
    get failures() {
      return failures;
    },
  };
}
