import { isAlgorithm } from '../jwt/algorithms';
import { parseDurationSeconds } from './duration';
import type { VerifyOptions } from '../jwt/verify';

/** Thrown when the stack set a variable wrong: names the variable, so the log says what to fix. */
export class EnvError extends Error {
  constructor(name: string, problem: string) {
    super(`Environment variable ${name} ${problem}`);
    this.name = 'EnvError';
  }
}

export function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new EnvError(name, 'is not set.');
  return value;
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new EnvError(name, `must be a non-negative number, got "${raw}".`);
  return value;
}

/** The JWT settings shared by the authorizer, the key issuer and discovery (each reads its own secret ARN). */
export interface JwtEnv extends Required<Omit<VerifyOptions, 'currentDate'>> {
  keyCacheTtlMs: number;
}

export function readJwtEnv(env: NodeJS.ProcessEnv = process.env): JwtEnv {
  const algorithm = requireEnv(env, 'JWT_ALGORITHM');
  if (!isAlgorithm(algorithm)) throw new EnvError('JWT_ALGORITHM', `has unsupported value "${algorithm}".`);
  const expiresIn = env.JWT_EXPIRES_IN ?? '3600';
  const maxLifetimeSeconds = parseDurationSeconds(expiresIn);
  if (maxLifetimeSeconds === undefined) throw new EnvError('JWT_EXPIRES_IN', `must be seconds or a duration like "30d", got "${expiresIn}".`);
  return {
    algorithm,
    issuer: requireEnv(env, 'JWT_ISSUER'),
    audience: requireEnv(env, 'JWT_AUDIENCE'),
    userIdField: env.JWT_USER_ID_FIELD || 'sub',
    companyIdField: env.JWT_COMPANY_ID_FIELD || 'org_id',
    clockToleranceSeconds: positiveNumber(env, 'JWT_CLOCK_TOLERANCE_SECONDS', 0),
    maxLifetimeSeconds,
    acceptPortalTokens: env.JWT_ACCEPT_PORTAL_TOKENS === 'true',
    keyCacheTtlMs: positiveNumber(env, 'KEY_CACHE_TTL_SECONDS', 300) * 1000,
  };
}
