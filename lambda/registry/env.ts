import { EnvError, requireEnv } from '../shared/env';
import type { RevocationFailMode } from './revocation-state';

/** The registry settings the key-admin function and the authorizer read (both from the same stack config). */
export interface RegistryEnv {
  /** KEY_REGISTRY_TABLE */
  tableName: string;
  /** REVOCATION_REFRESH_SECONDS (revocationRefreshSeconds): the authorizer state's greatest age. @default 5 */
  refreshSeconds: number;
  /** REVOCATION_FAIL_MODE (revocationFailMode): a cold authorizer without state refuses or allows. @default closed */
  failMode: RevocationFailMode;
  /** REVOCATION_ENFORCED: false in native mode, where API Gateway's JWT authorizer cannot consult the registry. @default true */
  enforced: boolean;
  /** STAGE_BUMP_QUEUE_URL: where cache invalidations are scheduled; unset = no authorizer cache to invalidate. */
  stageBumpQueueUrl?: string;
}

export function readRegistryEnv(env: NodeJS.ProcessEnv = process.env): RegistryEnv {
  const rawRefresh = env.REVOCATION_REFRESH_SECONDS ?? '5';
  const refreshSeconds = Number(rawRefresh);
  if (!/^\d+$/.test(rawRefresh) || refreshSeconds < 1 || refreshSeconds > 300) {
    throw new EnvError('REVOCATION_REFRESH_SECONDS', `must be a whole number of seconds from 1 to 300, got "${rawRefresh}".`);
  }
  const failMode = env.REVOCATION_FAIL_MODE || 'closed';
  if (failMode !== 'closed' && failMode !== 'open') throw new EnvError('REVOCATION_FAIL_MODE', `must be "closed" or "open", got "${failMode}".`);
  const enforced = env.REVOCATION_ENFORCED || 'true';
  if (enforced !== 'true' && enforced !== 'false') throw new EnvError('REVOCATION_ENFORCED', `must be "true" or "false", got "${enforced}".`);
  return {
    tableName: requireEnv(env, 'KEY_REGISTRY_TABLE'),
    refreshSeconds,
    failMode,
    enforced: enforced === 'true',
    stageBumpQueueUrl: env.STAGE_BUMP_QUEUE_URL || undefined,
  };
}
