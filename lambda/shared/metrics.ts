/**
 * CloudWatch Embedded Metric Format: a metric rides on the JSON log line the function writes anyway, and
 * CloudWatch Logs extracts it (no PutMetricData call, no SDK, no latency on the request path).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 *
 * The namespace comes from METRICS_NAMESPACE (the stack sets `JwtApi/<stack name>`); unset, no metric is
 * emitted (a log line stays a plain log line).
 */

export interface MetricFields {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: 'Count' | 'Milliseconds' }> }>;
  };
  [field: string]: unknown;
}

/**
 * The fields to add to a log line so that it also counts as the given metrics, with the given dimensions
 * (one dimension set: all of them). Values of dimensions must be short and bounded (reason codes, not ids).
 */
export function metricFields(metrics: Record<string, number>, dimensions: Record<string, string> = {}, env: NodeJS.ProcessEnv = process.env, now = Date.now()): Partial<MetricFields> {
  const namespace = env.METRICS_NAMESPACE;
  if (!namespace) return {};
  return {
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [Object.keys(dimensions)], Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: 'Count' as const })) }],
    },
    ...dimensions,
    ...metrics,
  };
}
