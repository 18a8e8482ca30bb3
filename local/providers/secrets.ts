import { stableId } from '../names';
import { generateSecretString, type GenerateOptions } from '../secret-generator';
import type { Provider } from './types';

/**
 * AWS::SecretsManager::Secret: created once with its SecretString or GenerateSecretString; a restart
 * finds it (same name and ARN) and keeps its value, as a deployed stack keeps its secret.
 */
export const secretProvider: Provider = async ({ logicalId, props, services }) => {
  const seed = `${services.env.stackName}/${logicalId}`;
  const name = typeof props.Name === 'string' ? props.Name : `${logicalId}-${stableId(seed, 12)}`;
  const { arn } = services.secrets.ensure(
    name,
    stableId(`${seed}/arn`, 6),
    () => (typeof props.SecretString === 'string' ? props.SecretString : generateSecretString((props.GenerateSecretString ?? {}) as GenerateOptions)),
    props.Description as string | undefined,
  );
  return { physicalId: arn, attributes: { Id: arn } };
};
