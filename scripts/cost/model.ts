/**
 * The cost model, pure: monthly dollars per component for a month of `requests` API calls, from public
 * prices (prices.ts) and measured durations and sizes (measured.ts). Everything is normalised to dollars
 * per million API calls by the caller's `perMillion`.
 */
import { rate, type RegionPrices } from './prices';

/** What the bench measured (or its documented defaults). */
export interface Measured {
  /** The authorizer handler, keys cached, one call (ms of one full vCPU). */
  authorizerWarmMs: number;
  /** Module load + first authorized call, above Node's own start-up (ms). */
  authorizerColdMs: number;
  /** The forwarder's decode + map, per access-log line (ms of one full vCPU). */
  forwarderMsPerLine: number;
  /** One access-log line as CloudWatch Logs ingests it (bytes). */
  bytesPerLine: number;
  /** Compressed / raw size of access-log lines (CloudWatch Logs stores compressed bytes). */
  gzipRatio: number;
  /** Request body bytes per event POSTed to Moesif. */
  bytesPerEventSent: number;
}

/** Assumptions that no benchmark here can measure; each is a CLI option. */
export interface Assumptions {
  /** Memory of the authorizer and forwarder functions (ProjectFunction's default). */
  memoryMb: number;
  /** Share of authorizer invocations that are cold starts (AWS: "under 1%" of invocations). */
  coldStartRate: number;
  /** Warm authorizer execution environments on average (each re-reads its keys every key-cache TTL). */
  containers: number;
  /** KEY_CACHE_TTL_SECONDS. */
  keyCacheTtlSeconds: number;
  /** Node.js runtime start-up before the handler module loads, billed with INIT. */
  runtimeInitMs: number;
  /** Access-log lines per CloudWatch Logs delivery to the forwarder. */
  linesPerDelivery: number;
  /** Wall time of one POST of a batch to Moesif, billed as forwarder duration. */
  moesifLatencyMs: number;
  /**
   * Lambda's own log lines per invocation with the JSON log format and system log level INFO: platform.start
   * (~130 B) and platform.report (~230 B) in the documented shapes, rounded up.
   */
  platformLogBytes: number;
  /** Retention of the access log and function log groups. */
  logRetentionDays: number;
  /** Revocation refresh: each warm container reads the registry's change feed every this many seconds (revocationRefreshSeconds)... */
  revocationRefreshSeconds: number;
  /** ...for this many DynamoDB read request units (one eventually consistent Query under 4 KB: 0.5). */
  revocationReadUnits: number;
}

export const DEFAULT_ASSUMPTIONS: Assumptions = {
  memoryMb: 256,
  coldStartRate: 0.01,
  containers: 2,
  keyCacheTtlSeconds: 300,
  runtimeInitMs: 120,
  linesPerDelivery: 100,
  moesifLatencyMs: 150,
  platformLogBytes: 400,
  logRetentionDays: 30,
  revocationRefreshSeconds: 5,
  revocationReadUnits: 0.5,
};

/** A 30-day month. */
export const MONTH_SECONDS = 30 * 86_400;
/** Lambda gives a function one full vCPU at 1,769 MB and CPU in proportion below that. */
export const FULL_VCPU_MB = 1769;
/** AWS bills data in binary gigabytes. */
export const GB = 1024 ** 3;
/** The signing secret and its public copy: both exist in either authorizer mode. */
export const KEY_SECRETS = 2;
/** The forwarder's summary log line per invocation. */
const FORWARDER_SUMMARY_BYTES = 200;

export interface CostLine {
  component: string;
  /** Dollars for the month. */
  monthly: number;
}

export interface CostInputs {
  requests: number;
  prices: RegionPrices;
  measured: Measured;
  assumptions: Assumptions;
}

/** Dollars for `requests` HTTP API requests in a month, tier by tier. */
export function httpApiCost(requests: number, prices: RegionPrices): number {
  let left = requests;
  let from = 0;
  let total = 0;
  for (const { upTo, price } of prices.httpApiTiers) {
    const inTier = Math.min(left, upTo - from);
    total += inTier * rate(price);
    left -= inTier;
    from = upTo;
    if (left <= 0) break;
  }
  return total;
}

/** Billed milliseconds of CPU work measured on one full vCPU, run at `memoryMb` (1 ms granularity). */
export function billedMs(fullVcpuMs: number, memoryMb: number, waitMs = 0): number {
  return Math.max(1, Math.ceil((fullVcpuMs * FULL_VCPU_MB) / memoryMb + waitMs));
}

function gbSeconds(ms: number, memoryMb: number): number {
  return (ms / 1000) * (memoryMb / 1024);
}

/** Ingestion, then storage for the retention period, of `bytes` of log lines a month. */
function logCost(bytes: number, gzipRatio: number, a: Assumptions, prices: RegionPrices): number {
  const gb = bytes / GB;
  return gb * rate(prices.logsIngestionGb) + gb * gzipRatio * (a.logRetentionDays / 30) * rate(prices.logsStorageGbMonth);
}

/** What every deployment pays, whatever the authorizer: the gateway and the key secrets. */
export function baseCost({ requests, prices }: CostInputs): CostLine[] {
  return [
    { component: 'API Gateway HTTP API requests', monthly: httpApiCost(requests, prices) },
    { component: `signing key secrets (${KEY_SECRETS}, storage)`, monthly: KEY_SECRETS * rate(prices.secretMonth) },
  ];
}

/** The Lambda authorizer when API Gateway answers `hitRatio` of the calls from its authorizer cache. */
export function lambdaAuthorizerCost({ requests, prices, measured: m, assumptions: a }: CostInputs, hitRatio: number): CostLine[] {
  const invocations = requests * (1 - hitRatio);
  const cold = invocations * a.coldStartRate;
  // A container exists only where there are invocations.
  const containers = Math.min(a.containers, invocations);
  const gbSecond = rate(prices.lambdaArmGbSecond);
  const warmMs = billedMs(m.authorizerWarmMs, a.memoryMb);
  // INIT is billed since 2025-08-01; the first call's key fetch is billed as invoke time. Measured at full
  // speed: INIT's CPU share is not documented, so it is not scaled by memory.
  const coldMs = Math.ceil(a.runtimeInitMs + m.authorizerColdMs);
  return [
    { component: 'authorizer invocations', monthly: invocations * rate(prices.lambdaRequest) },
    { component: `authorizer duration (${warmMs} ms billed per call)`, monthly: invocations * gbSeconds(warmMs, a.memoryMb) * gbSecond },
    { component: `authorizer cold starts (${coldMs} ms each)`, monthly: cold * gbSeconds(coldMs, a.memoryMb) * gbSecond },
    { component: 'Secrets Manager GetSecretValue (key cache)', monthly: (containers * (MONTH_SECONDS / a.keyCacheTtlSeconds) + cold) * rate(prices.secretsApiCall) },
    { component: 'DynamoDB revocation refresh', monthly: containers * (MONTH_SECONDS / a.revocationRefreshSeconds) * a.revocationReadUnits * rate(prices.dynamoReadUnit) },
    { component: 'authorizer platform log lines', monthly: logCost(invocations * a.platformLogBytes, m.gzipRatio, a, prices) },
  ];
}

/** Access logs into CloudWatch Logs, the forwarder Lambda, and the bytes it sends Moesif. */
export function moesifForwardingCost({ requests, prices, measured: m, assumptions: a }: CostInputs): CostLine[] {
  const deliveries = requests / a.linesPerDelivery;
  const ms = billedMs(a.linesPerDelivery * m.forwarderMsPerLine, a.memoryMb, a.moesifLatencyMs);
  return [
    { component: 'access log ingestion + storage', monthly: logCost(requests * m.bytesPerLine, m.gzipRatio, a, prices) },
    { component: 'forwarder invocations', monthly: deliveries * rate(prices.lambdaRequest) },
    { component: `forwarder duration (${ms} ms per ${a.linesPerDelivery} lines)`, monthly: deliveries * gbSeconds(ms, a.memoryMb) * rate(prices.lambdaArmGbSecond) },
    { component: 'forwarder log lines', monthly: logCost(deliveries * (a.platformLogBytes + FORWARDER_SUMMARY_BYTES), m.gzipRatio, a, prices) },
    { component: 'data transfer out to Moesif', monthly: ((requests * m.bytesPerEventSent) / GB) * rate(prices.dataTransferOutGb) },
    {
      component: 'Moesif application id secret',
      monthly: rate(prices.secretMonth) + Math.min(a.containers, deliveries) * (MONTH_SECONDS / a.keyCacheTtlSeconds) * rate(prices.secretsApiCall),
    },
  ];
}

export const sum = (lines: CostLine[]) => lines.reduce((s, l) => s + l.monthly, 0);
export const perMillion = (monthly: number, requests: number) => monthly / (requests / 1e6);
