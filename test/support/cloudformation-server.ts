import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpServer } from './local-server';

interface StoredStack {
  name: string;
  id: string;
  status: string;
  outputs: Record<string, string>;
}

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/**
 * A small CloudFormation on 127.0.0.1 answering DescribeStacks, enough for the real SDK client.
 * CloudFormation speaks the awsQuery protocol: a form-encoded POST (`Action=DescribeStacks&StackName=...`)
 * answered with XML, errors as `<ErrorResponse><Error><Code>`. Tests reach it through
 * AWS_ENDPOINT_URL_CLOUDFORMATION.
 */
export class LocalCloudFormation extends LocalHttpServer {
  private readonly stacks = new Map<string, StoredStack>();
  /** Calls received, by Action. */
  public readonly calls: Record<string, number> = {};

  /** Adds (or replaces) a stack with these outputs; returns its StackId. */
  addStack(name: string, outputs: Record<string, string>, status = 'CREATE_COMPLETE'): string {
    const id = `arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/${randomUUID()}`;
    this.stacks.set(name, { name, id, status, outputs });
    return id;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const action = form.get('Action') ?? '';
    this.calls[action] = (this.calls[action] ?? 0) + 1;
    const requestId = randomUUID();
    const send = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
    };
    const error = (code: string, message: string) =>
      send(400, `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`);

    if (action !== 'DescribeStacks') return error('InvalidAction', `Could not find operation ${action} for version 2010-05-15`);
    const wanted = form.get('StackName');
    const found = wanted ? [...this.stacks.values()].filter((s) => s.name === wanted || s.id === wanted) : [...this.stacks.values()];
    // The service answers a missing stack with a ValidationError, not an empty list.
    if (wanted && found.length === 0) return error('ValidationError', `Stack with id ${wanted} does not exist`);

    const members = found
      .map((s) => {
        const outputs = Object.entries(s.outputs)
          .map(([k, v]) => `<member><OutputKey>${xml(k)}</OutputKey><OutputValue>${xml(v)}</OutputValue></member>`)
          .join('');
        return (
          `<member><StackName>${xml(s.name)}</StackName><StackId>${xml(s.id)}</StackId>` +
          `<CreationTime>2026-01-01T00:00:00.000Z</CreationTime><StackStatus>${s.status}</StackStatus>` +
          `<Outputs>${outputs}</Outputs></member>`
        );
      })
      .join('');
    return send(
      200,
      `<DescribeStacksResponse xmlns="${NS}"><DescribeStacksResult><Stacks>${members}</Stacks></DescribeStacksResult>` +
        `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></DescribeStacksResponse>`,
    );
  }
}
