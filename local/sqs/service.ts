import type { MessageAttribute } from './digest';
import { invalidValue, missingParameter, queueDoesNotExist, SqsError, unsupported } from './errors';
import { LocalQueue, type QueueSettings, type StoredMessage } from './queue';

export interface SqsReply {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

type Input = Record<string, unknown>;

const MAX_WAIT_SECONDS = 20;

/** The system attributes of a message, as ReceiveMessage and Lambda's SQS event name them. */
export function systemAttributes(m: StoredMessage): Record<string, string> {
  const all: Record<string, string | undefined> = {
    ApproximateReceiveCount: String(m.receiveCount),
    SentTimestamp: String(m.sentAt),
    SenderId: m.senderId,
    ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt ?? m.sentAt),
    MessageGroupId: m.groupId,
    MessageDeduplicationId: m.dedupId,
    SequenceNumber: m.sequenceNumber,
    DeadLetterQueueSourceArn: m.deadLetterSourceArn,
  };
  return Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
}

function integer(input: Input, name: string, fallback: number, min: number, max: number): number {
  const value = input[name] ?? fallback;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) throw invalidValue(name, value, `Must be between ${min} and ${max}, if provided.`);
  return value as number;
}

function nameMatches(wanted: string[], name: string): boolean {
  return wanted.some((w) => w === 'All' || w === '.*' || w === name || (w.endsWith('.*') && name.startsWith(w.slice(0, -1))));
}

/**
 * SQS on 127.0.0.1 for the template's queues, spoken to in AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.<Op>`) as
 * `@aws-sdk/client-sqs` 3.x does. A queue's URL is `<local endpoint>/<account>/<name>`: the SDK sends a
 * call to its QueueUrl's host, so the URL must name this endpoint. Queues live in memory: their messages
 * do not survive a restart.
 */
export class LocalSqs {
  private readonly byPath = new Map<string, LocalQueue>();
  private readonly byArnMap = new Map<string, LocalQueue>();
  private stopped = false;

  constructor(
    private readonly print: (line: string) => void,
    private readonly clock: () => number = Date.now,
  ) {}

  createQueue(settings: QueueSettings): LocalQueue {
    const queue = new LocalQueue(settings, this.clock, (arn) => this.byArn(arn), this.print);
    this.byPath.set(new URL(settings.url).pathname, queue);
    this.byArnMap.set(settings.arn, queue);
    return queue;
  }

  get queues(): LocalQueue[] {
    return [...this.byArnMap.values()];
  }

  byArn(arn: string): LocalQueue | undefined {
    return this.byArnMap.get(arn);
  }

  /** A queue by its URL's path (`/<account>/<name>`), whatever host the URL names. */
  byUrl(queueUrl: unknown): LocalQueue {
    if (queueUrl === undefined || queueUrl === '') throw missingParameter('QueueUrl');
    let path: string;
    try {
      path = new URL(String(queueUrl)).pathname.replace(/\/$/, '');
    } catch {
      throw invalidValue('QueueUrl', queueUrl, 'It is not a URL.');
    }
    const queue = this.byPath.get(path);
    if (!queue) throw queueDoesNotExist();
    return queue;
  }

  /** Ends long polls and event source waits. */
  stop(): void {
    this.stopped = true;
    for (const q of this.queues) q.wake();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** One JSON 1.0 call; `senderId` is the caller's access key id (the SenderId attribute of what it sends). */
  async call(operation: string, input: Input, senderId: string): Promise<SqsReply> {
    try {
      return { status: 200, body: await this.operate(operation, input, senderId), headers: {} };
    } catch (err) {
      if (!(err instanceof SqsError)) throw err;
      return { status: err.status, body: { __type: err.type, message: err.message }, headers: { 'x-amzn-query-error': `${err.queryCode};Sender` } };
    }
  }

  private async operate(operation: string, input: Input, senderId: string): Promise<unknown> {
    switch (operation) {
      case 'GetQueueUrl': {
        const queue = this.queues.find((q) => q.settings.name === input.QueueName && (input.QueueOwnerAWSAccountId === undefined || q.settings.arn.split(':')[4] === input.QueueOwnerAWSAccountId));
        if (!queue) throw queueDoesNotExist();
        return { QueueUrl: queue.settings.url };
      }
      case 'ListQueues': {
        const prefix = String(input.QueueNamePrefix ?? '');
        return { QueueUrls: this.queues.filter((q) => q.settings.name.startsWith(prefix)).map((q) => q.settings.url) };
      }
      case 'SendMessage': {
        const m = this.byUrl(input.QueueUrl).send(this.sendInput(input, senderId));
        return this.sent(m);
      }
      case 'SendMessageBatch': {
        const queue = this.byUrl(input.QueueUrl);
        return this.batch(input.Entries, (entry) => this.sent(queue.send(this.sendInput(entry, senderId))));
      }
      case 'ReceiveMessage':
        return this.receive(this.byUrl(input.QueueUrl), input);
      case 'DeleteMessage':
        this.byUrl(input.QueueUrl).delete(input.ReceiptHandle);
        return {};
      case 'DeleteMessageBatch': {
        const queue = this.byUrl(input.QueueUrl);
        return this.batch(input.Entries, (entry) => queue.delete(entry.ReceiptHandle));
      }
      case 'ChangeMessageVisibility':
        this.byUrl(input.QueueUrl).changeVisibility(input.ReceiptHandle, input.VisibilityTimeout);
        return {};
      case 'ChangeMessageVisibilityBatch': {
        const queue = this.byUrl(input.QueueUrl);
        return this.batch(input.Entries, (entry) => queue.changeVisibility(entry.ReceiptHandle, entry.VisibilityTimeout));
      }
      case 'GetQueueAttributes':
        return { Attributes: this.attributes(this.byUrl(input.QueueUrl), (input.AttributeNames as string[] | undefined) ?? []) };
      case 'PurgeQueue':
        this.byUrl(input.QueueUrl).purge();
        return {};
      default:
        throw unsupported(`${operation} is not emulated by the local SQS (npm start).`);
    }
  }

  private sendInput(input: Input, senderId: string) {
    if (typeof input.MessageBody !== 'string') throw missingParameter('MessageBody');
    return {
      body: input.MessageBody,
      delaySeconds: input.DelaySeconds as number | undefined,
      attributes: (input.MessageAttributes as Record<string, MessageAttribute> | undefined) ?? {},
      senderId,
      groupId: input.MessageGroupId as string | undefined,
      dedupId: input.MessageDeduplicationId as string | undefined,
    };
  }

  private sent(m: StoredMessage): Record<string, unknown> {
    return { MessageId: m.id, MD5OfMessageBody: m.md5OfBody, ...(m.md5OfAttributes ? { MD5OfMessageAttributes: m.md5OfAttributes } : {}), ...(m.sequenceNumber ? { SequenceNumber: m.sequenceNumber } : {}) };
  }

  private async receive(queue: LocalQueue, input: Input): Promise<unknown> {
    const max = integer(input, 'MaxNumberOfMessages', 1, 1, 10);
    const visibility = integer(input, 'VisibilityTimeout', queue.settings.visibilityTimeoutSeconds, 0, 43_200);
    const wait = integer(input, 'WaitTimeSeconds', queue.settings.receiveWaitSeconds, 0, MAX_WAIT_SECONDS);
    const got = await queue.receiveWaiting(max, visibility, wait * 1000, () => this.stopped);
    const systemNames = [...((input.MessageSystemAttributeNames as string[] | undefined) ?? []), ...((input.AttributeNames as string[] | undefined) ?? [])];
    const attributeNames = (input.MessageAttributeNames as string[] | undefined) ?? [];
    const messages = got.map(({ message: m, receiptHandle }) => {
      const system = Object.fromEntries(Object.entries(systemAttributes(m)).filter(([k]) => systemNames.includes('All') || systemNames.includes(k)));
      const own = Object.fromEntries(Object.entries(m.attributes).filter(([k]) => nameMatches(attributeNames, k)));
      return {
        MessageId: m.id,
        ReceiptHandle: receiptHandle,
        // The SDK checks every body against this digest.
        MD5OfBody: m.md5OfBody,
        Body: m.body,
        ...(Object.keys(system).length ? { Attributes: system } : {}),
        ...(Object.keys(own).length ? { MessageAttributes: own, MD5OfMessageAttributes: m.md5OfAttributes } : {}),
      };
    });
    return messages.length ? { Messages: messages } : {};
  }

  private attributes(queue: LocalQueue, names: string[]): Record<string, string> {
    const s = queue.settings;
    const counts = queue.counts();
    const values: Record<string, string | undefined> = {
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      QueueArn: s.arn,
      VisibilityTimeout: String(s.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(s.retentionSeconds),
      DelaySeconds: String(s.delaySeconds),
      ReceiveMessageWaitTimeSeconds: String(s.receiveWaitSeconds),
      MaximumMessageSize: String(s.maxMessageBytes),
      RedrivePolicy: s.redrive ? JSON.stringify(s.redrive) : undefined,
      FifoQueue: s.fifo ? 'true' : undefined,
      ContentBasedDeduplication: s.fifo ? String(s.contentBasedDeduplication) : undefined,
    };
    const out: Record<string, string> = {};
    for (const name of names.includes('All') ? Object.keys(values) : names) {
      if (!(name in values)) throw new SqsError(400, 'com.amazonaws.sqs#InvalidAttributeName', 'InvalidAttributeName', `Unknown Attribute ${name}.`);
      if (values[name] !== undefined) out[name] = values[name]!;
    }
    return out;
  }

  /** Runs `each` per entry; a failed entry goes to Failed, as in the service's batch answers. */
  private batch(entries: unknown, each: (entry: Input) => Record<string, unknown> | void): unknown {
    const list = (entries ?? []) as Input[];
    if (list.length === 0) throw new SqsError(400, 'com.amazonaws.sqs#EmptyBatchRequest', 'AWS.SimpleQueueService.EmptyBatchRequest', 'There should be at least one entry in the request.');
    if (list.length > 10) throw new SqsError(400, 'com.amazonaws.sqs#TooManyEntriesInBatchRequest', 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 'Maximum number of entries per request are 10.');
    const ids = list.map((e) => e.Id);
    if (new Set(ids).size !== ids.length) throw new SqsError(400, 'com.amazonaws.sqs#BatchEntryIdsNotDistinct', 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct', 'Two or more batch entries in the request have the same Id.');
    const Successful: unknown[] = [];
    const Failed: unknown[] = [];
    for (const entry of list) {
      try {
        Successful.push({ Id: entry.Id, ...(each(entry) ?? {}) });
      } catch (err) {
        if (!(err instanceof SqsError)) throw err;
        Failed.push({ Id: entry.Id, SenderFault: true, Code: err.queryCode, Message: err.message });
      }
    }
    return { Successful, Failed };
  }
}
