import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpServer } from './local-server';

interface StoredMessage {
  id: string;
  body: string;
  sentAt: number;
  /** Epoch ms from which a receive may return it; in flight until then. */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** Every receipt handle a receive gave out for it; the last one is current. */
  receipts: string[];
}

interface StoredQueue {
  arn: string;
  createdAt: number;
  messages: StoredMessage[];
  /** Every receipt handle given out, so a handle of a deleted message is still known (deleting it again is a no-op). */
  receipts: Set<string>;
}

/** One request as the server read it: the operation, the region its SigV4 credential scope names, the JSON input. */
export interface SqsRequest {
  operation: string;
  region?: string;
  input: Record<string, unknown>;
}

class SqsError extends Error {
  constructor(
    readonly status: number,
    /** The JSON `__type` (shape id). */
    readonly type: string,
    /** The awsQuery code the SDK reads from `x-amzn-query-error` (SQS is awsQueryCompatible). */
    readonly queryCode: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = () => new SqsError(400, 'com.amazonaws.sqs#QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
const badValue = (name: string, value: unknown, reason: string) =>
  new SqsError(400, 'com.amazonaws.sqs#InvalidParameterValueException', 'InvalidParameterValue', `Value ${String(value)} for parameter ${name} is invalid. Reason: ${reason}`);

const ATTRIBUTES = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed', 'CreatedTimestamp', 'QueueArn', 'VisibilityTimeout', 'MessageRetentionPeriod'];
const MESSAGE_ATTRIBUTES = ['ApproximateReceiveCount', 'SentTimestamp', 'ApproximateFirstReceiveTimestamp'];
const DEFAULT_VISIBILITY_SECONDS = 30;

/**
 * A small standard SQS queue service on 127.0.0.1, enough for the real `@aws-sdk/client-sqs` (3.x), which
 * speaks AWS JSON 1.0: `POST /` with `X-Amz-Target: AmazonSQS.<Operation>` and a JSON body, errors as
 * `{ "__type": "com.amazonaws.sqs#QueueDoesNotExist", "message" }` plus the `x-amzn-query-error: <code>;Sender`
 * header that awsQueryCompatible clients read. Operations: SendMessage (DelaySeconds), GetQueueAttributes, ReceiveMessage (MaxNumberOfMessages,
 * VisibilityTimeout, WaitTimeSeconds, attribute names), DeleteMessage(Batch), ChangeMessageVisibility(Batch).
 *
 * A received message is in flight (invisible) for its visibility timeout, then visible again; receives hand
 * out the oldest visible messages first, each time with a new receipt handle. Time is the wall clock plus
 * `advance()`, so a test can let a visibility timeout run out without waiting. Queues are found by the
 * `/<account>/<name>` path of the QueueUrl, so any host form of the URL reaches the same queue. Tests reach
 * it through AWS_ENDPOINT_URL_SQS.
 */
export class LocalSqs extends LocalHttpServer {
  private readonly queues = new Map<string, StoredQueue>();
  private offsetMs = 0;
  /** Every request, in arrival order. */
  public readonly requests: SqsRequest[] = [];
  /** Operations answered with AccessDenied, as for a caller whose policy lacks them. */
  public readonly denied = new Set<string>();
  /** SendMessage calls, in order (with the delay asked for). */
  public readonly sent: { queueUrl: string; body: string; delaySeconds?: number }[] = [];
  /** When set, every call answers with this HTTP status (a 5xx: the SDK retries, then fails). */
  public failWith?: number;

  /** Creates a queue; returns its URL in the form the service gives (`https://sqs.<region>.amazonaws.com/<account>/<name>`). */
  createQueue(name: string, { region = 'us-east-1', account = '123456789012' } = {}): string {
    this.queues.set(`/${account}/${name}`, { arn: `arn:aws:sqs:${region}:${account}:${name}`, createdAt: this.now(), messages: [], receipts: new Set() });
    return `https://sqs.${region}.amazonaws.com/${account}/${name}`;
  }

  /** Puts a message in the queue, as Lambda's on-failure destination does; returns its MessageId. */
  send(queueUrl: string, body: string): string {
    const id = randomUUID();
    this.queue(queueUrl).messages.push({ id, body, sentAt: this.now(), visibleAt: 0, receiveCount: 0, receipts: [] });
    return id;
  }

  /** The messages still in the queue, oldest first, and whether a receive could return each now. */
  peek(queueUrl: string): { id: string; body: string; visible: boolean; receiveCount: number }[] {
    return this.queue(queueUrl).messages.map((m) => ({ id: m.id, body: m.body, visible: m.visibleAt <= this.now(), receiveCount: m.receiveCount }));
  }

  /** Moves this server's clock forward, e.g. past a visibility timeout. */
  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }

  /** The operations received, in order. */
  operations(): string[] {
    return this.requests.map((r) => r.operation);
  }

  private now(): number {
    return Date.now() + this.offsetMs;
  }

  private queue(queueUrl: unknown): StoredQueue {
    let path: string;
    try {
      path = new URL(String(queueUrl)).pathname.replace(/\/$/, '');
    } catch {
      throw badValue('QueueUrl', queueUrl, 'not a URL');
    }
    const queue = this.queues.get(path);
    if (!queue) throw notFound();
    return queue;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const operation = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
    const region = /Credential=[^/]+\/\d{8}\/([^/]+)\/sqs\//.exec(String(req.headers.authorization ?? ''))?.[1];
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID(), ...headers });
      res.end(JSON.stringify(body));
    };
    try {
      // An older client speaks the query protocol (a form-encoded Action=...): say so instead of guessing.
      if (!String(req.headers['content-type']).startsWith('application/x-amz-json-1.0')) {
        throw new SqsError(400, 'com.amazonaws.sqs#UnsupportedOperation', 'AWS.SimpleQueueService.UnsupportedOperation', 'This local SQS speaks AWS JSON 1.0 only.');
      }
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      this.requests.push({ operation, region, input });
      if (this.failWith) throw new SqsError(this.failWith, 'com.amazonaws.sqs#InternalError', 'InternalError', 'injected failure');
      if (this.denied.has(operation)) {
        // The service checks the caller's policy before it looks for the queue.
        const action = `sqs:${operation.toLowerCase()}`;
        throw new SqsError(403, 'com.amazon.coral.service#AccessDeniedException', 'AccessDenied',
          `User: arn:aws:iam::123456789012:user/test is not authorized to perform: ${action} on resource: ${String(input.QueueUrl)} because no identity-based policy allows the ${action} action`);
      }
      send(200, await this.operate(operation, input, req));
    } catch (err) {
      if (!(err instanceof SqsError)) throw err;
      send(err.status, { __type: err.type, message: err.message }, { 'x-amzn-query-error': `${err.queryCode};Sender` });
    }
  }

  private async operate(operation: string, input: Record<string, unknown>, req: IncomingMessage): Promise<unknown> {
    const queue = this.queue(input.QueueUrl);
    switch (operation) {
      case 'SendMessage': {
        const queue = this.queue(input.QueueUrl);
        const body = String(input.MessageBody ?? '');
        const delaySeconds = typeof input.DelaySeconds === 'number' ? input.DelaySeconds : undefined;
        if (delaySeconds !== undefined && (delaySeconds < 0 || delaySeconds > 900)) throw badValue('DelaySeconds', delaySeconds, 'must be from 0 to 900');
        const id = randomUUID();
        queue.messages.push({ id, body, sentAt: this.now(), visibleAt: this.now() + (delaySeconds ?? 0) * 1000, receiveCount: 0, receipts: [] });
        this.sent.push({ queueUrl: String(input.QueueUrl), body, delaySeconds });
        // The SDK checks this digest of the body.
        return { MessageId: id, MD5OfMessageBody: createHash('md5').update(body, 'utf8').digest('hex') };
      }
      case 'GetQueueAttributes':
        return { Attributes: this.attributes(queue, (input.AttributeNames as string[] | undefined) ?? []) };
      case 'ReceiveMessage':
        return this.receive(queue, input, req);
      case 'DeleteMessage':
        this.remove(queue, input.ReceiptHandle);
        return {};
      case 'DeleteMessageBatch':
        return this.batch(input.Entries, (entry) => this.remove(queue, entry.ReceiptHandle));
      case 'ChangeMessageVisibility':
        this.changeVisibility(queue, input.ReceiptHandle, input.VisibilityTimeout);
        return {};
      case 'ChangeMessageVisibilityBatch':
        return this.batch(input.Entries, (entry) => this.changeVisibility(queue, entry.ReceiptHandle, entry.VisibilityTimeout));
      default:
        throw new SqsError(400, 'com.amazonaws.sqs#UnsupportedOperation', 'AWS.SimpleQueueService.UnsupportedOperation', `This local SQS does not implement ${operation}.`);
    }
  }

  private attributes(queue: StoredQueue, names: string[]): Record<string, string> {
    const wanted = names.includes('All') ? ATTRIBUTES : names;
    const now = this.now();
    const visible = queue.messages.filter((m) => m.visibleAt <= now).length;
    const values: Record<string, string> = {
      ApproximateNumberOfMessages: String(visible),
      ApproximateNumberOfMessagesNotVisible: String(queue.messages.length - visible),
      ApproximateNumberOfMessagesDelayed: '0',
      CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      QueueArn: queue.arn,
      VisibilityTimeout: String(DEFAULT_VISIBILITY_SECONDS),
      MessageRetentionPeriod: String(14 * 86_400),
    };
    const out: Record<string, string> = {};
    for (const name of wanted) {
      if (!(name in values)) throw new SqsError(400, 'com.amazonaws.sqs#InvalidAttributeName', 'InvalidAttributeName', `Unknown Attribute ${name}.`);
      out[name] = values[name];
    }
    return out;
  }

  private async receive(queue: StoredQueue, input: Record<string, unknown>, req: IncomingMessage): Promise<unknown> {
    const max = this.integer(input, 'MaxNumberOfMessages', 1, 1, 10);
    const visibility = this.integer(input, 'VisibilityTimeout', DEFAULT_VISIBILITY_SECONDS, 0, 43_200);
    const wait = this.integer(input, 'WaitTimeSeconds', 0, 0, 20);
    // Long polling: answer as soon as a message is visible, else when the wait is over (real time).
    const deadline = Date.now() + wait * 1000;
    let ready = queue.messages.filter((m) => m.visibleAt <= this.now());
    while (ready.length === 0 && Date.now() < deadline && !req.socket.destroyed) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      ready = queue.messages.filter((m) => m.visibleAt <= this.now());
    }
    const names = [...((input.MessageSystemAttributeNames as string[] | undefined) ?? []), ...((input.AttributeNames as string[] | undefined) ?? [])];
    const all = names.includes('All');
    const messages = ready.slice(0, max).map((m) => {
      const now = this.now();
      m.visibleAt = now + visibility * 1000;
      m.receiveCount += 1;
      m.firstReceivedAt ??= now;
      const receipt = Buffer.from(`${m.id}:${randomUUID()}`).toString('base64');
      m.receipts.push(receipt);
      queue.receipts.add(receipt);
      const attributes: Record<string, string> = {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentAt),
        ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt),
      };
      const chosen = Object.fromEntries(Object.entries(attributes).filter(([k]) => all || (names.includes(k) && MESSAGE_ATTRIBUTES.includes(k))));
      return {
        MessageId: m.id,
        ReceiptHandle: receipt,
        // The SDK checks every body against this MD5 and throws on a mismatch.
        MD5OfBody: createHash('md5').update(m.body).digest('hex'),
        Body: m.body,
        ...(Object.keys(chosen).length ? { Attributes: chosen } : {}),
      };
    });
    return messages.length ? { Messages: messages } : {};
  }

  private integer(input: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
    const value = input[name] ?? fallback;
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) throw badValue(name, value, `Must be between ${min} and ${max}, if provided.`);
    return value as number;
  }

  /** The message a receipt handle was given for (undefined once deleted); a handle never given out is refused. */
  private byReceipt(queue: StoredQueue, receipt: unknown): StoredMessage | undefined {
    if (typeof receipt !== 'string' || !queue.receipts.has(receipt)) {
      throw new SqsError(404, 'com.amazonaws.sqs#ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid', 'The input receipt handle is not a valid receipt handle.');
    }
    return queue.messages.find((m) => m.receipts.includes(receipt));
  }

  private remove(queue: StoredQueue, receipt: unknown): void {
    const message = this.byReceipt(queue, receipt);
    if (message) queue.messages.splice(queue.messages.indexOf(message), 1);
  }

  private changeVisibility(queue: StoredQueue, receipt: unknown, seconds: unknown): void {
    const message = this.byReceipt(queue, receipt);
    if (!Number.isInteger(seconds) || (seconds as number) < 0 || (seconds as number) > 43_200) throw badValue('VisibilityTimeout', seconds, 'Must be between 0 and 43200.');
    if (!message || message.visibleAt <= this.now()) {
      throw new SqsError(400, 'com.amazonaws.sqs#MessageNotInflight', 'AWS.SimpleQueueService.MessageNotInflight', 'The message referred to is not in flight.');
    }
    message.visibleAt = this.now() + (seconds as number) * 1000;
  }

  /** Runs `each` per entry; a failed entry goes to Failed, as in the service's batch answers. */
  private batch(entries: unknown, each: (entry: Record<string, unknown>) => void): unknown {
    const list = (entries ?? []) as Record<string, unknown>[];
    if (list.length === 0) throw new SqsError(400, 'com.amazonaws.sqs#EmptyBatchRequest', 'AWS.SimpleQueueService.EmptyBatchRequest', 'There should be at least one entry in the request.');
    if (list.length > 10) throw new SqsError(400, 'com.amazonaws.sqs#TooManyEntriesInBatchRequest', 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 'Maximum number of entries per request are 10.');
    const Successful: { Id: unknown }[] = [];
    const Failed: { Id: unknown; SenderFault: boolean; Code: string; Message: string }[] = [];
    for (const entry of list) {
      try {
        each(entry);
        Successful.push({ Id: entry.Id });
      } catch (err) {
        if (!(err instanceof SqsError)) throw err;
        Failed.push({ Id: entry.Id, SenderFault: true, Code: err.queryCode, Message: err.message });
      }
    }
    return { Successful, Failed };
  }
}
