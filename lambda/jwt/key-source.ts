import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Algorithm } from './algorithms';
import { buildKeyRing, parseKeySet, type KeyRing, type PrivateJwkSet } from './jwk-set';

/** Secrets Manager could not be read (network, throttling, permissions, missing secret). */
export class KeySourceUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeySourceUnavailableError';
  }
}

export interface LoadedKeys {
  set: PrivateJwkSet;
  ring: KeyRing;
}

export interface KeySourceOptions {
  secretArn: string;
  algorithm: Algorithm;
  client: Pick<SecretsManagerClient, 'send'>;
  /** How long a fetched key set is used before it is fetched again. @default 300000 */
  ttlMs?: number;
  /** Least time between two refreshes forced by an unknown `kid` (bounds the cost of junk tokens). @default 10000 */
  minForcedRefreshMs?: number;
  /** After a failed refresh, the stale set is served this long before Secrets Manager is tried again. @default 30000 */
  retryAfterFailureMs?: number;
  now?: () => number;
}

export interface KeySource {
  /** The cached key set, fetched when older than the TTL. A failed refresh keeps serving the stale set. */
  get(): Promise<LoadedKeys>;
  /** Fetches again now unless that was done within `minForcedRefreshMs`; true when it did. */
  refresh(): Promise<boolean>;
  /** Number of GetSecretValue calls made (observability and tests). */
  readonly fetches: number;
}

/** A module-scope cache of the signing secret, shared by every invocation of a warm Lambda. */
export function createKeySource(options: KeySourceOptions): KeySource {
  const { secretArn, algorithm, client, ttlMs = 300_000, minForcedRefreshMs = 10_000, retryAfterFailureMs = 30_000, now = Date.now } = options;
  let cached: (LoadedKeys & { at: number }) | undefined;
  let inflight: Promise<LoadedKeys> | undefined;
  let lastForced = -Infinity;
  let fetches = 0;

  async function fetchKeys(): Promise<LoadedKeys> {
    fetches++;
    let secretString: string | undefined;
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
      secretString = out.SecretString;
    } catch (err) {
      throw new KeySourceUnavailableError(`GetSecretValue failed: ${(err as Error).name}`, { cause: err });
    }
    if (!secretString) throw new KeySourceUnavailableError('The signing secret has no SecretString value yet.');
    const set = await parseKeySet(secretString, algorithm);
    return { set, ring: buildKeyRing(set, algorithm) };
  }

  function load(): Promise<LoadedKeys> {
    inflight ??= fetchKeys()
      .then((loaded) => {
        cached = { ...loaded, at: now() };
        return loaded;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  return {
    async get() {
      if (cached && now() - cached.at < ttlMs) return cached;
      try {
        return await load();
      } catch (err) {
        if (cached && err instanceof KeySourceUnavailableError) {
          // Serve the stale set, and spare the next requests the same wait for a while.
          cached.at = now() - ttlMs + retryAfterFailureMs;
          return cached;
        }
        throw err;
      }
    },
    async refresh() {
      if (now() - lastForced < minForcedRefreshMs) return false;
      lastForced = now();
      try {
        await load();
      } catch {
        return false;
      }
      return true;
    },
    get fetches() {
      return fetches;
    },
  };
}
