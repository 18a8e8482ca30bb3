import { Duration, Stack } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AnomalyDetectionAlarm,
  ComparisonOperator,
  Dashboard as CloudWatchDashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC } from '../../lambda/shared/metrics';

export interface DashboardProps {
  /** The namespace the functions' embedded metrics go to (their METRICS_NAMESPACE). */
  readonly namespace: string;
  readonly api: IHttpApi;
  /** @default '$default' */
  readonly stageName?: string;
  /** The Lambda authorizer (Lambda mode). */
  readonly authorizer?: IFunction;
  /** The key admin function. */
  readonly keyAdmin: IFunction;
  /**
   * Whether keys can be revoked (the key admin's REVOCATION_ENFORCED): without it the revoke routes answer 409,
   * KeysRevoked is never emitted, and the dashboard leaves out its always-empty line.
   * @default true when `authorizer` is given (only the Lambda authorizer consults the key registry)
   */
  readonly revocationEnforced?: boolean;
  /** The Moesif forwarder and its dead-letter queue (forwarding on). */
  readonly forwarder?: { function: IFunction; deadLetterQueue: IQueue };
  /** Where the alarms notify. */
  readonly alarmTopic?: ITopic;
  /** @default the stack name */
  readonly dashboardName?: string;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * A CloudWatch dashboard of the API at a glance: API Gateway's traffic, errors and latency; the authorizer's
 * invocations, duration, errors and cold starts; its decisions by reason; keys minted and revoked; and what
 * reaches Moesif. Two alarms: authorizer errors (a 500 at the gateway), and a rise of refusals beyond what
 * CloudWatch's anomaly detection expects (a broken client release, a flood of stolen or forged keys).
 */
export class Dashboard extends Construct {
  public readonly dashboard: CloudWatchDashboard;
  public readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    const stage = props.stageName ?? '$default';
    const revocation = props.revocationEnforced ?? props.authorizer !== undefined;
    const emf = (metricName: string, dimensionsMap: Record<string, string> = {}, label?: string) =>
      new Metric({ namespace: props.namespace, metricName, dimensionsMap, statistic: 'Sum', period: FIVE_MINUTES, label });
    const api = (metricName: string, statistic = 'Sum', label?: string) =>
      new Metric({ namespace: 'AWS/ApiGateway', metricName, dimensionsMap: { ApiId: props.api.apiId, Stage: stage }, statistic, period: FIVE_MINUTES, label });

    this.dashboard = new CloudWatchDashboard(this, 'Dashboard', { dashboardName: props.dashboardName ?? Stack.of(this).stackName, defaultInterval: Duration.hours(3) });
    const graph = (title: string, left: IMetric[], right: IMetric[] = []) => new GraphWidget({ title, left, right, width: 12, height: 6 });

    this.dashboard.addWidgets(
      new TextWidget({ markdown: `# ${Stack.of(this).stackName}: JWT API keys\nTraffic, the authorizer's decisions, keys and Moesif delivery. Reason codes: see the README (Security).`, width: 24, height: 2 }),
    );
    this.dashboard.addWidgets(
      graph('API requests and errors', [api('Count', 'Sum', 'requests'), api('4xx', 'Sum', '4xx'), api('5xx', 'Sum', '5xx')]),
      graph('API latency (ms)', [api('Latency', 'p50', 'p50'), api('Latency', 'p99', 'p99'), api('IntegrationLatency', 'p99', 'integration p99')]),
    );

    const refusals = emf(METRIC.decisions, { Outcome: 'deny' }, 'refused');
    if (props.authorizer) {
      const fn = props.authorizer;
      this.dashboard.addWidgets(
        graph(
          'Authorizer invocations, errors, cold starts',
          [fn.metricInvocations({ period: FIVE_MINUTES }), fn.metricErrors({ period: FIVE_MINUTES }), emf(METRIC.coldStarts, { Function: 'authorizer' }, 'cold starts')],
          [fn.metricDuration({ statistic: 'p50', period: FIVE_MINUTES, label: 'duration p50' }), fn.metricDuration({ statistic: 'p99', period: FIVE_MINUTES, label: 'duration p99' })],
        ),
        new GraphWidget({
          title: 'Authorizer decisions by reason',
          left: [
            emf(METRIC.decisions, { Outcome: 'allow' }, 'allowed'),
            refusals,
            new MathExpression({
              // The namespace is quoted: a schema name with a character other than a letter or digit (the `/`, a
              // hyphen in the stack name) must be. https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/search-expression-syntax.html
              expression: `SEARCH('{"${props.namespace}",Outcome,Reason} MetricName="${METRIC.decisions}" Outcome="deny"', 'Sum', 300)`,
              label: '',
              period: FIVE_MINUTES,
            }),
          ],
          width: 12,
          height: 6,
        }),
      );
      const errors = new Alarm(this, 'AuthorizerErrors', {
        alarmDescription: 'The Lambda authorizer threw or timed out: API Gateway answers 500 to those callers. Check its log group.',
        metric: fn.metricErrors({ period: FIVE_MINUTES }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      const rise = new AnomalyDetectionAlarm(this, 'RefusalsRise', {
        alarmDescription: 'More keys are refused than usual: a client release sending bad keys, a revocation wave, or a flood of forged or stolen keys. See the reasons on the dashboard.',
        metric: refusals,
        stdDevs: 3,
        evaluationPeriods: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      this.alarms.push(errors, rise);
    }

    const moesif: IMetric[] = props.forwarder
      ? [
          emf(METRIC.eventsDelivered, {}, 'delivered'),
          emf(METRIC.eventsSkipped, {}, 'skipped'),
          emf(METRIC.eventsSampledOut, {}, 'sampled out'),
          emf(METRIC.deliveryFailures, {}, 'failed deliveries'),
          props.forwarder.deadLetterQueue.metricNumberOfMessagesSent({ period: FIVE_MINUTES, label: 'dead-lettered' }),
        ]
      : [];
    this.dashboard.addWidgets(
      graph(
        revocation ? 'Keys minted and revoked' : 'Keys minted',
        [emf(METRIC.keysMinted, {}, 'minted'), ...(revocation ? [emf(METRIC.keysRevoked, {}, 'revoked')] : [])],
        [props.keyAdmin.metricErrors({ period: FIVE_MINUTES, label: 'key admin errors' })],
      ),
      ...(moesif.length ? [graph('Moesif forwarding', moesif)] : []),
    );

    if (props.alarmTopic) for (const alarm of this.alarms) alarm.addAlarmAction(new SnsAction(props.alarmTopic));
  }

  /** The console link to the dashboard. */
  public get url(): string {
    const stack = Stack.of(this);
    return `https://${stack.region}.console.aws.amazon.com/cloudwatch/home?region=${stack.region}#dashboards:name=${this.dashboard.dashboardName}`;
  }
}
