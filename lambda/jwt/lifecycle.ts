/**
 * The life of the signing keys: what a deploy, a rotation and an import do to the key set, as pure
 * functions of (set, algorithm, now). The Lambda (lambda/signing-key.ts) and `secret:import` only read and
 * write Secrets Manager around them.
 *
 * A key signs inside its window [activates_at, retired_at) (either end open when absent), and the signer
 * for an algorithm is the first key of that algorithm inside its window (`signerAt`): never a retired key,
 * never one not yet active. These invariants hold after every operation and at every later time until the
 * next one (test/lambda/jwt/lifecycle.property.test.ts checks them over random operation sequences):
 *
 *   I1  a signer of the configured algorithm exists;
 *   I2  no key is dropped while a token it signed can still be valid: a key is kept until its
 *       retired_at + max_token_lifetime + a margin, and it never signs after retired_at;
 *   I3  every key that signs is in the public key set, and a key a rotation made was published
 *       PUBLISH_DELAY_SECONDS before it signs (caches of the JWKS have seen it);
 *   I4  a pending key (a rotation's AWSPENDING value, or a key before its activates_at) never signs.
 */
import type { Algorithm } from './algorithms';
import { generateJwk, type PrivateJwk, type PrivateJwkSet } from './jwk-set';

/**
 * How long a rotated-in key is published before it signs: longer than discovery's own cache (60 s) plus
 * the JWKS Cache-Control max-age (300 s), so API Gateway's JWT authorizer never meets a kid it cannot find.
 */
export const PUBLISH_DELAY_SECONDS = 600;

/** Kept past a retired key's last possible token: the verifiers' cache TTLs and clock tolerance. */
export const RETENTION_MARGIN_SECONDS = 86_400;

export interface LifecycleOptions {
  /** Epoch seconds. */
  now: number;
  /** The configured longest lifetime of a minted key (JWT_EXPIRES_IN). */
  maxLifetimeSeconds: number;
  /** @default PUBLISH_DELAY_SECONDS */
  publishDelaySeconds?: number;
  /** Key generator (tests inject pre-generated keys). @default generateJwk */
  generate?: (alg: Algorithm) => Promise<PrivateJwk>;
}

/** Whether `key` signs at `now` (epoch seconds). */
export function inWindow(key: Pick<PrivateJwk, 'activates_at' | 'retired_at'>, now: number): boolean {
  return (key.activates_at ?? -Infinity) <= now && now < (key.retired_at ?? Infinity);
}

/** The key of `alg` that signs at `now`, as `signerAt` in jwk-set.ts picks it from a ring. */
export function signerOf(set: PrivateJwkSet | undefined, alg: Algorithm, now: number): PrivateJwk | undefined {
  return set?.keys.find((k) => k.alg === alg && inWindow(k, now));
}

/**
 * The first moment at or after `now` at which no key of `alg` would sign (Infinity when none): the signer
 * can only change at a window edge, so checking `now` and every later edge covers all time.
 */
export function signingGap(set: PrivateJwkSet | undefined, alg: Algorithm, now: number): number {
  const edges = (set?.keys ?? []).flatMap((k) => [k.activates_at, k.retired_at]).filter((t): t is number => t !== undefined && t > now);
  return [now, ...edges].sort((a, b) => a - b).find((t) => !signerOf(set, alg, t)) ?? Infinity;
}

/** The last moment a token signed by `key` can be valid, plus the margin; Infinity while it may still sign. */
export function keepUntil(key: PrivateJwk, fallbackLifetime: number): number {
  if (key.retired_at === undefined) return Infinity;
  return key.retired_at + (key.max_token_lifetime ?? fallbackLifetime) + RETENTION_MARGIN_SECONDS;
}

/**
 * Records the lifetime tokens signed from now on can have. Keys that can still sign take the larger of
 * their own and the configured one (a deploy may raise JWT_EXPIRES_IN; lowering it never shortens what was
 * already promised); keys from before this field existed take the configured one.
 */
function withLifetimes(keys: PrivateJwk[], opts: LifecycleOptions): PrivateJwk[] {
  const { now, maxLifetimeSeconds: lifetime } = opts;
  return keys.map((k) => {
    const canSign = k.retired_at === undefined || k.retired_at > now;
    const value = canSign ? Math.max(k.max_token_lifetime ?? 0, lifetime) : (k.max_token_lifetime ?? lifetime);
    return value === k.max_token_lifetime ? k : { ...k, max_token_lifetime: value };
  });
}

function prune(keys: PrivateJwk[], opts: LifecycleOptions): PrivateJwk[] {
  return keys.filter((k) => opts.now < keepUntil(k, opts.maxLifetimeSeconds));
}

/**
 * A deploy (custom resource Create or Update) with `alg` configured. When a key of `alg` does not sign now
 * and for good (the first deploy; an algorithm change, including back to an algorithm whose keys a
 * rotation retired; a signer that a rotation for another algorithm retires soon), a fresh key goes first
 * and signs from the moment the others would stop (at once when nothing signs now). Keys of other
 * algorithms stay as they are: functions still on the old algorithm keep signing with them until the
 * deploy updates them, and the next rotation retires them.
 */
export async function ensureSigner(current: PrivateJwkSet | undefined, alg: Algorithm, opts: LifecycleOptions): Promise<{ set: PrivateJwkSet; created?: PrivateJwk }> {
  const keys = withLifetimes(current?.keys ?? [], opts);
  const gap = signingGap({ keys }, alg, opts.now);
  if (gap === Infinity) return { set: { keys: prune(keys, opts) } };
  const created: PrivateJwk = { ...(await (opts.generate ?? generateJwk)(alg)), max_token_lifetime: opts.maxLifetimeSeconds };
  if (gap > opts.now) created.activates_at = gap;
  return { set: { keys: prune([created, ...keys], opts) }, created };
}

/**
 * A rotation at `now`: a fresh key of `alg` first, published now and signing after the publish delay (or
 * earlier, when the current signer's window would end before that); every key that could sign then retires
 * at that moment, so the hand-over leaves no gap (I1) and the retention of each retired key counts from its
 * real last signature (I2). With no signer to hand over from, the fresh key signs at once.
 */
export async function rotateKeySet(current: PrivateJwkSet | undefined, alg: Algorithm, opts: LifecycleOptions): Promise<PrivateJwkSet> {
  const { now, publishDelaySeconds = PUBLISH_DELAY_SECONDS } = opts;
  const handover = Math.min(now + publishDelaySeconds, signingGap(current, alg, now));
  const retired = withLifetimes(current?.keys ?? [], opts).map((k) =>
    k.retired_at === undefined || k.retired_at > handover ? { ...k, retired_at: handover } : k,
  );
  const fresh: PrivateJwk = { ...(await (opts.generate ?? generateJwk)(alg)), activates_at: handover, max_token_lifetime: opts.maxLifetimeSeconds };
  return { keys: prune([fresh, ...retired], opts) };
}

/**
 * An imported key (the portal's secret) goes first and signs now; the keys of its algorithm that signed
 * until now retire now and are kept while their tokens live. `sameKey` drops an earlier copy of the
 * imported key itself.
 */
export function importKey(current: PrivateJwkSet | undefined, imported: PrivateJwk, opts: LifecycleOptions & { sameKey: (k: PrivateJwk) => boolean }): PrivateJwkSet {
  const { now } = opts;
  const others = withLifetimes((current?.keys ?? []).filter((k) => !opts.sameKey(k)), opts).map((k) =>
    k.alg === imported.alg && (k.retired_at === undefined || k.retired_at > now) ? { ...k, retired_at: now } : k,
  );
  const fresh: PrivateJwk = { ...imported, max_token_lifetime: opts.maxLifetimeSeconds };
  delete fresh.activates_at;
  delete fresh.retired_at;
  return { keys: prune([fresh, ...others], opts) };
}
