/**
 * Key issuance per family: issueKey (lambda/jwt/issue.ts: claims, jose SignJWT) against the floor, a raw
 * node:crypto signature of the same `header.payload` (base64url of the signature included), and against
 * the synchronous node:crypto issuer proposed in bench/proposals/sign-compact.ts. The registry write of
 * POST /keys is not part of it.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { Algorithm } from '../lambda/jwt/algorithms';
import { issueKey } from '../lambda/jwt/issue';
import type { SigningRing } from '../lambda/jwt/jwk-set';
import { verifyToken } from '../lambda/jwt/verify';
import { CLAIM_OPTIONS } from './hot';
import { issueKeySync, signJws } from './proposals/sign-compact';
import type { Case } from './hot';

export interface IssueCases {
  alg: Algorithm;
  issueKey: Case;
  floor: Case;
  proposed: Case;
}

const REQUEST = { userId: 'user-42', companyId: 'acme' };

export async function prepareIssue(alg: Algorithm, ring: SigningRing): Promise<IssueCases> {
  const { apikey } = await issueKey(REQUEST, ring.signer, CLAIM_OPTIONS);
  const input = apikey.slice(0, apikey.lastIndexOf('.'));
  // The proposal must mint what issueKey mints (the same header and claims, in the same order) and a token the verifier accepts.
  const fixed = { ...CLAIM_OPTIONS, now: new Date(), newKeyId: () => 'key-1' };
  const proposed = issueKeySync(REQUEST, ring.signer, fixed).apikey;
  const decoded = (t: string) => JSON.stringify([decodeProtectedHeader(t), decodeJwt(t)]);
  if (decoded(proposed) !== decoded((await issueKey(REQUEST, ring.signer, fixed)).apikey)) throw new Error(`${alg}: the proposed issuer mints another token than issueKey.`);
  const verified = verifyToken(proposed, ring, { algorithm: alg, clockToleranceSeconds: 0, ...CLAIM_OPTIONS });
  if (!verified.ok) throw new Error(`${alg}: verifyToken refuses the proposed issuer's token (${verified.reason}).`);
  return {
    alg,
    issueKey: () => issueKey(REQUEST, ring.signer, CLAIM_OPTIONS),
    floor: () => `${input}.${signJws(alg, ring.signer.signingKey, input).toString('base64url')}`,
    proposed: () => issueKeySync(REQUEST, ring.signer, CLAIM_OPTIONS),
  };
}
