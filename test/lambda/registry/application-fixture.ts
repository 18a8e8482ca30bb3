import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { createApplicationService, type ApplicationServiceDeps } from '../../../lambda/registry/application-service';
import { createApplicationStore, type ApplicationStore } from '../../../lambda/registry/application-store';
import type { Client } from '../../../lambda/registry/store';
import type { LocalDynamoDb } from '../../support/dynamodb';
import { JWT } from './fixture';

export const ADMIN = { arn: 'arn:aws:sts::123456789012:assumed-role/portal-backend/session' };
export const TRUSTED = 'https://idp.example.com/';

/** A fresh table with the application service on it; `bumps` records every scheduled cache invalidation. */
export async function applications(
  db: LocalDynamoDb,
  options: { now: () => number; client?: Client; pageSize?: number; wrapStore?: (store: ApplicationStore) => ApplicationStore } & Partial<ApplicationServiceDeps>,
) {
  const tableName = await db.createTable();
  const raw = createApplicationStore(options.client ?? db.client, tableName, { pageSize: options.pageSize });
  const store = options.wrapStore ? options.wrapStore(raw) : raw;
  const bumps: { due: number; now: number }[] = [];
  const warnings: string[] = [];
  let ids = 0;
  const service = createApplicationService({
    store,
    refreshSeconds: 5,
    scheduleBump: async (due, now) => void bumps.push({ due, now }),
    onWarning: (message) => void warnings.push(message),
    reservedClientIds: new Set([JWT.issuer, TRUSTED]),
    routeRestrictedPlans: true,
    newId: () => `id-${String(++ids).padStart(4, '0')}`,
    ...options,
  });
  return { tableName, store: raw, service, bumps, warnings };
}

export interface ClientKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  alg: 'ES256' | 'RS256';
}

export function keyPair(alg: 'ES256' | 'RS256' = 'ES256'): ClientKeyPair {
  const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...pair, alg };
}

export const publicJwk = (pair: ClientKeyPair) => pair.publicKey.export({ format: 'jwk' });

/** A client-signed token as an application would make it: iss = sub = its client id, five minutes. */
export function clientToken(pair: ClientKeyPair, kid: string, clientId: string, nowMs: number, audience = JWT.audience): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({ iss: clientId, sub: clientId, aud: audience, iat, exp: iat + 300 } as JWTPayload).setProtectedHeader({ alg: pair.alg, kid, typ: 'JWT' }).sign(pair.privateKey);
}
