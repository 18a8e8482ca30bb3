import { Aspects, Stack, Token, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { LogGroupEncryption, ServiceInvokeFromOwnAccount } from './aspects';
import type { AppConfig } from './config';

/**
 * Choices AWS Control Tower's proactive controls (cfn-guard, run at synth) ask about, fixed where the fix
 * is ours and acknowledged with the reason where it is the user's; for everything under `scope` (the
 * construct's own resources, or the whole standalone stack).
 */
export function complianceChoices(scope: IConstruct, config: AppConfig): void {
  Aspects.of(scope).add(new ServiceInvokeFromOwnAccount());
  if (Token.isUnresolved(Stack.of(scope).account)) {
    Validations.of(scope).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
      reason: 'Every service permission names SourceAccount = the deploying account (Ref AWS::AccountId) (CT.LAMBDA.PR.2); the static check reads only a literal, which it gets when the stack has an account in its env.',
    });
  }
  if (config.logsKmsKeyArn) {
    Aspects.of(scope).add(new LogGroupEncryption(config.logsKmsKeyArn));
  } else {
    Validations.of(scope).acknowledge({
      id: 'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check',
      reason: 'CloudWatch Logs encrypts every log group at rest with its own keys; a customer-managed key (CT.CLOUDWATCH.PR.3) is opt-in with -c logsKmsKeyArn=<key ARN>, since its key policy must admit the logs service.',
    });
  }
  if (config.logRetentionDays < 365) {
    Validations.of(scope).acknowledge({
      id: 'cdk-validator-cfnguard::cloudwatch_log_group_retention_period_check',
      reason: `Logs are kept ${config.logRetentionDays} days (logRetentionDays). CT.CLOUDWATCH.PR.2 asks for 365: storage is $0.03 per GB-month, ~0.6 GB of access log per million calls, so a year of retention holds ~12x what 30 days holds. Set -c logRetentionDays=365 where an audit needs it.`,
    });
  }
  Validations.of(scope).acknowledge({
    id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
    reason: 'The functions reach only AWS APIs (Secrets Manager, DynamoDB, API Gateway) and Moesif over TLS; a VPC (CT.LAMBDA.PR.3) would add NAT or endpoint cost and cold-start time and protect nothing they hold.',
  });
}
