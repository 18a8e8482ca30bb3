/**
 * Key issuance per family: issueKey (lambda/jwt/issue.ts: claims, header, synchronous node:crypto
 * signature) against the floor, a raw signature of the same `header.payload` (base64url of the signature
 * included). The registry write of POST /keys is not part of it.
 */
import type { Algorithm } from '../lambda/jwt/algorithms';
import { issueKey } from '../lambda/jwt/issue';
import type { SigningRing } from '../lambda/jwt/jwk-set';
import { signJws } from '../lambda/jwt/signature';
import { verifyToken } from '../lambda/jwt/verify';
import { CLAIM_OPTIONS, type Case } from './hot';

export interface IssueCases {
  alg: Algorithm;
  issueKey: Case;
  floor: Case;
}

const REQUEST = { userId: 'user-42', companyId: 'acme' };

export function prepareIssue(alg: Algorithm, ring: SigningRing): IssueCases {
  const { apikey } = issueKey(REQUEST, ring.signer, CLAIM_OPTIONS);
  // Sanity check, not a differential (test/lambda/jwt/issue.test.ts holds issueKey to jose): what is timed mints tokens the verifier accepts.
  const verified = verifyToken(apikey, ring, { algorithm: alg, clockToleranceSeconds: 0, ...CLAIM_OPTIONS });
  if (!verified.ok) throw new Error(`${alg}: verifyToken refuses issueKey's token (${verified.reason}).`);
  const input = apikey.slice(0, apikey.lastIndexOf('.'));
  return {
    alg,
    issueKey: () => issueKey(REQUEST, ring.signer, CLAIM_OPTIONS),
    floor: () => `${input}.${signJws(alg, ring.signer.signingKey, input).toString('base64url')}`,
  };
}
