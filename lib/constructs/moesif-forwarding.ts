import { Duration, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { FilterPattern, type ILogGroup, type RetentionDays, SubscriptionFilter } from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption, RedrivePermission } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { MoesifApplicationId } from './moesif-application-id';
import { ProjectFunction } from './project-function';

export interface MoesifForwardingProps {
  /** The stage's access-log group (JSON lines of `$context` values). */
  readonly accessLogGroup: ILogGroup;
  readonly applicationId: MoesifApplicationId;
  /** Moesif collector base URL. @default https://api.moesif.net */
  readonly baseUrl?: string;
  /** Times Lambda retries a failed asynchronous invocation before the DLQ. @default 2 */
  readonly retryAttempts?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Where the alarms notify. @default no action (the alarms show in CloudWatch only) */
  readonly alarmTopic?: ITopic;
}

/**
 * Ships access-log lines to Moesif: a subscription filter invokes the forwarder asynchronously;
 * a batch Moesif does not take after in-invocation retries fails the invocation, Lambda retries it,
 * and the payload then lands in an encrypted DLQ watched by an alarm (redrive with `npm run dlq:redrive`).
 */
export class MoesifForwarding extends Construct {
  public readonly function: ProjectFunction;
  public readonly deadLetterQueue: Queue;
  public readonly deadLetterAlarm: Alarm;
  /** Fires when Lambda could not even write a failed payload to the DLQ (e.g. a record over the SQS size limit). */
  public readonly destinationFailureAlarm: Alarm;

  constructor(scope: Construct, id: string, props: MoesifForwardingProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Declares it a dead-letter queue (CT.SQS.PR.1). allowAll is also what SQS assumes without a policy.
      redriveAllowPolicy: { redrivePermission: RedrivePermission.ALLOW_ALL },
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue (on-failure destination) of the Moesif forwarder.',
    });

    this.function = new ProjectFunction(this, 'Function', {
      entry: 'moesif-forwarder.ts',
      description: 'Forwards HTTP API access logs to Moesif in batches',
      environment: {
        MOESIF_APPLICATION_ID_SECRET_ARN: props.applicationId.secret.secretArn,
        MOESIF_BASE_URL: props.baseUrl ?? 'https://api.moesif.net',
      },
      // Room for backoff between retries inside one invocation.
      timeout: Duration.seconds(60),
      logRetention: props.logRetention,
    });
    props.applicationId.grantRead(this.function);
    this.function.configureAsyncInvoke({
      retryAttempts: props.retryAttempts ?? 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.deadLetterQueue),
    });

    new SubscriptionFilter(this, 'Subscription', {
      logGroup: props.accessLogGroup,
      destination: new LambdaDestination(this.function),
      filterPattern: FilterPattern.allEvents(),
    });

    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: 'Access-log batches failed to reach Moesif and wait in the DLQ. Fix the cause, then run npm run dlq:redrive.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.destinationFailureAlarm = new Alarm(this, 'DestinationFailureAlarm', {
      alarmDescription: 'Lambda could not deliver a failed Moesif batch to the DLQ: those access-log lines are lost.',
      metric: this.function.metric('DestinationDeliveryFailures', { statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    if (props.alarmTopic) {
      for (const alarm of [this.deadLetterAlarm, this.destinationFailureAlarm]) alarm.addAlarmAction(new SnsAction(props.alarmTopic));
    }


  }
}
