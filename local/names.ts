import { createHash } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A stable pseudo-random id: the same seed gives the same id on every start, so physical names and
 * ARNs (and what the state folder holds under them) survive restarts, as a deployed stack's do.
 */
export function stableId(seed: string, length: number, alphabet = ALNUM): string {
  const bytes = createHash('sha256').update(seed).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i % bytes.length] % alphabet.length];
  return out;
}

/** An API Gateway id (10 lowercase letters and digits, like `a1b2c3d4e5`). */
export function apiGatewayId(seed: string, length = 10): string {
  return stableId(seed, length, LOWER_ALNUM);
}

/** The name CloudFormation gives a resource that has none: `<stack>-<logicalId>-<suffix>`, cut to `max`. */
export function generatedName(stackName: string, logicalId: string, max = 64): string {
  const suffix = stableId(`${stackName}/${logicalId}`, 12).toUpperCase();
  const head = `${stackName}-${logicalId}`.slice(0, Math.max(1, max - suffix.length - 1));
  return `${head}-${suffix}`;
}

export interface Environment {
  region: string;
  account: string;
  partition: string;
  urlSuffix: string;
  stackName: string;
}

export function arn(env: Environment, service: string, resource: string, region = env.region, account = env.account): string {
  return `arn:${env.partition}:${service}:${region}:${account}:${resource}`;
}
