/**
 * The authorizer's hot path per algorithm family: the real handler (bundled as deployed, keys cached)
 * against the floor (raw node:crypto verify + JSON.parse of the payload) and against jose, jsonwebtoken
 * and aws-jwt-verify verifying the same token with the same issuer and audience.
 */
import { createHmac, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { JwtVerifier } from 'aws-jwt-verify';
import { importJWK, jwtVerify, type JWK } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import type { Algorithm } from '../lambda/jwt/algorithms';
import { issueKey } from '../lambda/jwt/issue';
import { buildKeyRing, generateJwk, publicJwks, type RingKey, type SigningRing } from '../lambda/jwt/jwk-set';
import type { LocalSecrets } from './support/local-secrets';

export const FAMILIES: Algorithm[] = ['HS256', 'RS256', 'ES256', 'EdDSA'];
export const ISSUER = 'https://abc123.execute-api.us-east-1.amazonaws.com';
export const AUDIENCE = 'jwt-api';
export const CLAIM_OPTIONS = { issuer: ISSUER, audience: AUDIENCE, userIdField: 'sub', companyIdField: 'org_id', maxLifetimeSeconds: 3600 };

export type Case = () => unknown;
export interface FamilyCases {
  alg: Algorithm;
  token: string;
  ring: SigningRing;
  arns: { secret: string; publicKeys: string };
  handler: Case;
  floor: Case;
  jose: Case;
  jsonwebtoken?: Case;
  awsJwtVerify?: Case;
}

/** The least any verifier must do: check the signature and parse the claims. */
export function floorVerify(token: string, key: RingKey): unknown {
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
    // One-shot verify: faster than the streaming createVerify, so the floor is the least node:crypto needs.
    ok = cryptoVerify('sha256', Buffer.from(input), key.verifyKey, signature);
  }
  if (!ok) throw new Error('floor verify failed');
  return JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
}

/** The event API Gateway sends a payload-2.0 Lambda authorizer for one request. */
export function authorizerEvent(token: string) {
  return { version: '2.0', type: 'REQUEST', routeArn: 'arn:aws:execute-api:us-east-1:123456789012:abc123/$default/GET/orders', identitySource: [`Bearer ${token}`], routeKey: 'GET /orders', rawPath: '/orders', headers: { authorization: `Bearer ${token}` }, requestContext: { requestId: 'bench' } };
}

/** The environment the stack gives the authorizer, for one family, pointing at the local secrets. */
export function authorizerEnv(alg: Algorithm, arns: { secret: string; publicKeys: string }): Record<string, string> {
  return {
    JWT_ALGORITHM: alg,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    JWT_EXPIRES_IN: '3600',
    JWT_SECRET_ARN: arns.secret,
    JWT_PUBLIC_KEYS_SECRET_ARN: arns.publicKeys,
    MOESIF_GOVERNANCE: 'off',
    // Longer than the whole run: every measured call finds its keys cached.
    KEY_CACHE_TTL_SECONDS: '86400',
    // Revocations as the stack checks them: read from the registry's change feed (the local server answers
    // DynamoDB Query with no changes) and refreshed on the request path every REVOCATION_REFRESH_SECONDS
    // (the stack's default, 5 s): one call in a few thousand pays a Query, which a median leaves out.
    KEY_REGISTRY_TABLE: 'bench-registry',
  };
}

/** A key set for `alg` stored in `secrets` as the stack stores it (private value and public copy), and a token it signed. */
export async function keysAndToken(alg: Algorithm, secrets: LocalSecrets) {
  const set = { keys: [await generateJwk(alg)] };
  const ring = buildKeyRing(set, alg);
  const arns = { secret: secrets.put(`bench-${alg}`, JSON.stringify(set)), publicKeys: secrets.put(`bench-${alg}-public`, JSON.stringify(publicJwks(set))) };
  const { apikey } = issueKey({ userId: 'user-42', companyId: 'acme' }, ring.signer, CLAIM_OPTIONS);
  return { set, ring, arns, token: apikey };
}

/** The token with one character of its signature changed: same length, still canonical base64url. */
export function tampered(token: string): string {
  const at = token.lastIndexOf('.') + 4;
  return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
}

/**
 * Calls `fn` with the process's stdout captured: the authorizer logs its refusals there, and the bench's
 * own stdout is the table.
 */
async function quietly<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const write = process.stdout.write;
  const lines: string[] = [];
  process.stdout.write = ((chunk: string | Uint8Array) => lines.push(String(chunk)) > 0) as typeof process.stdout.write;
  try {
    return { result: await fn(), lines };
  } finally {
    process.stdout.write = write;
  }
}

type Handler = (e: unknown) => Promise<{ isAuthorized: boolean }>;

/**
 * Sanity check before anything is timed: the handler accepts the bench token and refuses the same token
 * with its signature changed for a bad signature, so what is timed is a verification, not a path that
 * answers yes (or no) without one.
 */
export async function checkHandlerVerifies(alg: Algorithm, handler: Handler, token: string, file: string): Promise<void> {
  const name = path.basename(file);
  const good = await quietly(() => handler(authorizerEvent(token)));
  if (!good.result.isAuthorized) throw new Error(`${alg}: ${name} refuses the bench token: ${good.lines.join('').trim() || 'no log line'}`);
  const bad = await quietly(() => handler(authorizerEvent(tampered(token))));
  if (bad.result.isAuthorized || !bad.lines.some((l) => l.includes('"reason":"bad_signature"'))) {
    throw new Error(`${alg}: ${name} does not refuse a token with a changed signature for bad_signature: ${bad.lines.join('').trim() || 'no log line'}`);
  }
}

/**
 * Loads one instance of the bundled authorizer per family (a query string makes each import a new
 * module, with its own module-scope state), warms it so its keys are cached, checks that it verifies
 * (checkHandlerVerifies) and that each competitor accepts the token, before anything is timed.
 */
export async function prepareHot(bundleFile: string, secrets: LocalSecrets): Promise<FamilyCases[]> {
  const families: FamilyCases[] = [];
  for (const alg of FAMILIES) {
    const { set, ring, arns, token } = await keysAndToken(alg, secrets);
    Object.assign(process.env, authorizerEnv(alg, arns));
    const event = authorizerEvent(token);
    const { handler } = (await import(`${pathToFileURL(bundleFile).href}?alg=${alg}`)) as { handler: Handler };
    await checkHandlerVerifies(alg, handler, token, bundleFile);
    floorVerify(token, ring.signer);

    const pub = publicJwks(set).keys[0] as JWK | undefined;
    const joseKey = alg === 'HS256' ? ring.signer.verifyKey.export() : await importJWK(pub!, alg);
    const joseOptions = { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE, requiredClaims: ['exp', 'sub', 'org_id'] };
    await jwtVerify(token, joseKey, joseOptions);

    const c: FamilyCases = {
      alg,
      token,
      ring,
      arns,
      handler: () => handler(event),
      floor: () => floorVerify(token, ring.signer),
      jose: () => jwtVerify(token, joseKey, joseOptions),
    };
    // jsonwebtoken 9 has no EdDSA.
    if (alg !== 'EdDSA') {
      const jwtOptions: jsonwebtoken.VerifyOptions = { algorithms: [alg as jsonwebtoken.Algorithm], issuer: ISSUER, audience: AUDIENCE };
      jsonwebtoken.verify(token, ring.signer.verifyKey, jwtOptions);
      c.jsonwebtoken = () => jsonwebtoken.verify(token, ring.signer.verifyKey, jwtOptions);
    }
    // aws-jwt-verify verifies asymmetric tokens only; its JWKS is cached, and verifySync is its fastest form.
    if (alg !== 'HS256') {
      const verifier = JwtVerifier.create({ issuer: ISSUER, audience: AUDIENCE, jwksUri: `${ISSUER}/.well-known/jwks.json` });
      verifier.cacheJwks(publicJwks(set) as never);
      verifier.verifySync(token);
      c.awsJwtVerify = () => verifier.verifySync(token);
    }
    families.push(c);
  }
  return families;
}
