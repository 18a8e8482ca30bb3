import type { Algorithm } from './algorithms';
import { generateJwk, type PrivateJwk, type PrivateJwkSet } from './jwk-set';

/**
 * How long a new key is published before it signs: longer than discovery's own cache (60 s) plus the
 * JWKS Cache-Control max-age (300 s), so API Gateway's JWT authorizer never meets a kid it cannot find.
 */
export const PUBLISH_DELAY_SECONDS = 600;

/** Kept past a retired key's last possible token: the verifiers' cache TTLs and clock tolerance. */
const RETENTION_MARGIN_SECONDS = 86_400;

/** Marks keys that have no `retired_at` as retired at `at` (they stop signing then). */
export function retireKeys(keys: PrivateJwk[], at: number): PrivateJwk[] {
  return keys.map((k) => (k.retired_at === undefined ? { ...k, retired_at: at } : k));
}

export interface RotateOptions {
  /** Epoch seconds. */
  now: number;
  /** The longest lifetime of a minted key (JWT_EXPIRES_IN). */
  maxLifetimeSeconds: number;
  /** @default PUBLISH_DELAY_SECONDS */
  publishDelaySeconds?: number;
}

/**
 * The key set after a rotation: a fresh key first, published now and signing after the publish
 * delay; every other key retired when it takes over and kept while a token it signed can still be
 * valid. Keys whose tokens have all expired are dropped.
 */
export async function rotateKeySet(current: PrivateJwkSet | undefined, algorithm: Algorithm, options: RotateOptions): Promise<PrivateJwkSet> {
  const { now, maxLifetimeSeconds, publishDelaySeconds = PUBLISH_DELAY_SECONDS } = options;
  const fresh: PrivateJwk = { ...(await generateJwk(algorithm)), activates_at: now + publishDelaySeconds };
  const kept = retireKeys(current?.keys ?? [], fresh.activates_at!).filter((k) => k.retired_at! + maxLifetimeSeconds + RETENTION_MARGIN_SECONDS > now);
  return { keys: [fresh, ...kept] };
}
