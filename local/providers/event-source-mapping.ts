import { arn, stableId } from '../names';
import type { Provider } from './types';

/**
 * AWS::Lambda::EventSourceMapping: an SQS queue of the template polled for its function (see
 * LocalEventSources). Other sources (streams, Kafka, MQ) are named and left alone.
 */
export const eventSourceMappingProvider: Provider = async ({ logicalId, props, services }) => {
  const hex = stableId(`${services.env.stackName}/${logicalId}`, 32, '0123456789abcdef');
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const deployed = { physicalId: id, attributes: { Id: id, EventSourceMappingArn: arn(services.env, 'lambda', `event-source-mapping:${id}`) } };
  const source = String(props.EventSourceArn ?? props.SelfManagedEventSource ?? '');
  const queue = services.sqs.byArn(source);
  if (!queue) {
    services.print(`lambda: event source mapping ${logicalId} reads ${source || 'a source'}, which is not a local SQS queue: not emulated`);
    return deployed;
  }
  const fn = services.lambda.find(String(props.FunctionName ?? ''));
  if (!fn) {
    services.print(`lambda: event source mapping ${logicalId} invokes ${String(props.FunctionName)}, which is not a local function: not emulated`);
    return deployed;
  }
  if (props.Enabled === false || props.Enabled === 'false') {
    services.print(`lambda: event source mapping ${logicalId} (${queue.settings.label} → ${fn.label}) is disabled`);
    return deployed;
  }
  if (props.FilterCriteria !== undefined) services.print(`lambda: ${logicalId}'s FilterCriteria is not emulated: every message reaches ${fn.label}`);
  services.eventSources.addSqs({
    id,
    queue,
    functionRef: fn.arn,
    functionLabel: fn.label,
    batchSize: Number(props.BatchSize ?? 10),
    batchingWindowSeconds: Number(props.MaximumBatchingWindowInSeconds ?? 0),
    reportBatchItemFailures: ((props.FunctionResponseTypes as string[] | undefined) ?? []).includes('ReportBatchItemFailures'),
  });
  return deployed;
};
