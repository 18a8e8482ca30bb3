import { arn, generatedName } from '../names';
import { displayName } from '../template';
import type { QueueSettings } from '../sqs/queue';
import type { Provider } from './types';

function seconds(value: unknown, fallback: number, name: string, logicalId: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${logicalId}.${name} must be a whole number, got ${JSON.stringify(value)}.`);
  return n;
}

/** RedrivePolicy is an object in templates, or a JSON string (as SQS itself stores it). */
function redriveOf(value: unknown, logicalId: string): QueueSettings['redrive'] {
  if (value === undefined) return undefined;
  const policy = (typeof value === 'string' ? JSON.parse(value) : value) as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
  const maxReceiveCount = Number(policy.maxReceiveCount);
  if (typeof policy.deadLetterTargetArn !== 'string' || !Number.isInteger(maxReceiveCount) || maxReceiveCount < 1) {
    throw new Error(`${logicalId}.RedrivePolicy needs deadLetterTargetArn and a maxReceiveCount of 1 or more.`);
  }
  return { deadLetterTargetArn: policy.deadLetterTargetArn, maxReceiveCount };
}

/**
 * AWS::SQS::Queue: a queue of the local SQS. Its Ref (and QueueUrl) is a URL on the local AWS endpoint:
 * the SDK sends each call to its QueueUrl's host, whatever AWS_ENDPOINT_URL_SQS says.
 */
export const queueProvider: Provider = async ({ logicalId, resource, props, services }) => {
  const { env } = services;
  const fifo = props.FifoQueue === true || props.FifoQueue === 'true';
  const name = typeof props.QueueName === 'string' ? props.QueueName : fifo ? `${generatedName(env.stackName, logicalId, 75)}.fifo` : generatedName(env.stackName, logicalId, 80);
  if (fifo !== name.endsWith('.fifo')) throw new Error(`${logicalId}: a FIFO queue's name ends in .fifo, and only a FIFO queue's does (QueueName ${name}).`);
  const url = `${services.awsEndpointUrl}/${env.account}/${name}`;
  const queueArn = arn(env, 'sqs', name);
  if (props.KmsMasterKeyId !== undefined) services.print(`sqs: ${logicalId}'s KMS encryption is not emulated (messages are kept in memory)`);
  services.sqs.createQueue({
    name,
    url,
    arn: queueArn,
    label: displayName(logicalId, resource),
    visibilityTimeoutSeconds: seconds(props.VisibilityTimeout, 30, 'VisibilityTimeout', logicalId),
    delaySeconds: seconds(props.DelaySeconds, 0, 'DelaySeconds', logicalId),
    retentionSeconds: seconds(props.MessageRetentionPeriod, 345_600, 'MessageRetentionPeriod', logicalId),
    receiveWaitSeconds: seconds(props.ReceiveMessageWaitTimeSeconds, 0, 'ReceiveMessageWaitTimeSeconds', logicalId),
    maxMessageBytes: seconds(props.MaximumMessageSize, 262_144, 'MaximumMessageSize', logicalId),
    fifo,
    contentBasedDeduplication: props.ContentBasedDeduplication === true || props.ContentBasedDeduplication === 'true',
    redrive: redriveOf(props.RedrivePolicy, logicalId),
  });
  return { physicalId: url, attributes: { Arn: queueArn, QueueName: name, QueueUrl: url } };
};
