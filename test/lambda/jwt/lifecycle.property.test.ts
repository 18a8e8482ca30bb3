/**
 * Model-based property test of the key set's life (lambda/jwt/lifecycle.ts) over random sequences of
 * deploys (with another algorithm or lifetime), rotations, imports and clock advances. After every step,
 * and at every moment of every clock advance where the signer can change:
 *
 *   I1  a key of the configured algorithm signs;
 *   I2  every token any signer could have minted is still verifiable (its key is in the set) until it expires;
 *   I3  the signer is in the published (public) set, and a key a rotation made was published at least the
 *       publish delay before it first signs;
 *   I4  a rotation's new key does not sign before its hand-over, and nothing pending is current.
 */
import fc from 'fast-check';
import type { Algorithm } from '../../../lambda/jwt/algorithms';
import { generateJwk, publicJwks, type PrivateJwk, type PrivateJwkSet } from '../../../lambda/jwt/jwk-set';
import { ensureSigner, importKey, inWindow, PUBLISH_DELAY_SECONDS, rotateKeySet, signerOf } from '../../../lambda/jwt/lifecycle';

const ALGS: Algorithm[] = ['RS256', 'ES256', 'HS256', 'EdDSA'];
const DAY = 86_400;
const TOLERANCE = 30;

type Op =
  | { kind: 'deploy'; alg: Algorithm; lifetime: number }
  | { kind: 'rotate' }
  | { kind: 'import' }
  | { kind: 'advance'; seconds: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deploy' as const), alg: fc.constantFrom(...ALGS), lifetime: fc.constantFrom(600, 3600, DAY, 7 * DAY, 30 * DAY) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'rotate' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'import' as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('advance' as const), seconds: fc.oneof(fc.integer({ min: 1, max: 1200 }), fc.integer({ min: 1, max: 40 * DAY })) }) },
);

// Key generation is the slow part: a pool per algorithm, handed out under fresh kids.
const pool = new Map<Algorithm, PrivateJwk>();
let serial = 0;
async function generate(alg: Algorithm): Promise<PrivateJwk> {
  if (!pool.has(alg)) pool.set(alg, await generateJwk(alg));
  serial += 1;
  return { ...pool.get(alg)!, kid: `${alg}-${serial}` };
}

interface Minted {
  kid: string;
  exp: number;
}

class Model {
  set: PrivateJwkSet | undefined;
  alg: Algorithm = 'RS256';
  lifetime = 3600;
  now = 1_800_000_000;
  minted: Minted[] = [];
  /** kid → when it first appeared in the public copy. */
  published = new Map<string, number>();
  /** kids a rotation made (they owe the publish delay). */
  rotated = new Set<string>();

  publish(set: PrivateJwkSet): void {
    for (const k of set.keys) if (!this.published.has(k.kid)) this.published.set(k.kid, this.now);
  }

  /** Every moment in [from, to) where the signer can change: `from` and each window edge inside. */
  private moments(from: number, to: number): number[] {
    const edges = (this.set?.keys ?? []).flatMap((k) => [k.activates_at, k.retired_at]).filter((t): t is number => t !== undefined && t > from && t < to);
    return [from, ...new Set(edges)].sort((a, b) => a - b);
  }

  /** I1 and I3 at `t`, and the token the signer could mint then (exp as far ahead as allowed). */
  signAt(t: number): void {
    const signer = signerOf(this.set, this.alg, t);
    if (!signer) throw new Error(`I1: no ${this.alg} signer at ${t}`);
    const publishedAt = this.published.get(signer.kid);
    if (publishedAt === undefined || publishedAt > t) throw new Error(`I3: signer ${signer.kid} unpublished at ${t}`);
    if (this.rotated.has(signer.kid) && publishedAt > t - PUBLISH_DELAY_SECONDS && signer.activates_at !== undefined && signer.activates_at > publishedAt) {
      throw new Error(`I3: rotated key ${signer.kid} signs ${t - publishedAt} s after publication`);
    }
    this.minted.push({ kid: signer.kid, exp: t + this.lifetime });
  }

  /** I2: every token that can still be valid has its key. */
  checkKept(): void {
    const kids = new Set(this.set?.keys.map((k) => k.kid));
    for (const token of this.minted) {
      if (token.exp + TOLERANCE > this.now && !kids.has(token.kid)) throw new Error(`I2: key ${token.kid} dropped at ${this.now}; a token it signed lives until ${token.exp}`);
    }
    this.minted = this.minted.filter((t) => t.exp + TOLERANCE > this.now);
  }

  async apply(op: Op): Promise<void> {
    const opts = { now: this.now, maxLifetimeSeconds: this.lifetime, generate };
    switch (op.kind) {
      case 'deploy': {
        this.alg = op.alg;
        this.lifetime = op.lifetime;
        const { set } = await ensureSigner(this.set, op.alg, { ...opts, maxLifetimeSeconds: op.lifetime });
        this.publish(set);
        this.set = set;
        break;
      }
      case 'rotate': {
        const before = signerOf(this.set, this.alg, this.now);
        const next = await rotateKeySet(this.set, this.alg, opts);
        const fresh = next.keys[0];
        // createSecret publishes the union; until finishSecret the current set (without the fresh key) signs.
        this.publish({ keys: [...(this.set?.keys ?? []), ...next.keys] });
        this.signAt(this.now);
        this.rotated.add(fresh.kid);
        this.set = next;
        // I4: the fresh key does not take over before the hand-over when something signed before.
        if (before && inWindow(fresh, this.now)) throw new Error(`I4: rotated key ${fresh.kid} signs at once`);
        break;
      }
      case 'import': {
        const imported = await generate(this.alg);
        const next = importKey(this.set, imported, { ...opts, sameKey: () => false });
        this.publish(next);
        this.set = next;
        break;
      }
      case 'advance': {
        for (const t of this.moments(this.now, this.now + op.seconds)) this.signAt(t);
        this.now += op.seconds;
        break;
      }
    }
    this.signAt(this.now);
    this.checkKept();
    // The public copy always derives from the set: every key in it, nothing private.
    const pub = publicJwks(this.set!);
    for (const k of pub.keys) expect(k).not.toHaveProperty('d');
  }
}

describe('key lifecycle invariants (model-based, fast-check)', () => {
  it('hold over random sequences of deploys, algorithm changes, rotations, imports and clock advances', async () => {
    let runs = 0;
    let steps = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ALGS), fc.array(opArb, { minLength: 1, maxLength: 40 }), async (first, ops) => {
        runs += 1;
        const model = new Model();
        await model.apply({ kind: 'deploy', alg: first, lifetime: 3600 });
        for (const op of ops) {
          await model.apply(op);
          steps += 1;
        }
      }),
      { numRuns: 400 },
    );
    expect(runs).toBeGreaterThanOrEqual(400);
    expect(steps).toBeGreaterThan(2000);
  });

  it('hold for the reported algorithm round trip (RS256, ES256, rotate, RS256, rotate days later)', async () => {
    const model = new Model();
    await model.apply({ kind: 'deploy', alg: 'RS256', lifetime: 30 * DAY });
    await model.apply({ kind: 'deploy', alg: 'ES256', lifetime: 30 * DAY });
    await model.apply({ kind: 'rotate' });
    await model.apply({ kind: 'advance', seconds: 3600 });
    await model.apply({ kind: 'deploy', alg: 'RS256', lifetime: 30 * DAY });
    await model.apply({ kind: 'advance', seconds: 3 * DAY });
    await model.apply({ kind: 'rotate' });
    await model.apply({ kind: 'advance', seconds: 40 * DAY });
    // The next deploy finds every retired key past its tokens' lifetime and drops it.
    await model.apply({ kind: 'deploy', alg: 'RS256', lifetime: 30 * DAY });
    expect(model.set!.keys.map((k) => k.alg)).toEqual(['RS256']);
  });
});
