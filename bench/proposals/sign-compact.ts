/**
 * PROPOSAL measured by the bench (not used by lambda/): issueKey with a synchronous node:crypto signature
 * instead of jose's SignJWT, which signs through WebCrypto's asynchronous dispatch. Same header
 * (alg, kid, typ) and claims in the same order as lambda/jwt/issue.ts; the bench checks that
 * verifyToken accepts its tokens and that they decode to the same header and claims as issueKey's.
 */
import { constants, createHmac, randomUUID, sign, type KeyObject } from 'node:crypto';
import type { Algorithm } from '../../lambda/jwt/algorithms';
import type { IssueOptions, IssueRequest, IssuedKey } from '../../lambda/jwt/issue';
import type { SignerKey } from '../../lambda/jwt/jwk-set';

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** RFC 7518 §3 signatures with node:crypto, as lambda/jwt/signature.ts verifies them. */
export function signJws(alg: Algorithm, key: KeyObject, input: string): Buffer {
  const hash = HASH[alg.slice(2)];
  const data = Buffer.from(input, 'latin1');
  switch (alg.slice(0, 2)) {
    case 'HS':
      return createHmac(hash, key).update(data).digest();
    case 'RS':
      return sign(hash, data, { key, padding: constants.RSA_PKCS1_PADDING });
    case 'PS':
      return sign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
    case 'ES':
      return sign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
    default:
      return sign(null, data, key);
  }
}

/** The encoded header of each signer: the same for every key it signs. */
const HEADERS = new WeakMap<SignerKey, string>();

export function issueKeySync(request: IssueRequest, signer: SignerKey, options: IssueOptions): IssuedKey {
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const exp = iat + (request.expiresInSeconds ?? options.maxLifetimeSeconds);
  const jti = (options.newKeyId ?? randomUUID)();
  let header = HEADERS.get(signer);
  if (header === undefined) {
    header = Buffer.from(JSON.stringify({ alg: signer.alg, kid: signer.kid, typ: 'JWT' })).toString('base64url');
    HEADERS.set(signer, header);
  }
  const claims = { [options.userIdField]: request.userId, [options.companyIdField]: request.companyId, iat, exp, iss: options.issuer, aud: options.audience, jti };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const apikey = `${input}.${signJws(signer.alg, signer.signingKey, input).toString('base64url')}`;
  return { apikey, token_type: 'Bearer', key_id: jti, expires_at: new Date(exp * 1000).toISOString() };
}
