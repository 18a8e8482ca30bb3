import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { bundlesDir } from '../lambda-bundles';

export interface ProjectFunctionProps {
  /** Entry file under `lambda/`, e.g. `authorizer.ts`. */
  readonly entry: string;
  readonly description: string;
  readonly environment?: Record<string, string>;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** @default 256 MB (on ARM64 this buys enough CPU for RSA/EC work) */
  readonly memorySize?: number;
  /** Retention of the function's own log group. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * The project's Lambda defaults, fixed once: Node.js 22 on ARM64, an ESM bundle minified by esbuild (no
 * Docker; all functions in one esbuild call per process, see lib/lambda-bundles.ts), the AWS SDK left to the
 * runtime, JSON logs in a log group with a retention.
 */
export class ProjectFunction extends LambdaFunction {
  constructor(scope: Construct, id: string, props: ProjectFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Its own role, allowed to write to its own log group only (no AWSLambdaBasicExecutionRole, whose
    // logs:* reach every group in the account).
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
      inlinePolicies: {
        Logs: new PolicyDocument({
          statements: [new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] })],
        }),
      },
    });
    super(scope, id, {
      role,
      code: Code.fromAsset(path.join(bundlesDir(), props.entry.replace(/\.ts$/, ''))),
      handler: 'index.handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: props.environment,
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions::AwsSolutions-L1',
      reason: 'Pinned to nodejs22.x on purpose: the bundle targets node22 and the project supports the Node 22 runtime; the upgrade is this one line.',
    });
  }
}
