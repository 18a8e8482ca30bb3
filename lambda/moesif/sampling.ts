/**
 * Moesif dynamic sampling, applied by the forwarder as Moesif's agents apply it. `GET /v1/config` carries
 * (https://www.moesif.com/docs/api#get-config):
 *
 * - `sample_rate`: the percentage of API calls to send (0–100, default 100);
 * - `user_sample_rate` / `company_sample_rate`: `{ "<id>": rate }` overrides per user and per company;
 * - `regex_config`: `[{ conditions: [{ path, value }], sample_rate }]`, a rate for the calls a group matches
 *   (e.g. `request.route` `/health/.*` at 0).
 *
 * The rate of a call is the first that applies of: the first matching `regex_config` group, the user's rate, the
 * company's rate, `sample_rate` (moesif-rack `app_config.rb`; moesif-nodejs reads the last three in the same
 * order). Conditions read `request.verb`, `request.route`, `request.ip_address` and `response.status`; a group
 * with a condition on anything else does not match (as moesif-rack and Kong read them).
 *
 * A sent call carries `weight` = floor(100 / rate) (an integer, 1 at 100 %), which Moesif multiplies counts by
 * (https://www.moesif.com/docs/api#log-an-api-call). The agents draw a random number per call; we draw it from
 * the transaction_id instead (its first 32 bits, a SHA-1 output), so a retried or redriven batch keeps exactly the
 * same calls, and a higher rate keeps a superset of what a lower one kept.
 */
import { compileRegexConfig, matchRegexConfig, type CompiledRegexConfig, type FactName, type RequestFacts } from './conditions';
import type { MoesifEvent } from './event';

const EVENT_FACTS: ReadonlySet<FactName> = new Set<FactName>(['verb', 'route', 'ip', 'status']);

export interface SamplingPolicy {
  readonly defaultRate: number;
  readonly userRates: ReadonlyMap<string, number>;
  readonly companyRates: ReadonlyMap<string, number>;
  readonly regex: readonly { groups: CompiledRegexConfig; rate: number }[];
}

/** Sends everything: what the forwarder uses when Moesif's config cannot be read. */
export const SEND_EVERYTHING: SamplingPolicy = { defaultRate: 100, userRates: new Map(), companyRates: new Map(), regex: [] };

function rate(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 100 ? value : undefined;
}

function rates(map: unknown): Map<string, number> {
  const out = new Map<string, number>();
  if (typeof map !== 'object' || map === null || Array.isArray(map)) return out;
  for (const [id, value] of Object.entries(map)) {
    const r = rate(value);
    if (r !== undefined) out.set(id, r);
  }
  return out;
}

/** The sampling part of `/v1/config`. Unusable entries are ignored; only a non-object document throws. */
export function parseSamplingPolicy(configJson: unknown): SamplingPolicy {
  if (typeof configJson !== 'object' || configJson === null || Array.isArray(configJson)) throw new Error('/v1/config is not a JSON object.');
  const config = configJson as Record<string, unknown>;
  const regex: { groups: CompiledRegexConfig; rate: number }[] = [];
  if (Array.isArray(config.regex_config)) {
    for (const group of config.regex_config as unknown[]) {
      const r = rate((group as { sample_rate?: unknown })?.sample_rate);
      // One group per entry, so each keeps its own rate.
      if (r !== undefined) regex.push({ groups: compileRegexConfig([group], EVENT_FACTS).groups, rate: r });
    }
  }
  return {
    defaultRate: rate(config.sample_rate) ?? 100,
    userRates: rates(config.user_sample_rate),
    companyRates: rates(config.company_sample_rate),
    regex,
  };
}

function eventFacts(event: MoesifEvent): RequestFacts {
  const { uri } = event.request;
  const slash = uri.indexOf('/', uri.indexOf('://') + 3);
  const query = uri.indexOf('?');
  const route = slash < 0 ? '/' : uri.slice(slash, query < 0 ? undefined : query);
  return { verb: event.request.verb, route, ip: event.request.ip_address, status: event.response?.status };
}

/** The percentage of calls like this one that Moesif wants. */
export function sampleRateFor(policy: SamplingPolicy, event: MoesifEvent): number {
  if (policy.regex.length > 0) {
    const facts = eventFacts(event);
    // An unknown fact (no response, no IP) cannot make a group match.
    const hit = policy.regex.find((r) => matchRegexConfig(r.groups, facts) === true);
    if (hit) return hit.rate;
  }
  const user = event.user_id === undefined ? undefined : policy.userRates.get(event.user_id);
  if (user !== undefined) return user;
  const company = event.company_id === undefined ? undefined : policy.companyRates.get(event.company_id);
  if (company !== undefined) return company;
  return policy.defaultRate;
}

/** A stable number in [0, 100) for a transaction_id: the first 32 bits of the UUID (hashed bits in a v5 UUID). */
export function sampleBucket(transactionId: string): number {
  const high = Number.parseInt(transactionId.slice(0, 8), 16);
  return Number.isNaN(high) ? 0 : (high / 0x1_0000_0000) * 100;
}

/** What Moesif's agents send as `weight`: floor(100 / rate), never below 1. */
export function weightFor(rate: number): number {
  return rate <= 0 ? 1 : Math.max(1, Math.floor(100 / rate));
}

export interface SampledEvents {
  /** The events to send, each with its `weight` set. */
  kept: MoesifEvent[];
  sampledOut: number;
}

/** Keeps the events the policy samples in (bucket < rate) and sets their weight. Mutates the kept events. */
export function applySampling(events: readonly MoesifEvent[], policy: SamplingPolicy): SampledEvents {
  const out: SampledEvents = { kept: [], sampledOut: 0 };
  for (const event of events) {
    const r = sampleRateFor(policy, event);
    if (r >= 100 || sampleBucket(event.transaction_id) < r) {
      event.weight = weightFor(r);
      out.kept.push(event);
    } else {
      out.sampledOut++;
    }
  }
  return out;
}
