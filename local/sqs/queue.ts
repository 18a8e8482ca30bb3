import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { md5Hex, md5OfAttributes, type MessageAttribute } from './digest';
import { invalidReceipt, invalidValue, missingParameter, notInFlight } from './errors';

/** An AWS::SQS::Queue's settings, resolved from the template (CloudFormation's defaults filled in). */
export interface QueueSettings {
  name: string;
  url: string;
  arn: string;
  /** For the console: the CDK construct path. */
  label: string;
  visibilityTimeoutSeconds: number;
  delaySeconds: number;
  retentionSeconds: number;
  receiveWaitSeconds: number;
  maxMessageBytes: number;
  fifo: boolean;
  contentBasedDeduplication: boolean;
  redrive?: { deadLetterTargetArn: string; maxReceiveCount: number };
}

export interface StoredMessage {
  id: string;
  body: string;
  attributes: Record<string, MessageAttribute>;
  md5OfBody: string;
  md5OfAttributes?: string;
  sentAt: number;
  /** Epoch ms from which a receive may return it: delayed or in flight until then. */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** The latest receipt handle; only it deletes the message or changes its visibility. */
  receipt?: string;
  senderId: string;
  groupId?: string;
  dedupId?: string;
  sequenceNumber?: string;
  deadLetterSourceArn?: string;
}

export interface SendInput {
  body: string;
  delaySeconds?: number;
  attributes?: Record<string, MessageAttribute>;
  senderId: string;
  groupId?: string;
  dedupId?: string;
}

/** FIFO queues drop a message whose deduplication id was seen within five minutes. */
const DEDUP_WINDOW_MS = 5 * 60_000;

/**
 * One queue's messages: delays, visibility timeouts, receive counts, the redrive to a dead-letter queue
 * after maxReceiveCount receives, retention, and (FIFO) deduplication and one batch per message group
 * in flight. Waiters (long polls, event source pollers) are woken when a message may have become receivable.
 */
export class LocalQueue {
  readonly messages: StoredMessage[] = [];
  readonly createdAt: number;
  private readonly waiters = new Set<() => void>();
  private readonly dedup = new Map<string, { id: string; at: number }>();
  private sequence = 0n;

  constructor(
    readonly settings: QueueSettings,
    private readonly clock: () => number,
    /** The queue a redrive policy names, by ARN. */
    private readonly queueByArn: (arn: string) => LocalQueue | undefined,
    private readonly print: (line: string) => void,
  ) {
    this.createdAt = clock();
  }

  send(input: SendInput): StoredMessage {
    const { settings } = this;
    if (input.body.length === 0) throw missingParameter('MessageBody');
    if (Buffer.byteLength(input.body) > settings.maxMessageBytes) throw invalidValue('MessageBody', `${Buffer.byteLength(input.body)} bytes`, `Message must be shorter than ${settings.maxMessageBytes} bytes.`);
    if (input.delaySeconds !== undefined && (!Number.isInteger(input.delaySeconds) || input.delaySeconds < 0 || input.delaySeconds > 900)) {
      throw invalidValue('DelaySeconds', input.delaySeconds, 'Must be between 0 and 900, if provided.');
    }
    const now = this.clock();
    let dedupId: string | undefined;
    if (settings.fifo) {
      if (!input.groupId) throw missingParameter('MessageGroupId');
      if (input.delaySeconds !== undefined && input.delaySeconds !== 0) throw invalidValue('DelaySeconds', input.delaySeconds, 'The request include parameter that is not valid for this queue type.');
      dedupId = input.dedupId ?? (settings.contentBasedDeduplication ? createHash('sha256').update(input.body).digest('hex') : undefined);
      if (!dedupId) throw invalidValue('MessageDeduplicationId', undefined, 'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
      const seen = this.dedup.get(dedupId);
      if (seen && now - seen.at < DEDUP_WINDOW_MS) return this.messages.find((m) => m.id === seen.id) ?? this.stub(seen.id, input, now);
    }
    const message = this.stub(randomUUID(), input, now);
    message.visibleAt = now + (input.delaySeconds ?? settings.delaySeconds) * 1000;
    if (settings.fifo) {
      message.groupId = input.groupId;
      message.dedupId = dedupId;
      message.sequenceNumber = String(++this.sequence).padStart(20, '0');
      this.dedup.set(dedupId!, { id: message.id, at: now });
    }
    this.messages.push(message);
    this.wake();
    return message;
  }

  private stub(id: string, input: SendInput, now: number): StoredMessage {
    const attributes = input.attributes ?? {};
    return { id, body: input.body, attributes, md5OfBody: md5Hex(input.body), md5OfAttributes: md5OfAttributes(attributes), sentAt: now, visibleAt: now, receiveCount: 0, senderId: input.senderId };
  }

  /**
   * Up to `max` receivable messages, oldest first, each now in flight for `visibilitySeconds` with a new
   * receipt handle. A message received maxReceiveCount times already goes to the dead-letter queue instead.
   */
  receive(max: number, visibilitySeconds = this.settings.visibilityTimeoutSeconds): { message: StoredMessage; receiptHandle: string }[] {
    const now = this.clock();
    this.expire(now);
    const out: { message: StoredMessage; receiptHandle: string }[] = [];
    // FIFO: a group with a message in flight (or still delayed) gives nothing until that one is done.
    const blocked = new Set(this.messages.filter((m) => m.groupId !== undefined && m.visibleAt > now).map((m) => m.groupId));
    for (const m of [...this.messages]) {
      if (out.length >= max) break;
      if (m.visibleAt > now || (m.groupId !== undefined && blocked.has(m.groupId))) continue;
      const redrive = this.settings.redrive;
      if (redrive && m.receiveCount >= redrive.maxReceiveCount && this.moveToDeadLetter(m, redrive.deadLetterTargetArn, now)) continue;
      m.receiveCount += 1;
      m.firstReceivedAt ??= now;
      m.visibleAt = now + visibilitySeconds * 1000;
      m.receipt = Buffer.from(JSON.stringify({ q: this.settings.arn, m: m.id, r: randomBytes(12).toString('base64url') })).toString('base64url');
      out.push({ message: m, receiptHandle: m.receipt });
    }
    return out;
  }

  /** Waits until a message may be receivable (a send, a visibility change, a delay or timeout running out), at most `ms`. */
  waitForMessages(ms: number): Promise<void> {
    const now = this.clock();
    const soonest = Math.min(...this.messages.filter((m) => m.visibleAt > now).map((m) => m.visibleAt - now + 1));
    const wait = Math.max(0, Math.min(ms, soonest));
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, wait);
      this.waiters.add(done);
    });
  }

  /** Long polling: messages as soon as some are receivable, else none when `waitMs` is over or `cancelled()`. */
  async receiveWaiting(max: number, visibilitySeconds: number | undefined, waitMs: number, cancelled: () => boolean = () => false) {
    const deadline = this.clock() + waitMs;
    for (;;) {
      const got = this.receive(max, visibilitySeconds);
      const left = deadline - this.clock();
      if (got.length > 0 || left <= 0 || cancelled()) return got;
      await this.waitForMessages(left);
    }
  }

  wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Deletes the message of a receipt handle; an older handle of a message received since deletes nothing, as in SQS. */
  delete(receiptHandle: unknown): void {
    const m = this.byReceipt(receiptHandle);
    if (m && m.receipt === receiptHandle) this.messages.splice(this.messages.indexOf(m), 1);
  }

  changeVisibility(receiptHandle: unknown, seconds: unknown): void {
    if (!Number.isInteger(seconds) || (seconds as number) < 0 || (seconds as number) > 43_200) throw invalidValue('VisibilityTimeout', seconds, 'Must be between 0 and 43200.');
    const m = this.byReceipt(receiptHandle);
    if (!m || m.receipt !== receiptHandle || m.visibleAt <= this.clock()) throw notInFlight();
    m.visibleAt = this.clock() + (seconds as number) * 1000;
    this.wake();
  }

  purge(): void {
    this.messages.splice(0);
  }

  counts(): { visible: number; inFlight: number; delayed: number } {
    const now = this.clock();
    this.expire(now);
    const hidden = this.messages.filter((m) => m.visibleAt > now);
    return { visible: this.messages.length - hidden.length, inFlight: hidden.filter((m) => m.receiveCount > 0).length, delayed: hidden.filter((m) => m.receiveCount === 0).length };
  }

  /** Messages moved here by a redrive keep their id, body, attributes and first enqueue time. */
  accept(m: StoredMessage, sourceArn: string, now: number): void {
    this.messages.push({ ...m, visibleAt: now, receiveCount: 0, firstReceivedAt: undefined, receipt: undefined, deadLetterSourceArn: sourceArn });
    this.wake();
  }

  private moveToDeadLetter(m: StoredMessage, targetArn: string, now: number): boolean {
    const target = this.queueByArn(targetArn);
    if (!target) {
      this.print(`sqs: ${this.settings.name}'s dead-letter queue ${targetArn} is not a local queue; message ${m.id} stays`);
      return false;
    }
    this.messages.splice(this.messages.indexOf(m), 1);
    target.accept(m, this.settings.arn, now);
    this.print(`sqs: message ${m.id} moved from ${this.settings.label} to ${target.settings.label} after ${m.receiveCount} receives`);
    return true;
  }

  private byReceipt(receiptHandle: unknown): StoredMessage | undefined {
    let parsed: { q?: string; m?: string };
    try {
      parsed = JSON.parse(Buffer.from(String(receiptHandle), 'base64url').toString('utf8'));
    } catch {
      throw invalidReceipt();
    }
    if (typeof receiptHandle !== 'string' || parsed?.q !== this.settings.arn || typeof parsed.m !== 'string') throw invalidReceipt();
    return this.messages.find((m) => m.id === parsed.m);
  }

  /** Messages older than the retention period are gone, counted from their first enqueue. */
  private expire(now: number): void {
    const limit = now - this.settings.retentionSeconds * 1000;
    for (let i = this.messages.length - 1; i >= 0; i--) if (this.messages[i].sentAt <= limit) this.messages.splice(i, 1);
  }
}
