import { JwksDocumentError, parseJwksDocument, type RemoteKeySet } from './jwks-document';
import { urlProblem } from './trusted-issuers';

/**
 * One outside issuer's keys, fetched from its JWKS URI (or the `jwks_uri` of its OpenID discovery document)
 * and kept at module scope, so a warm authorizer asks the issuer rarely:
 * - kept for the response's `Cache-Control: max-age`, held within [1 min, 1 h] (10 min without one);
 * - fetched again for an unknown `kid` (a rotation) at most once per `minRefreshIntervalMs` (10 s), so a flood
 *   of tokens with made-up kids costs the issuer at most one request per 10 s;
 * - every load has one deadline (`timeoutMs`, 1.5 s) for discovery and JWKS together, and no redirect is
 *   followed (as jose's remote JWK Set: the URL configured or discovered is the one trusted);
 * - during an outage the last set is served until `maxStaleMs` (1 h) past its expiry, then refused; after a
 *   failure nothing is fetched for `retryAfterFailureMs` (10 s), so requests neither wait nor pile on.
 * Nothing is ever served that was not loaded: a cold source whose issuer is down fails (closed).
 */

export type RemoteJwksProblem = 'jwks_timeout' | 'jwks_unreachable' | 'jwks_http_status' | 'jwks_too_large' | 'jwks_invalid' | 'jwks_private_key' | 'discovery_invalid' | 'jwks_unavailable';

/** The issuer's keys cannot be had: the `code` is logged; the message names the URL (never a token or a key). */
export class RemoteJwksError extends Error {
  constructor(
    readonly code: RemoteJwksProblem,
    message: string,
  ) {
    super(message);
    this.name = 'RemoteJwksError';
  }
}

export interface RemoteJwksOptions {
  /** The issuer (`iss`); discovery is `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  /** The JWK Set URL; absent: discovered. */
  jwksUri?: string;
  /** Injectable for tests. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Injectable clock (epoch ms). @default Date.now */
  now?: () => number;
  /** One deadline for a whole load (discovery and JWK Set). @default 1500 */
  timeoutMs?: number;
  /** How long a set is fresh when the response has no `Cache-Control: max-age`. @default 600000 */
  ttlMs?: number;
  /** Least time between two fetches forced by unknown kids. @default 10000 */
  minRefreshIntervalMs?: number;
  /** After a failed fetch, no other is tried for this long. @default 10000 */
  retryAfterFailureMs?: number;
  /** How long past its expiry a set is still served while the issuer cannot be reached. @default 3600000 */
  maxStaleMs?: number;
  /** How long the discovered `jwks_uri` is used before discovery is read again. @default 3600000 */
  discoveryTtlMs?: number;
  /** The largest response read. @default 262144 */
  maxBytes?: number;
}

export interface RemoteJwks {
  readonly issuer: string;
  /** The fresh set, or the stale one within `maxStaleMs`; throws RemoteJwksError when there is none. */
  get(): Promise<RemoteKeySet>;
  /** Fetches again for an unknown kid, unless one was forced within `minRefreshIntervalMs`; true when a new set loaded. */
  refresh(): Promise<boolean>;
  /** JWK Set requests made (tests and observability). */
  readonly fetches: number;
  /** Discovery requests made. */
  readonly discoveryFetches: number;
}

/** Cache-Control `max-age` is honoured within these bounds: the issuer cannot make us fetch on every call, nor never. */
export const MIN_TTL_MS = 60_000;
export const MAX_TTL_MS = 3_600_000;

/** Freshness from Cache-Control: `max-age` (held within bounds), `no-store`/`no-cache` as the shortest; else the default. */
export function ttlFromCacheControl(header: string | null, fallbackMs: number): number {
  if (header === null) return fallbackMs;
  const maxAge = /(?:^|[,\s])max-age\s*=\s*"?(\d+)"?/i.exec(header);
  let ms = maxAge ? Number(maxAge[1]) * 1000 : /no-store|no-cache/i.test(header) ? 0 : fallbackMs;
  if (!Number.isFinite(ms)) ms = MAX_TTL_MS;
  return Math.min(MAX_TTL_MS, Math.max(MIN_TTL_MS, ms));
}

/** OpenID Connect Discovery §4: drop one trailing slash of the issuer, then append the well-known path. */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
}

interface Fetched {
  body: unknown;
  cacheControl: string | null;
}

/** Reads the body up to `maxBytes`, counting what arrives (a Content-Length header can lie or be absent). */
async function readCapped(response: Response, maxBytes: number, url: string): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new RemoteJwksError('jwks_too_large', `${url} answered more than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function fetchJson(fetchImpl: typeof fetch, url: string, signal: AbortSignal, maxBytes: number): Promise<Fetched> {
  try {
    const response = await fetchImpl(url, { signal, redirect: 'manual', headers: { accept: 'application/json' } });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new RemoteJwksError('jwks_http_status', `${url} answered HTTP ${response.status}`);
    }
    const text = await readCapped(response, maxBytes, url);
    try {
      return { body: JSON.parse(text), cacheControl: response.headers.get('cache-control') };
    } catch {
      throw new RemoteJwksError('jwks_invalid', `${url} did not answer JSON`);
    }
  } catch (err) {
    if (err instanceof RemoteJwksError) throw err;
    if (signal.aborted) throw new RemoteJwksError('jwks_timeout', `${url} did not answer in time`);
    throw new RemoteJwksError('jwks_unreachable', `${url} could not be reached (${(err as Error).name})`);
  }
}

/** A module-scope cache of one issuer's JWK Set. */
export function createRemoteJwks(options: RemoteJwksOptions): RemoteJwks {
  const {
    issuer,
    fetch: fetchImpl = globalThis.fetch,
    now = Date.now,
    timeoutMs = 1500,
    ttlMs = 600_000,
    minRefreshIntervalMs = 10_000,
    retryAfterFailureMs = 10_000,
    maxStaleMs = 3_600_000,
    discoveryTtlMs = 3_600_000,
    maxBytes = 262_144,
  } = options;
  let set: { keys: RemoteKeySet; expiresAt: number } | undefined;
  let discovered: { jwksUri: string; expiresAt: number } | undefined;
  let inflight: Promise<RemoteKeySet> | undefined;
  let lastError: RemoteJwksError | undefined;
  let retryAt = -Infinity;
  let lastForced = -Infinity;
  let fetches = 0;
  let discoveryFetches = 0;

  async function jwksUri(signal: AbortSignal): Promise<string> {
    if (options.jwksUri) return options.jwksUri;
    if (discovered && now() < discovered.expiresAt) return discovered.jwksUri;
    const url = discoveryUrl(issuer);
    discoveryFetches++;
    try {
      const { body } = await fetchJson(fetchImpl, url, signal, maxBytes);
      const doc = body as { issuer?: unknown; jwks_uri?: unknown } | null;
      // OpenID Connect Discovery §4.3: the document must name the very issuer it was fetched for.
      if (doc?.issuer !== issuer) throw new RemoteJwksError('discovery_invalid', `${url} names another issuer`);
      const problem = urlProblem(doc.jwks_uri, false);
      if (problem) throw new RemoteJwksError('discovery_invalid', `the jwks_uri of ${url} ${problem}`);
      discovered = { jwksUri: doc.jwks_uri as string, expiresAt: now() + discoveryTtlMs };
      return discovered.jwksUri;
    } catch (err) {
      // A discovery hiccup need not stop a JWK Set refresh: the URI it gave last time is still the issuer's.
      if (discovered) return discovered.jwksUri;
      throw err;
    }
  }

  async function fetchSet(): Promise<RemoteKeySet> {
    const signal = AbortSignal.timeout(timeoutMs);
    const url = await jwksUri(signal);
    fetches++;
    const { body, cacheControl } = await fetchJson(fetchImpl, url, signal, maxBytes);
    let keys: RemoteKeySet;
    try {
      keys = parseJwksDocument(body);
    } catch (err) {
      if (err instanceof JwksDocumentError) throw new RemoteJwksError(err.code, `${url}: ${err.message}`);
      throw err;
    }
    set = { keys, expiresAt: now() + ttlFromCacheControl(cacheControl, ttlMs) };
    return keys;
  }

  function load(): Promise<RemoteKeySet> {
    inflight ??= fetchSet()
      .catch((err: unknown) => {
        lastError = err instanceof RemoteJwksError ? err : new RemoteJwksError('jwks_unavailable', `the keys of ${issuer} could not be loaded`);
        retryAt = now() + retryAfterFailureMs;
        if (lastError.code === 'jwks_private_key') set = undefined;
        throw lastError;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  function stale(): RemoteKeySet {
    if (set && now() < set.expiresAt + maxStaleMs) return set.keys;
    throw lastError ?? new RemoteJwksError('jwks_unavailable', `the keys of ${issuer} could not be loaded`);
  }

  return {
    issuer,
    async get() {
      if (set && now() < set.expiresAt) return set.keys;
      if (now() < retryAt) return stale();
      try {
        return await load();
      } catch {
        return stale();
      }
    },
    async refresh() {
      if (now() - lastForced < minRefreshIntervalMs || now() < retryAt) return false;
      lastForced = now();
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
    get discoveryFetches() {
      return discoveryFetches;
    },
  };
}
