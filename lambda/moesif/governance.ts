/**
 * Moesif governance rules ("block this user", "block this company", "block these requests") enforced in the
 * Lambda authorizer: the cached source. What a rule means is the pure core in `rules.ts`.
 *
 * Moesif documents governance as incompatible with its AWS API Gateway integration
 * (https://www.moesif.com/docs/api-governance-rules/creating-governance-rules/): the gateway never asks Moesif.
 * So the authorizer does what Moesif's server agents do (moesif-nodejs `governanceRulesManager.js`,
 * moesif-aws-lambda-nodejs, kong-plugin-moesif): it reads `GET /v1/config` and `GET /v1/rules` with the
 * application id and keeps them at module scope (`document.ts`).
 *
 * Not supported, deliberately: the rule's `response` status/body/headers and merge-tag `values` (an HTTP API
 * Lambda authorizer can only allow or deny, so a blocked caller gets API Gateway's 403; the rule's status is
 * returned for logging) and non-blocking rules (they only add response headers).
 *
 * Freshness, with t0 the last successful load (a 200 or a 304: both say the copy is Moesif's current one):
 * - `refreshMs` (60 s, as moesif-nodejs) after t0 the next `check` revalidates both documents first;
 * - a failed load keeps the copy and is tried again `retryMs` later; until t0 + `maxStaleMs` (10 min) that
 *   copy decides and the verdict says `stale: true`;
 * - from t0 + `maxStaleMs` on the copy is expired and not used: `fail-closed` refuses and `fail-open` allows,
 *   exactly as when nothing was ever loaded (the verdict says `expired: true`), until a load succeeds;
 * - a copy is never used for more than `maxStaleMs` after Moesif last confirmed it.
 *
 * Logged once per version of the rules document (not per request): each blocking rule left out because a
 * condition reads what an authorizer cannot see (rule id and paths), each regex rule without conditions (it
 * blocks every caller), each rule with a pattern that does not compile. Logged once per version too: rule
 * conditions that read request facts the caller did not pass to `check`.
 */
import { EnvError } from '../shared/env';
import { errorFields, log as defaultLog } from '../shared/log';
import { fetchDocument, type MoesifDocument } from './document';
import { decide, missingFacts, parseGovernance, type BlockReason, type GovernanceIndex, type GovernanceSubject } from './rules';

export type { BlockReason, GovernanceRequest, GovernanceSubject } from './rules';

export type FailMode = 'fail-open' | 'fail-closed';
export type GovernanceMode = 'off' | FailMode;

/** Reads `MOESIF_GOVERNANCE`-style settings: unset or empty means off; anything unknown throws. */
export function parseGovernanceMode(raw: string | undefined, name = 'MOESIF_GOVERNANCE'): GovernanceMode {
  if (raw === undefined || raw === '') return 'off';
  if (raw === 'off' || raw === 'fail-open' || raw === 'fail-closed') return raw;
  throw new EnvError(name, `must be off, fail-open or fail-closed, got "${raw}".`);
}

export const DEFAULT_REFRESH_MS = 60_000;
export const DEFAULT_MAX_STALE_MS = 600_000;

/** Reads `GOVERNANCE_MAX_STALE_SECONDS` (whole seconds, at least the 60 s refresh) into `maxStaleMs`; unset means the default. */
export function parseGovernanceMaxStaleMs(raw: string | undefined, name = 'GOVERNANCE_MAX_STALE_SECONDS'): number {
  if (raw === undefined || raw === '') return DEFAULT_MAX_STALE_MS;
  const seconds = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(seconds) || seconds * 1000 < DEFAULT_REFRESH_MS) {
    throw new EnvError(name, `must be whole seconds, at least ${DEFAULT_REFRESH_MS / 1000}, got "${raw}".`);
  }
  return seconds * 1000;
}

export interface GovernanceSourceOptions {
  /** Moesif API base URL. @default 'https://api.moesif.net' */
  baseUrl?: string;
  /** The Moesif application id. Give this or `loadApplicationId`. */
  applicationId?: string;
  /** Fetches the application id (e.g. from Secrets Manager) on first use; retried until it succeeds. */
  loadApplicationId?: () => Promise<string>;
  /** What `check` answers when no usable copy exists (never loaded, or expired). @default 'fail-open' */
  failMode?: FailMode;
  /** Age after which both documents are revalidated. @default 60000 */
  refreshMs?: number;
  /** Longest a copy is used after Moesif last confirmed it; at least `refreshMs`. @default 600000 */
  maxStaleMs?: number;
  /** Wait after a failed load before trying again (bounds the latency a down Moesif adds). @default 5000 */
  retryMs?: number;
  /** Per-request timeout, so a slow Moesif cannot eat the authorizer's budget. @default 1000 */
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
  now?: () => number;
  log?: typeof defaultLog;
}

/**
 * `stale`: the last refresh failed, so an older copy (younger than `maxStaleMs`) decided.
 * `expired`: a copy exists but is older than `maxStaleMs`, so the fail mode decided.
 */
export type GovernanceVerdict =
  | { allow: true; reason: 'not_blocked'; stale: boolean }
  | { allow: true; reason: 'unavailable_fail_open'; expired?: true }
  | { allow: false; reason: 'blocked'; ruleId: string; ruleName?: string; detail: BlockReason; status?: number; stale: boolean }
  | { allow: false; reason: 'unavailable_fail_closed'; expired?: true };

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
  /** Loads that failed (the previous copy, if any, stayed in use until it expired). */
  readonly failures: number;
}

/** A module-scope cache of Moesif's governance documents, shared by every invocation of a warm Lambda. */
export function createGovernanceSource(options: GovernanceSourceOptions): GovernanceSource {
  const {
    baseUrl = 'https://api.moesif.net',
    applicationId,
    loadApplicationId,
    failMode = 'fail-open',
    refreshMs = DEFAULT_REFRESH_MS,
    maxStaleMs = Math.max(DEFAULT_MAX_STALE_MS, refreshMs),
    retryMs = 5_000,
    timeoutMs = 1_000,
    fetch,
    now = Date.now,
    log = defaultLog,
  } = options;
  if (!applicationId && !loadApplicationId) throw new Error('createGovernanceSource needs applicationId or loadApplicationId.');
  if (failMode !== 'fail-open' && failMode !== 'fail-closed') throw new Error(`failMode must be fail-open or fail-closed, got "${String(failMode)}".`);
  if (!(maxStaleMs >= refreshMs)) throw new Error(`maxStaleMs (${maxStaleMs}) must be at least refreshMs (${refreshMs}): a copy would expire before it is revalidated.`);

  let appId = applicationId || undefined;
  let docs: { config: MoesifDocument; rules: MoesifDocument } | undefined;
  let index: GovernanceIndex | undefined;
  let loadedAt = -Infinity;
  let attemptedAt = -Infinity;
  let lastFailed = false;
  let expiryLogged = false;
  let missingLogged = false;
  let inflight: Promise<void> | undefined;
  let fetches = 0;
  let notModified = 0;
  let failures = 0;

  async function get(path: '/v1/config' | '/v1/rules', id: string, cached: MoesifDocument | undefined): Promise<MoesifDocument> {
    fetches++;
    const fetched = await fetchDocument({ baseUrl, path, applicationId: id, cached, timeoutMs, fetch });
    if (fetched.notModified) notModified++;
    return fetched.document;
  }

  /** One line per rule worth knowing about, when a new version of the rules document is in use. */
  function logRules(next: GovernanceIndex): void {
    for (const rule of next.skipped) {
      log('WARN', 'moesif governance rule skipped: a condition reads what the authorizer cannot see', { ...rule, failMode });
    }
    for (const rule of next.blockEveryone) log('WARN', 'moesif governance regex rule without conditions blocks every caller', { ...rule });
    for (const rule of next.invalidPatterns) log('WARN', 'moesif governance rule has patterns that do not compile; those conditions never match', { ...rule });
  }

  async function loadOnce(): Promise<void> {
    attemptedAt = now();
    try {
      if (!appId) {
        const loaded = await loadApplicationId!();
        if (!loaded) throw new Error('The Moesif application id is empty.');
        appId = loaded;
      }
      // allSettled, not all: a request left running after its sibling failed would be frozen with the Lambda
      // and finish (or time out) during some later invocation.
      const settled = await Promise.allSettled([get('/v1/config', appId, docs?.config), get('/v1/rules', appId, docs?.rules)]);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      const [config, rules] = settled.map((r) => (r as PromiseFulfilledResult<MoesifDocument>).value);
      // Both 304: nothing to rebuild. Otherwise parse before committing, so a bad document keeps the old copy.
      const next = index && docs && config === docs.config && rules === docs.rules ? index : parseGovernance(config.json, rules.json);
      if (rules !== docs?.rules) {
        logRules(next);
        missingLogged = false;
      }
      docs = { config, rules };
      index = next;
      loadedAt = now();
      lastFailed = false;
      expiryLogged = false;
    } catch (err) {
      failures++;
      lastFailed = true;
      log('WARN', 'moesif governance refresh failed', { ...errorFields(err), usingStaleCopy: usable(now()), failMode });
      throw err;
    }
  }

  function load(): Promise<void> {
    inflight ??= loadOnce().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  function usable(t: number): boolean {
    return index !== undefined && t - loadedAt < maxStaleMs;
  }

  function due(): boolean {
    const t = now();
    return lastFailed ? t - attemptedAt >= retryMs : t - loadedAt >= refreshMs;
  }

  function unavailable(expired: boolean): GovernanceVerdict {
    const verdict: GovernanceVerdict = failMode === 'fail-open' ? { allow: true, reason: 'unavailable_fail_open' } : { allow: false, reason: 'unavailable_fail_closed' };
    if (expired) {
      verdict.expired = true;
      if (!expiryLogged) {
        expiryLogged = true;
        log('WARN', 'moesif governance rules expired: no successful refresh within maxStaleMs', { maxStaleMs, ageMs: now() - loadedAt, failMode });
      }
    }
    return verdict;
  }

  return {
    async check(subject) {
      try {
        if (inflight || due()) await load().catch(() => undefined);
        if (!index || !usable(now())) return unavailable(index !== undefined);
        if (!missingLogged && index.facts.size > 0) {
          const missing = missingFacts(index, subject.request);
          if (missing.length > 0) {
            missingLogged = true;
            log('WARN', 'moesif governance rules read request facts the caller did not pass; those conditions decide nothing', { missing });
          }
        }
        const decision = decide(index, subject);
        if (!decision.blocked) return { allow: true, reason: 'not_blocked', stale: lastFailed };
        const verdict: GovernanceVerdict = { allow: false, reason: 'blocked', ruleId: decision.ruleId, detail: decision.reason, stale: lastFailed };
        if (decision.ruleName !== undefined) verdict.ruleName = decision.ruleName;
        if (decision.status !== undefined) verdict.status = decision.status;
        return verdict;
      } catch (err) {
        log('ERROR', 'moesif governance check failed', { ...errorFields(err), failMode });
        return unavailable(false);
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
