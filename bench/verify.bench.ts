/**
 * Authorizer verification cost per token: `verifyToken` (the Lambda authorizer's core, jose + claims
 * checks) against the floor of a raw `node:crypto` signature verify + `JSON.parse` of the payload,
 * for one algorithm of each family, in the same run.
 *
 *   node --import tsx bench/verify.bench.ts
 */
import { createVerify, verify as cryptoVerify, createHmac, timingSafeEqual } from 'node:crypto';
import { bench, do_not_optimize, run } from 'mitata';
import type { Algorithm } from '../lambda/jwt/algorithms';
import { issueKey } from '../lambda/jwt/issue';
import { buildKeyRing, generateJwk, type RingKey } from '../lambda/jwt/jwk-set';
import { verifyToken, type VerifyOptions } from '../lambda/jwt/verify';

const ALGS: Algorithm[] = ['HS256', 'ES256', 'RS256', 'EdDSA'];

/** The least any verifier must do: check the signature and parse the claims. */
function floorVerify(token: string, key: RingKey): unknown {
  const [h, p, s] = token.split('.');
  const input = `${h}.${p}`;
  const signature = Buffer.from(s, 'base64url');
  let ok: boolean;
  if (key.alg === 'HS256') {
    const mac = createHmac('sha256', key.verifyKey).update(input).digest();
    ok = mac.length === signature.length && timingSafeEqual(mac, signature);
  } else if (key.alg === 'ES256') {
    ok = cryptoVerify('sha256', Buffer.from(input), { key: key.verifyKey, dsaEncoding: 'ieee-p1363' }, signature);
  } else if (key.alg === 'EdDSA') {
    ok = cryptoVerify(null, Buffer.from(input), key.verifyKey, signature);
  } else {
    ok = createVerify('RSA-SHA256').update(input).verify(key.verifyKey, signature);
  }
  if (!ok) throw new Error('floor verify failed');
  return JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
}

async function main(): Promise<void> {
  const rows: { alg: Algorithm; full: string; floor: string }[] = [];
  for (const alg of ALGS) {
    const ring = buildKeyRing({ keys: [await generateJwk(alg)] }, alg);
    const options: VerifyOptions = { algorithm: alg, issuer: 'https://api.example.com', audience: 'jwt-api', userIdField: 'sub', companyIdField: 'org_id', clockToleranceSeconds: 30, maxLifetimeSeconds: 3600 };
    const { apikey } = await issueKey({ userId: 'user-42', companyId: 'acme' }, ring.signer, { ...options, maxLifetimeSeconds: 3600 });
    if (!(await verifyToken(apikey, ring, options)).ok) throw new Error(`${alg}: the bench token does not verify`);
    floorVerify(apikey, ring.signer);
    const full = `verifyToken ${alg}`;
    const floor = `node:crypto floor ${alg}`;
    bench(full, async () => do_not_optimize(await verifyToken(apikey, ring, options)));
    bench(floor, () => do_not_optimize(floorVerify(apikey, ring.signer)));
    rows.push({ alg, full, floor });
  }
  const { benchmarks } = await run();
  const avg = (name: string) => benchmarks.find((b) => b.alias === name)?.runs[0]?.stats?.avg;
  console.log('');
  for (const { alg, full, floor } of rows) {
    const f = avg(full);
    const b = avg(floor);
    if (f === undefined || b === undefined) throw new Error(`${alg}: a benchmark did not run`);
    console.log(`${alg.padEnd(6)} verifyToken ${(f / 1000).toFixed(1).padStart(7)} µs   floor ${(b / 1000).toFixed(1).padStart(6)} µs   ratio ${(f / b).toFixed(2)}x`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
