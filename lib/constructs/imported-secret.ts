import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/**
 * An existing secret by its complete ARN (the settings parser refuses a name-only ARN), granted exactly:
 * no `-??????` wildcard that could also match another secret whose name starts the same way.
 */
export function importedSecret(scope: Construct, id: string, arn: string): ISecret {
  return Secret.fromSecretCompleteArn(scope, id, arn);
}
