/**
 * Bundle-time stand-in for lambda/registry/authorizer-state.ts (bench only): the revocation state with a
 * change feed that reads nothing, so no DynamoDB client is loaded. A lower bound for a revocation list
 * served without the SDK (e.g. through the Parameters and Secrets extension, one more GET at the first
 * call, in parallel with the keys'); not a design: it never sees a revocation.
 */
import { readRegistryEnv } from '../../../lambda/registry/env';
import { createRevocationState, type RevocationState } from '../../../lambda/registry/revocation-state';

export function revocationStateFromEnv(maxLifetimeSeconds: number, env: NodeJS.ProcessEnv = process.env): RevocationState {
  const { refreshSeconds, failMode } = readRegistryEnv(env);
  return createRevocationState({ feed: { since: async () => [], calls: 0 }, refreshMs: refreshSeconds * 1000, failMode, maxLifetimeSeconds });
}
