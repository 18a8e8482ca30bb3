import { errorFields, log as defaultLog } from '../shared/log';
import { fetchDocument, type MoesifDocument } from './document';
import { parseSamplingPolicy, SEND_EVERYTHING, type SamplingPolicy } from './sampling';

export interface SamplingSourceOptions {
  /** e.g. https://api.moesif.net (no trailing /v1). */
  baseUrl: string;
  /** How long a fetched config is used before it is revalidated. @default 300000 (moesif-nodejs's config manager waits 5 minutes too) */
  ttlMs?: number;
  /** After a failed fetch, how long everything is sent before the config is asked for again. @default 30000 */
  retryMs?: number;
  /** @default 2000 */
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
  now?: () => number;
  log?: typeof defaultLog;
}

export interface SamplingSnapshot {
  policy: SamplingPolicy;
  /** `config`: Moesif's config decides; `unavailable`: it could not be read, so everything is sent. */
  source: 'config' | 'unavailable';
}

export interface SamplingSource {
  /** Never throws: when the config cannot be read it answers SEND_EVERYTHING, so sampling never loses data. */
  get(applicationId: string): Promise<SamplingSnapshot>;
  /** HTTP requests for /v1/config. */
  readonly fetches: number;
  /** Of those, answered 304 Not Modified. */
  readonly notModified: number;
  readonly failures: number;
}

/** The forwarder's module-scope cache of `/v1/config`, for its sampling rates. */
export function createSamplingSource(options: SamplingSourceOptions): SamplingSource {
  const { baseUrl, ttlMs = 300_000, retryMs = 30_000, timeoutMs = 2_000, fetch, now = Date.now, log = defaultLog } = options;
  let cached: { appId: string; document: MoesifDocument; policy: SamplingPolicy; at: number } | undefined;
  let failedAt: number | undefined;
  let fetches = 0;
  let notModified = 0;
  let failures = 0;

  async function refresh(applicationId: string): Promise<SamplingSnapshot> {
    // A new application id (the secret was changed) is another app: its config starts from nothing.
    const previous = cached?.appId === applicationId ? cached : undefined;
    fetches++;
    try {
      const fetched = await fetchDocument({ baseUrl, path: '/v1/config', applicationId, cached: previous?.document, timeoutMs, fetch });
      if (fetched.notModified) notModified++;
      const policy = fetched.notModified && previous ? previous.policy : parseSamplingPolicy(fetched.document.json);
      cached = { appId: applicationId, document: fetched.document, policy, at: now() };
      failedAt = undefined;
      return { policy, source: 'config' };
    } catch (err) {
      failures++;
      // The copy is kept only to revalidate it later; until then nothing is sampled out.
      failedAt = now();
      log('WARN', 'moesif config unavailable, sending every event', { ...errorFields(err), retryInMs: retryMs });
      return { policy: SEND_EVERYTHING, source: 'unavailable' };
    }
  }

  return {
    async get(applicationId) {
      const t = now();
      if (failedAt !== undefined && t - failedAt < retryMs) return { policy: SEND_EVERYTHING, source: 'unavailable' };
      if (failedAt === undefined && cached?.appId === applicationId && t - cached.at < ttlMs) return { policy: cached.policy, source: 'config' };
      return refresh(applicationId);
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
