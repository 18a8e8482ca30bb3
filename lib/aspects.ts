import { Stack, type IAspect } from 'aws-cdk-lib';
import { CfnPermission } from 'aws-cdk-lib/aws-lambda';
import { CfnLogGroup } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';

/**
 * Every permission that lets an AWS service invoke one of our functions names our account as the
 * source. Without it the service may invoke the function on behalf of any account (the confused-deputy
 * problem, AWS Control Tower CT.LAMBDA.PR.2); CDK's grants to Secrets Manager rotation and API Gateway
 * set no such condition (API Gateway's carries a SourceArn that the check cannot read as local).
 */
export class ServiceInvokeFromOwnAccount implements IAspect {
  public visit(node: IConstruct): void {
    if (node instanceof CfnPermission && typeof node.principal === 'string' && node.principal.endsWith('.amazonaws.com') && !node.sourceAccount) {
      node.sourceAccount = Stack.of(node).account;
    }
  }
}

/** Encrypts every log group of the stack with the customer-managed KMS key given (config `logsKmsKeyArn`). */
export class LogGroupEncryption implements IAspect {
  constructor(private readonly kmsKeyArn: string) {}

  public visit(node: IConstruct): void {
    if (node instanceof CfnLogGroup && !node.kmsKeyId) node.kmsKeyId = this.kmsKeyArn;
  }
}
