/**
 * The lifecycle invariants (lambda/jwt/lifecycle.ts, I1-I4) through the real signing-key Lambda: random
 * sequences of deploys (custom resource Create/Update with another algorithm), full four-step rotations
 * and clock advances, against the local Secrets Manager, reading back both secrets after every step.
 * Fewer runs than the pure model test: every key here is really generated.
 */
import fc from 'fast-check';
import type { Algorithm } from '../../lambda/jwt/algorithms';
import { parseKeySet, parsePublicKeySet, type PrivateJwkSet } from '../../lambda/jwt/jwk-set';
import { PUBLISH_DELAY_SECONDS, signerOf } from '../../lambda/jwt/lifecycle';
import { LocalSecretsManager, useLocalAws } from '../support/secrets-server';

const sm = new LocalSecretsManager();
let handler: typeof import('../../lambda/signing-key').handler;
const ALGS: Algorithm[] = ['ES256', 'HS256', 'EdDSA', 'RS256'];
const LIFETIME = 3600;

beforeAll(async () => {
  useLocalAws('SECRETS_MANAGER', await sm.start());
  process.env.JWT_EXPIRES_IN = String(LIFETIME);
  handler = require('../../lambda/signing-key').handler;
});
afterAll(() => sm.stop());
afterEach(() => jest.useRealTimers());

type Op = { kind: 'deploy'; alg: Algorithm } | { kind: 'rotate' } | { kind: 'advance'; seconds: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('deploy' as const), alg: fc.constantFrom(...ALGS) }),
  fc.constant({ kind: 'rotate' as const }),
  fc.record({ kind: fc.constant('advance' as const), seconds: fc.integer({ min: 60, max: 3 * 86_400 }) }),
);

let n = 0;
describe('signing-key function: lifecycle invariants over random operation sequences', () => {
  it('keep a signer, keep every key while its tokens live, and publish before signing', async () => {
    let steps = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 2, maxLength: 7 }), async (ops) => {
        n += 1;
        let now = 1_900_000_000 + n * 10_000_000;
        const setClock = () => jest.useFakeTimers({ now: now * 1000, doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'queueMicrotask'] });
        setClock();
        const arn = sm.put(`prop-${n}`, '{"keys":[],"placeholder":"x"}');
        const publicArn = sm.put(`prop-${n}-public`, '{"keys":[]}');
        process.env.JWT_PUBLIC_KEYS_SECRET_ARN = publicArn;
        let alg: Algorithm = 'ES256';
        const minted: Array<{ kid: string; exp: number }> = [];
        const firstPublished = new Map<string, number>();
        const current = async (): Promise<PrivateJwkSet> => parseKeySet(sm.current(arn)!, alg);
        const notePublished = () => {
          for (const k of parsePublicKeySet(sm.current(publicArn)!).keys) if (!firstPublished.has(k.kid)) firstPublished.set(k.kid, now);
        };
        const deploy = async (to: Algorithm) => {
          alg = to;
          process.env.JWT_ALGORITHM = to;
          await handler({ RequestType: 'Update', ResourceProperties: { SecretArn: arn, PublicKeysSecretArn: publicArn, Algorithm: to, MaxLifetimeSeconds: String(LIFETIME) } });
          notePublished();
        };
        /** I1 + I3 at t, and the longest-lived token the signer could mint then. */
        const signAt = (set: PrivateJwkSet, t: number) => {
          const signer = signerOf(set, alg, t);
          if (!signer) throw new Error(`I1: no ${alg} signer at ${t}`);
          const published = firstPublished.get(signer.kid);
          // HMAC keys are never published (verifiers hold the shared secret itself).
          if (signer.kty !== 'oct' && (published === undefined || published > t)) throw new Error(`I3: ${signer.kid} signs unpublished at ${t}`);
          if (signer.kty !== 'oct' && signer.activates_at !== undefined && signer.activates_at > published! && t - published! < PUBLISH_DELAY_SECONDS) {
            throw new Error(`I3: ${signer.kid} signs ${t - published!} s after publication`);
          }
          minted.push({ kid: signer.kid, exp: t + LIFETIME });
        };

        await deploy('ES256');
        for (const op of ops) {
          if (op.kind === 'deploy') await deploy(op.alg);
          if (op.kind === 'rotate') {
            const token = `t-${steps}`;
            sm.beginRotation(arn, token);
            await handler({ Step: 'createSecret', SecretId: arn, ClientRequestToken: token });
            notePublished();
            // I4: while pending, the current set (without the new key) still signs.
            signAt(await current(), now);
            for (const Step of ['setSecret', 'testSecret', 'finishSecret'] as const) await handler({ Step, SecretId: arn, ClientRequestToken: token });
            notePublished();
          }
          if (op.kind === 'advance') {
            const set = await current();
            const edges = set.keys.flatMap((k) => [k.activates_at, k.retired_at]).filter((t): t is number => t !== undefined && t > now && t < now + op.seconds);
            for (const t of [now, ...edges]) signAt(set, t);
            now += op.seconds;
            setClock();
          }
          const set = await current();
          signAt(set, now);
          // I2: every token that can still be valid finds its key.
          for (const token of minted) if (token.exp + 30 > now && !set.keys.some((k) => k.kid === token.kid)) throw new Error(`I2: ${token.kid} dropped while a token lives`);
          // The public copy never holds private material, and holds every asymmetric key of the set.
          const pub = parsePublicKeySet(sm.current(publicArn)!);
          for (const k of set.keys) if (k.kty !== 'oct') expect(pub.keys.map((p) => p.kid)).toContain(k.kid);
          steps += 1;
        }
      }),
      { numRuns: 15 },
    );
    expect(steps).toBeGreaterThan(40);
  }, 120_000);
});
