import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { importedSecret } from './imported-secret';

export interface MoesifApplicationIdProps {
  /**
   * A secret that already holds the Moesif Application Id (raw, or JSON `{"applicationId":"..."}`).
   * @default a new secret with an empty `applicationId` for you to fill in after deploy
   */
  readonly existingSecretArn?: string;
}

/**
 * The Moesif Application Id, kept in Secrets Manager and read at run time, so it never sits in a
 * template or an environment variable.
 */
export class MoesifApplicationId extends Construct {
  public readonly secret: ISecret;

  constructor(scope: Construct, id: string, props: MoesifApplicationIdProps = {}) {
    super(scope, id);
    if (props.existingSecretArn) {
      this.secret = importedSecret(this, 'Secret', props.existingSecretArn);
      return;
    }
    const secret = new Secret(this, 'Secret', {
      description: 'Moesif Application Id (Moesif > Settings > API Keys). Set {"applicationId":"<id>"}; until then events wait in the DLQ.',
      // An empty applicationId the forwarder recognises as "not filled in yet".
      generateSecretString: { secretStringTemplate: '{"applicationId":""}', generateStringKey: 'placeholder', excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason: 'A third-party API key issued by Moesif: it is rotated in the Moesif console, not by a Secrets Manager rotation function.',
    });
    this.secret = secret;
  }

  public grantRead(grantee: IGrantable): void {
    this.secret.grantRead(grantee);
  }
}
