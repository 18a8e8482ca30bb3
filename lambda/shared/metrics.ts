/**
 * CloudWatch Embedded Metric Format: a metric rides on the JSON log line the function writes anyway, and
 * CloudWatch Logs extracts it (no PutMetricData call, no SDK, no latency on the request path).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 *
 * The namespace comes from METRICS_NAMESPACE (the stack sets `JwtApi/<stack name>`); unset, no metric is
 * emitted (a log line stays a plain log line).
 */

/** The metrics the functions emit; the dashboard (lib/constructs/dashboard.ts) charts these very names. */
export const METRIC = {
  /** Authorizer answers, by Outcome (allow, deny) and Reason (ok, expired, revoked, ...). */
  decisions: 'AuthorizerDecisions',
  /** A function's first invocation in a new execution environment, by Function. */
  coldStarts: 'ColdStarts',
  keysMinted: 'KeysMinted',
  keysRevoked: 'KeysRevoked',
  eventsDelivered: 'EventsDelivered',
  eventsSkipped: 'EventsSkipped',
  eventsSampledOut: 'EventsSampledOut',
  /** Deliveries Moesif did not take after the in-invocation retries (Lambda retries, then the DLQ). */
  deliveryFailures: 'DeliveryFailures',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

export interface MetricOptions {
  /** Dimension sets; default one set of all the dimensions given. */
  sets?: string[][];
  env?: NodeJS.ProcessEnv;
  now?: number;
}

/**
 * The fields to add to a log line so that it also counts as the given metrics (values are counts), with the
 * given dimensions. Dimension values must be short and bounded (reason codes, not ids).
 */
export function metricFields(metrics: Partial<Record<MetricName, number>>, dimensions: Record<string, string> = {}, options: MetricOptions = {}): Record<string, unknown> {
  const namespace = (options.env ?? process.env).METRICS_NAMESPACE;
  if (!namespace) return {};
  return {
    _aws: {
      Timestamp: options.now ?? Date.now(),
      CloudWatchMetrics: [{ Namespace: namespace, Dimensions: options.sets ?? [Object.keys(dimensions)], Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: 'Count' })) }],
    },
    ...dimensions,
    ...metrics,
  };
}
