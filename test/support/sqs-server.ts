import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpServer } from './local-server';

export interface SentMessage {
  queueUrl: string;
  body: string;
  delaySeconds?: number;
}

/**
 * A minimal SQS on 127.0.0.1 for the real SDK client (JSON 1.0 protocol, AWS_ENDPOINT_URL_SQS):
 * SendMessage only, recorded in `sent`. The SDK checks MD5OfMessageBody, so it is computed.
 */
export class LocalSqs extends LocalHttpServer {
  public readonly sent: SentMessage[] = [];
  /** When set, every call answers with this HTTP status. */
  public failWith?: number;

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const op = String(req.headers['x-amz-target'] ?? '').replace('AmazonSQS.', '');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify(body));
    };
    if (this.failWith) return send(this.failWith, { __type: 'com.amazonaws.sqs#InternalError', message: 'injected failure' });
    if (op !== 'SendMessage') return send(400, { __type: 'com.amazonaws.sqs#UnsupportedOperation', message: `unsupported operation ${op}` });
    const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    this.sent.push({ queueUrl: input.QueueUrl, body: input.MessageBody, delaySeconds: input.DelaySeconds });
    send(200, { MessageId: randomUUID(), MD5OfMessageBody: createHash('md5').update(input.MessageBody, 'utf8').digest('hex') });
  }
}
