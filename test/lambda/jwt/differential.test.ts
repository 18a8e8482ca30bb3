/**
 * Differential test of the synchronous verifier (lambda/jwt/verify.ts: canonical decoding, node:crypto
 * signatures, one-pass claims) against jose's jwtVerify plus this API's stricter rules (the oracle in
 * test/support/hostile-tokens.ts): the same tokens get the same verdict and the same identity, so speed
 * never changes a decision. Genuine, forged and mutated tokens, every algorithm family, portal mode too.
 */
import fc from 'fast-check';
import type { Algorithm } from '../../../lambda/jwt/algorithms';
import { verifyToken } from '../../../lambda/jwt/verify';
import { build, keysFor, mutationArb, optionsFor, oracle, specArb, type Keys } from '../../support/hostile-tokens';

const ALGS: Algorithm[] = ['HS256', 'RS256', 'PS256', 'ES256', 'EdDSA', 'HS512', 'ES384'];
const BASES_PER_ALG = 250;
const RUNS = 12_000;

interface Base {
  keys: Keys;
  token: string;
}

let bases: Base[];
beforeAll(async () => {
  bases = [];
  for (const alg of ALGS) {
    const keys = await keysFor(alg);
    const specs = fc.sample(specArb(alg, keys.ring.signer.kid), { numRuns: BASES_PER_ALG, seed: ALGS.indexOf(alg) + 1 });
    for (const spec of specs) bases.push({ keys, token: await build(spec, keys) });
  }
}, 60_000);

describe('the synchronous verifier against jose (differential)', () => {
  it(`gives jose's verdict (and this API's stricter rules) on ${RUNS} genuine, forged and mutated tokens`, async () => {
    const tally = { runs: 0, accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 10 ** 6 }), mutationArb, fc.boolean(), async (i, mutation, portal) => {
        const { keys, token: genuine } = bases[i % bases.length];
        const token = mutation.apply(genuine);
        const opts = optionsFor(keys.alg, portal);
        const fast = verifyToken(token, keys.ring, opts);
        const expected = await oracle(token, keys.ring, opts);
        tally.runs += 1;
        tally[expected.ok ? 'accepted' : 'refused'] += 1;
        if (expected.ok) expect(fast).toMatchObject({ ...expected, ok: true });
        else expect(fast).toMatchObject({ ok: false });
      }),
      { numRuns: RUNS, seed: 20261201 },
    );
    expect(tally.runs).toBe(RUNS);
    // Both sides of the verdict are well represented, or the comparison proves little.
    expect(tally.accepted).toBeGreaterThan(RUNS / 8);
    expect(tally.refused).toBeGreaterThan(RUNS / 4);
  }, 120_000);

  it('refuses a PS256 signature with another salt length, as jose does', async () => {
    const { sign, constants } = await import('node:crypto');
    const { keys } = bases.find((b) => b.keys.alg === 'PS256')!;
    const opts = optionsFor('PS256');
    const input = `${Buffer.from(JSON.stringify({ alg: 'PS256', kid: keys.ring.signer.kid })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'u', org_id: 'c', iss: 'https://abc123.execute-api.us-east-1.amazonaws.com', aud: 'jwt-api', exp: 1_900_003_600 })).toString('base64url')}`;
    const withSalt = (saltLength: number) => `${input}.${sign('sha256', Buffer.from(input), { key: keys.ring.signer.signingKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }).toString('base64url')}`;
    expect(verifyToken(withSalt(32), keys.ring, opts).ok).toBe(true);
    expect(await oracle(withSalt(32), keys.ring, opts)).toMatchObject({ ok: true });
    for (const salt of [0, 20, 64]) {
      expect(await oracle(withSalt(salt), keys.ring, opts)).toEqual({ ok: false });
      expect(verifyToken(withSalt(salt), keys.ring, opts)).toEqual({ ok: false, reason: 'bad_signature' });
    }
  });

  it('refuses every re-spelling of a genuine token that jose accepts (padding, unused bits set)', async () => {
    const { keys } = bases.find((b) => b.keys.alg === 'ES256')!;
    const genuine = await build({ header: { alg: 'ES256', kid: keys.ring.signer.kid }, claims: { sub: 'u', org_id: 'c', iss: 'https://abc123.execute-api.us-east-1.amazonaws.com', aud: 'jwt-api', exp: 1_900_003_600 }, signer: 'ours' }, keys);
    const opts = optionsFor('ES256');
    expect(verifyToken(genuine, keys.ring, opts).ok).toBe(true);
    const [h, p, s] = genuine.split('.');
    // ES256 signatures are 64 bytes: 86 characters with 4 unused bits in the last one.
    const dirty = s.slice(0, -1) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(s.at(-1)!) ^ 1];
    const { jwtVerify } = await import('jose');
    const lenient = async (t: string) => jwtVerify(t, keys.ring.signer.verifyKey, { currentDate: opts.currentDate }).then(() => true, () => false);
    // jose decodes leniently and accepts another spelling of the same signature: the reason the strict decoder exists.
    expect(await lenient(`${h}.${p}.${dirty}`)).toBe(true);
    expect(await lenient(`${h}.${p}.${s}==`)).toBe(true);
    for (const variant of [`${h}.${p}.${s}==`, `${h}=.${p}.${s}`, `${h}.${p}.${dirty}`, `${h}.${p}.${s}=`]) {
      expect(verifyToken(variant, keys.ring, opts)).toEqual({ ok: false, reason: 'malformed' });
    }
  });
});
