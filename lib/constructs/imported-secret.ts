import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/**
 * An existing secret by ARN. A complete ARN ends in the 6 characters Secrets Manager appends to the
 * name and is granted as is. The settings parser admits only complete ARNs; a construct used directly may
 * still be given a partial one (the name only), granted with the `-??????` wildcard.
 */
export function importedSecret(scope: Construct, id: string, arn: string): ISecret {
  return /-[A-Za-z0-9]{6}$/.test(arn) ? Secret.fromSecretCompleteArn(scope, id, arn) : Secret.fromSecretPartialArn(scope, id, arn);
}
