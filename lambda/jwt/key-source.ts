import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { secretsClient } from '../shared/clients';
import { requireEnv, type JwtEnv } from '../shared/env';
import { isSymmetric } from './algorithms';
import { parseKeySet, parsePublicKeySet, prepareKeys, type KeyRing, type PrivateJwkSet } from './jwk-set';

/** Secrets Manager could not be read (network, throttling, permissions, missing secret or value). */
export class KeySourceUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeySourceUnavailableError';
  }
}

export interface KeySourceOptions<T> {
  secretArn: string;
  client: Pick<SecretsManagerClient, 'send'>;
  /** Turns the secret's text into what callers use (KeyObjects built once per load). */
  parse: (secretString: string) => T | Promise<T>;
  /** How long a fetched value is used before it is fetched again. @default 300000 */
  ttlMs?: number;
  /** Least time between two refreshes forced by an unknown `kid` (bounds the cost of junk tokens). @default 10000 */
  minForcedRefreshMs?: number;
  /** After a failed refresh, the stale value is served this long before Secrets Manager is tried again. @default 30000 */
  retryAfterFailureMs?: number;
  now?: () => number;
}

export interface KeySource<T> {
  /** The cached value, fetched when older than the TTL. A failed refresh keeps serving the stale value. */
  get(): Promise<T>;
  /** Fetches again now unless that was done within `minForcedRefreshMs`; true when it did. */
  refresh(): Promise<boolean>;
  /** Number of GetSecretValue calls made (observability and tests). */
  readonly fetches: number;
}

/** A module-scope cache of one secret, shared by every invocation of a warm Lambda. */
export function createKeySource<T>(options: KeySourceOptions<T>): KeySource<T> {
  const { secretArn, client, parse, ttlMs = 300_000, minForcedRefreshMs = 10_000, retryAfterFailureMs = 30_000, now = Date.now } = options;
  let cached: { value: T; at: number } | undefined;
  let inflight: Promise<T> | undefined;
  let lastForced = -Infinity;
  let fetches = 0;

  async function fetchValue(): Promise<T> {
    fetches++;
    let secretString: string | undefined;
    try {
      secretString = (await client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
    } catch (err) {
      throw new KeySourceUnavailableError(`GetSecretValue failed: ${(err as Error).name}`, { cause: err });
    }
    if (!secretString) throw new KeySourceUnavailableError('The secret has no SecretString value yet.');
    return parse(secretString);
  }

  function load(): Promise<T> {
    inflight ??= fetchValue()
      .then((value) => {
        cached = { value, at: now() };
        return value;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  return {
    async get() {
      if (cached && now() - cached.at < ttlMs) return cached.value;
      try {
        return await load();
      } catch (err) {
        if (cached && err instanceof KeySourceUnavailableError) {
          // Serve the stale value, and spare the next requests the same wait for a while.
          cached.at = now() - ttlMs + retryAfterFailureMs;
          return cached.value;
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

/** The private key set (JWT_SECRET_ARN), for the issuer: the only function that signs. */
export function signingKeys(env: JwtEnv, processEnv: NodeJS.ProcessEnv = process.env): KeySource<KeyRing> {
  return createKeySource({
    secretArn: requireEnv(processEnv, 'JWT_SECRET_ARN'),
    client: secretsClient(),
    parse: async (text) => prepareKeys(await parseKeySet(text, env.algorithm)),
    ttlMs: env.keyCacheTtlMs,
  });
}

/**
 * The keys the authorizer verifies with: the public copy (JWT_PUBLIC_KEYS_SECRET_ARN) for asymmetric
 * algorithms, so a function on the request path holds no private key; HMAC can only verify with the
 * shared secret itself (JWT_SECRET_ARN).
 */
export function verifyingKeys(env: JwtEnv, processEnv: NodeJS.ProcessEnv = process.env): KeySource<KeyRing> {
  const symmetric = isSymmetric(env.algorithm);
  return createKeySource({
    secretArn: requireEnv(processEnv, symmetric ? 'JWT_SECRET_ARN' : 'JWT_PUBLIC_KEYS_SECRET_ARN'),
    client: secretsClient(),
    parse: async (text) => prepareKeys(symmetric ? await parseKeySet(text, env.algorithm) : parsePublicKeySet(text)),
    ttlMs: env.keyCacheTtlMs,
  });
}

/** The public key set (JWT_PUBLIC_KEYS_SECRET_ARN) as discovery serves it. */
export function publicKeySet(ttlMs: number, processEnv: NodeJS.ProcessEnv = process.env): KeySource<PrivateJwkSet> {
  return createKeySource({ secretArn: requireEnv(processEnv, 'JWT_PUBLIC_KEYS_SECRET_ARN'), client: secretsClient(), parse: parsePublicKeySet, ttlMs });
}
