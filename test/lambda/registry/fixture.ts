import { buildKeyRing, generateJwk, type SigningRing } from '../../../lambda/jwt/jwk-set';
import { verifyToken } from '../../../lambda/jwt/verify';
import type { RevocationSubject } from '../../../lambda/registry/revocation-state';
import { createRegistryService, type RegistryServiceDeps } from '../../../lambda/registry/service';
import { createRegistryStore, type Client } from '../../../lambda/registry/store';
import type { LocalDynamoDb } from '../../support/dynamodb';

export const START = Date.parse('2026-11-23T12:00:00.000Z');
export const MAX_LIFETIME = 30 * 86_400;
export const JWT = { issuer: 'https://abc123.execute-api.us-east-1.amazonaws.com', audience: 'jwt-api', userIdField: 'sub', companyIdField: 'org_id', maxLifetimeSeconds: MAX_LIFETIME };
export const PORTAL = { arn: 'arn:aws:sts::123456789012:assumed-role/portal-backend/session' };

/** A clock tests move by hand. */
export function clock(start = START) {
  const c = { t: start, now: () => c.t, advance: (ms: number) => (c.t += ms) };
  return c;
}

let ring: SigningRing | undefined;
export async function signingRing(): Promise<SigningRing> {
  ring ??= buildKeyRing({ keys: [await generateJwk('HS256')] }, 'HS256', 0);
  return ring;
}

/** A fresh table, its store, and the registry service on it with a real HS256 signer and the given clock. */
export async function registry(db: LocalDynamoDb, options: { now: () => number; client?: Client } & Partial<RegistryServiceDeps>) {
  const tableName = await db.createTable();
  const store = createRegistryStore(options.client ?? db.client, tableName);
  const { signer } = await signingRing();
  const service = createRegistryService({ store, jwt: JWT, signer: async () => signer, refreshSeconds: 5, ...options });
  return { tableName, store, service };
}

/** What the authorizer would pass to the revocation check for a token, verified for real at `nowMs`. */
export async function subjectOf(token: string, nowMs: number): Promise<RevocationSubject> {
  const result = verifyToken(token, await signingRing(), { ...JWT, algorithm: 'HS256', clockToleranceSeconds: 0, acceptPortalTokens: true, currentDate: new Date(nowMs) });
  if (!result.ok) throw new Error(`token refused: ${result.reason}`);
  return { keyId: result.keyId, userId: result.userId, companyId: result.companyId, iat: result.payload.iat as number | undefined };
}

/** A Moesif portal key: no `jti`, no `kid`, and `iat` only when given. Signed with the same key. */
export async function portalToken(userId: string, companyId: string, nowMs: number, iat?: number): Promise<string> {
  const { SignJWT } = await import('jose');
  const { signer } = await signingRing();
  const jwt = new SignJWT({ sub: userId, org_id: companyId }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setExpirationTime(Math.floor(nowMs / 1000) + 3600);
  if (iat !== undefined) jwt.setIssuedAt(iat);
  return jwt.sign(signer.signingKey);
}
