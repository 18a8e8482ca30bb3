import { log } from '../shared/log';
import { createApplicationDirectory, type ApplicationDirectory } from './application-directory';
import { createChangeFeed } from './changes';
import { dynamoClient } from './clients';
import { readRegistryEnv } from './env';
import { createRevocationState, type RevocationState } from './revocation-state';

/**
 * The authorizer's revocation state as the stack configures it (KEY_REGISTRY_TABLE,
 * REVOCATION_REFRESH_SECONDS, REVOCATION_FAIL_MODE), read from DynamoDB through the shared client.
 * Create it once at module scope; `void state.refresh()` at init starts the cold load early.
 */
export function revocationStateFromEnv(maxLifetimeSeconds: number, env: NodeJS.ProcessEnv = process.env): RevocationState {
  const { tableName, refreshSeconds, failMode } = readRegistryEnv(env);
  return createRevocationState({
    feed: createChangeFeed(dynamoClient(), tableName),
    refreshMs: refreshSeconds * 1000,
    failMode,
    maxLifetimeSeconds,
    onError: (err, { cold }) =>
      log(cold ? 'ERROR' : 'WARN', cold ? `revocation state unavailable: failing ${failMode}` : 'revocation state refresh failed: keeping the last state', {
        error: (err as Error)?.name,
        errorMessage: (err as Error)?.message,
      }),
  });
}

/**
 * The revocation state and the application directory on one change feed (one Query per refresh interval
 * serves both). Create once at module scope; the directory is for client-signed and outside-issuer tokens.
 */
export function registryReadersFromEnv(maxLifetimeSeconds: number, env: NodeJS.ProcessEnv = process.env): { revocations: RevocationState; directory: ApplicationDirectory } {
  const revocations = revocationStateFromEnv(maxLifetimeSeconds, env);
  const directory = createApplicationDirectory({ client: dynamoClient(), tableName: readRegistryEnv(env).tableName, changes: revocations });
  return { revocations, directory };
}
