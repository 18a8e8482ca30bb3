import type { Algorithm } from './algorithms';
import { generateJwk, type PrivateJwkSet } from './jwk-set';

/**
 * The key set after a rotation: a fresh signer first, then the previous signer so every token it
 * signed still verifies. Older keys are dropped: the stack only allows a rotation interval longer
 * than the longest token lifetime, so their tokens have expired.
 */
export async function rotateKeySet(current: PrivateJwkSet | undefined, algorithm: Algorithm): Promise<PrivateJwkSet> {
  const fresh = await generateJwk(algorithm);
  const previous = current?.keys[0];
  return { keys: previous && previous.alg === algorithm ? [fresh, previous] : [fresh] };
}
