import { parseApplicationIdSecret } from '../lambda/moesif/client';
import { LOCAL_MOESIF_APPLICATION_ID } from './moesif-collector';
import type { LocalSecretsManager } from './secrets-manager';

export interface MoesifLocalSettings {
  /** Where Moesif calls go: the user's MOESIF_BASE_URL, else the local collector. */
  baseUrl: string;
  /** The user's MOESIF_APPLICATION_ID, when set. */
  applicationId?: string;
  secrets: LocalSecretsManager;
  print: (line: string) => void;
}

/**
 * The one local change to a function's environment: a function that talks to Moesif (it has
 * MOESIF_BASE_URL) talks to the local collector instead, and the Application Id secret it reads gets a
 * usable id when it still holds the deploy-time placeholder.
 */
export function moesifEnvironment(env: Record<string, string>, settings: MoesifLocalSettings): Record<string, string> {
  if (!('MOESIF_BASE_URL' in env)) return env;
  const secretArn = env.MOESIF_APPLICATION_ID_SECRET_ARN;
  if (secretArn && settings.secrets.find(secretArn)) {
    let usable = true;
    try {
      parseApplicationIdSecret(settings.secrets.current(secretArn));
    } catch {
      usable = false;
    }
    if (settings.applicationId || !usable) {
      const id = settings.applicationId ?? LOCAL_MOESIF_APPLICATION_ID;
      if (settings.secrets.current(secretArn) !== JSON.stringify({ applicationId: id })) settings.secrets.putCurrent(secretArn, JSON.stringify({ applicationId: id }));
    }
  }
  return { ...env, MOESIF_BASE_URL: settings.baseUrl };
}
