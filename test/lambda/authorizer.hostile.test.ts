/**
 * Hostile input through the real authorizer handler: random and mutated tokens (bit flips, segment swaps,
 * re-encodings, claims re-signed with a stranger's key, algorithm confusion, alg none) in random header
 * forms, and random header text. The handler never throws, and authorizes nothing that the unmutated checks
 * (jose plus this API's rules, test/support/hostile-tokens.ts) would refuse.
 */
import fc from 'fast-check';
import type { Algorithm } from '../../lambda/jwt/algorithms';
import { build, keysFor, mutationArb, NOW_S, optionsFor, oracle, specArb, type Keys } from '../support/hostile-tokens';
import { authorizerEvent } from '../support/events';
import { loadFunctions, localRegistry } from '../support/functions';
import { LocalSecretsManager, useLocalAws } from '../support/secrets-server';

const sm = new LocalSecretsManager();
const registry = localRegistry();
const ALGS: Algorithm[] = ['ES256', 'HS256', 'RS256'];
const RUNS = 10_000;

interface Target {
  keys: Keys;
  authorize: ReturnType<typeof loadFunctions>['authorize'];
  tokens: string[];
}
let targets: Target[];

beforeAll(async () => {
  useLocalAws('SECRETS_MANAGER', await sm.start());
  jest.useFakeTimers({ now: NOW_S * 1000, doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'queueMicrotask'] });
  targets = [];
  for (const alg of ALGS) {
    const keys = await keysFor(alg);
    const privateJwk = { ...(keys.ring.signer.signingKey.export({ format: 'jwk' }) as object), kid: keys.ring.signer.kid, alg, use: 'sig' };
    const { env } = await sm.putKeySet(`hostile-${alg}`, JSON.stringify({ keys: [privateJwk] }), alg);
    const { authorize } = loadFunctions({ ...env, KEY_REGISTRY_TABLE: await registry.table(), JWT_ALGORITHM: alg, JWT_ISSUER: optionsFor(alg).issuer, JWT_EXPIRES_IN: '30d', JWT_CLOCK_TOLERANCE_SECONDS: '30' });
    // The handler reads its environment on first use: use it now, before the next one changes process.env.
    await authorize(authorizerEvent('warm-up'));
    const specs = fc.sample(specArb(alg, keys.ring.signer.kid), { numRuns: 300, seed: 7 + ALGS.indexOf(alg) });
    const tokens = [];
    for (const spec of specs) tokens.push(await build(spec, keys));
    targets.push({ keys, authorize, tokens });
  }
}, 60_000);
afterAll(async () => {
  jest.useRealTimers();
  await sm.stop();
});

/** Header forms: what clients send, what they get wrong, and plain junk. */
const headerArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom((t: string) => `Bearer ${t}`, (t: string) => `bearer ${t}`, (t: string) => `BEARER   ${t}`, (t: string) => t, (t: string) => `  Bearer ${t}  `) },
  { weight: 2, arbitrary: fc.constantFrom((t: string) => `Basic ${t}`, (t: string) => `Bearer\t${t}`, (t: string) => `${t} ${t}`, (t: string) => `Bearer${t}`, (t: string) => `Token ${t}`, (t: string) => `Bearer ${t}\u0000`) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }).map((junk) => () => junk) },
  { weight: 1, arbitrary: fc.constantFrom(() => '', () => 'Bearer ', () => 'Bearer '.padEnd(20_000, 'A'), () => `Bearer ${'a.b.c'.repeat(3000)}`) },
);
/** Forms under which the token is read at all (README: "Bearer <jwt>", any letter case, or a bare <jwt>). */
function tokenIn(header: string): string | undefined {
  const m = /^\s*bearer +(\S+)\s*$/i.exec(header);
  if (m) return m[1];
  return /^\s*(\S+)\s*$/.exec(header)?.[1];
}

describe('the authorizer handler under hostile input (fast-check)', () => {
  it(`never throws and authorizes only what the unmutated checks accept, over ${RUNS} tokens and headers`, async () => {
    const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
    const reasons: Record<string, number> = {};
    // The handler logs a reason per refusal: counted here instead of printed 10,000 times.
    const capture = (chunk: unknown) => {
      const reason = /"reason":"([a-z_]+)"/.exec(String(chunk))?.[1];
      if (reason) reasons[reason] = (reasons[reason] ?? 0) + 1;
      return true;
    };
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
    const tally = { authorized: 0, refused: 0 };
    try {
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: 10 ** 6 }), mutationArb, headerArb, async (i, mutation, form) => {
          const target = targets[i % targets.length];
          const token = mutation.apply(target.tokens[Math.floor(i / targets.length) % target.tokens.length]);
          const header = form(token);
          const result = await target.authorize(authorizerEvent(header));
          expect(result).toEqual(expect.objectContaining({ isAuthorized: expect.any(Boolean) }));
          if (!result.isAuthorized) {
            tally.refused += 1;
            // And nothing valid is refused: a documented header form with a token the checks accept passes.
            const read = tokenIn(header);
            if (read !== undefined) expect(await oracle(read, target.keys.ring, optionsFor(target.keys.alg))).toEqual({ ok: false });
            return;
          }
          tally.authorized += 1;
          // Authorized: the header form is one we document and the unmutated checks accept the token.
          const read = tokenIn(header);
          expect(read).toBeDefined();
          const expected = await oracle(read, target.keys.ring, optionsFor(target.keys.alg));
          expect(expected.ok).toBe(true);
          if (expected.ok) expect(result).toEqual({ isAuthorized: true, context: { userId: expected.userId, companyId: expected.companyId, ...(expected.keyId && { keyId: expected.keyId }) } });
        }),
        { numRuns: RUNS, seed: 4242 },
      );
    } finally {
      process.stdout.write = writes.stdout;
      process.stderr.write = writes.stderr;
    }
    expect(tally.authorized + tally.refused).toBe(RUNS);
    expect(tally.authorized).toBeGreaterThan(RUNS / 10);
    // Refusals carry reason codes, never an exception turned into a deny.
    expect(reasons).not.toHaveProperty('undefined');
    expect(Object.keys(reasons)).toEqual(expect.arrayContaining(['malformed', 'bad_signature', 'alg_not_allowed', 'too_long', 'no_token']));
  }, 120_000);
});
