import { Duration, Stack } from 'aws-cdk-lib';
import type { HttpApi, HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption, RedrivePermission } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ProjectFunction } from './project-function';

/** The stage variable in every Lambda authorizer cache key; a bump changes its value. */
export const REVOCATION_STAGE_VARIABLE = 'revocationVersion';

export interface AuthorizerCacheBumpProps {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Where the alarm on undelivered bumps notifies. */
  readonly alarmTopic?: ITopic;
}

/**
 * Invalidates API Gateway's Lambda authorizer cache after a revocation, without a shorter TTL for every
 * key. HTTP API authorizers may use stage variables as identity sources, and identity sources are the cache
 * key; the stage carries `revocationVersion` (set in the template, so it always exists: an empty identity
 * source would make API Gateway answer 401 without calling the authorizer). A revocation queues a message
 * delayed until every authorizer container has read the revocation; the consumer (lambda/stage-bump.ts)
 * then sets the variable to a new value with UpdateStage, once per batch, so a burst costs one bump.
 */
export class AuthorizerCacheBump extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly function: ProjectFunction;
  public readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: AuthorizerCacheBumpProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      redriveAllowPolicy: { redrivePermission: RedrivePermission.ALLOW_ALL },
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Longer than the function's timeout, as SQS event sources require.
      visibilityTimeout: Duration.seconds(60),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });

    this.function = new ProjectFunction(this, 'Function', {
      entry: 'stage-bump.ts',
      description: 'Bumps the revocationVersion stage variable so API Gateway re-asks the authorizer after a revocation',
      environment: { API_ID: props.api.apiId, STAGE_NAME: props.stage.stageName },
      timeout: Duration.seconds(20),
      logRetention: props.logRetention,
    });
    // UpdateStage writes the whole variable map it read: one bump at a time, so none drops another's value.
    (this.function.node.defaultChild as CfnFunction).reservedConcurrentExecutions = 1;
    // It re-queues a message not yet due (a roll's grace can outlast SQS's 15-minute delay).
    this.bindSender(this.function);
    // Only this one stage, read and updated.
    const stageArn = Stack.of(this).formatArn({ service: 'apigateway', account: '', resource: `/apis/${props.api.apiId}/stages/${props.stage.stageName}` });
    this.function.addToRolePolicy(new PolicyStatement({ actions: ['apigateway:GET', 'apigateway:PATCH'], resources: [stageArn] }));
    this.function.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, maxBatchingWindow: Duration.seconds(1), reportBatchItemFailures: true }));

    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: 'A revocation could not bump the authorizer cache: revoked keys may work until the authorizer cache TTL ends. Check the stage-bump function logs.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) this.deadLetterAlarm.addAlarmAction(new SnsAction(props.alarmTopic));
  }

  /** Binds a function that queues bumps (the key admin): STAGE_BUMP_QUEUE_URL and sqs:SendMessage. */
  public bindSender(fn: LambdaFunction): void {
    this.queue.grantSendMessages(fn);
    fn.addEnvironment('STAGE_BUMP_QUEUE_URL', this.queue.queueUrl);
  }
}
