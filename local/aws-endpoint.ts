import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { manage } from './api/management';
import type { HttpApiModel } from './api/model';
import type { LocalLambda } from './functions';
import type { LocalSecretsManager } from './secrets-manager';
import type { LocalSqs } from './sqs/service';

export interface AwsEndpointOptions {
  secrets: LocalSecretsManager;
  /** The local queues (AWS JSON 1.0); without it SQS calls are "not emulated". */
  sqs?: LocalSqs;
  lambda: LocalLambda;
  apis: () => HttpApiModel[];
  /** The access key id the functions are given: requests signed with another are refused. */
  accessKeyId: string;
  print: (line: string) => void;
}

/** The service a SigV4 request is for, from its credential scope (`.../<region>/<service>/aws4_request`). */
function serviceOf(req: IncomingMessage): string | undefined {
  return /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(String(req.headers.authorization ?? ''))?.[1];
}

/**
 * The AWS endpoint the functions' SDK clients reach (AWS_ENDPOINT_URL): Secrets Manager (JSON 1.1), SQS
 * (JSON 1.0; the queues' URLs name this endpoint), the API Gateway v2 stage calls, and Lambda Invoke; any
 * other service gets a clear "not emulated" error instead of a call to real AWS.
 */
export class LocalAwsEndpoint {
  private server?: Server;
  private readonly unsupported = new Set<string>();

  constructor(private readonly options: AwsEndpointOptions) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ __type: 'InternalFailure', message: err.message }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const send = (status: number, payload: unknown, type = 'application/json', headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': type, 'x-amzn-requestid': randomUUID(), ...headers });
      res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
    };
    const keyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    if (keyId !== this.options.accessKeyId) {
      return send(403, { __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
    }
    const path = (req.url ?? '/').split('?')[0];
    const target = String(req.headers['x-amz-target'] ?? '');

    if (target.startsWith('secretsmanager.')) {
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(body || '{}');
      } catch {
        return send(400, { __type: 'SerializationException', message: 'The body is not JSON.' }, 'application/x-amz-json-1.1');
      }
      const reply = this.options.secrets.call(target.slice('secretsmanager.'.length), input);
      return send(reply.status, reply.body, 'application/x-amz-json-1.1');
    }

    if (target.startsWith('AmazonSQS.') && this.options.sqs) {
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(body || '{}');
      } catch {
        return send(400, { __type: 'com.amazonaws.sqs#InvalidParameterValueException', message: 'The body is not JSON.' }, 'application/x-amz-json-1.0');
      }
      const reply = await this.options.sqs.call(target.slice('AmazonSQS.'.length), input, keyId);
      return send(reply.status, reply.body, 'application/x-amz-json-1.0', reply.headers);
    }
    // SDKs before the JSON protocol (2023) speak SQS's query protocol: say so rather than "not emulated".
    if (this.options.sqs && serviceOf(req) === 'sqs' && /(^|&)Action=/.test(body)) {
      return send(400, { __type: 'com.amazonaws.sqs#UnsupportedOperation', message: 'The local SQS speaks the AWS JSON 1.0 protocol of current SDKs, not the query protocol (Action=...): update the AWS SDK.' });
    }

    const management = path.startsWith('/v2/apis') ? manage(this.options.apis(), req.method ?? 'GET', path, body) : undefined;
    if (management) return send(management.status, management.body);

    const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(path);
    if (invoke && req.method === 'POST') {
      const name = decodeURIComponent(invoke[1]);
      if (!this.options.lambda.find(name)) return send(404, { Type: 'User', message: `Function not found: ${name}` }, 'application/json', { 'x-amzn-errortype': 'ResourceNotFoundException' });
      const event = body ? JSON.parse(body) : {};
      if (req.headers['x-amz-invocation-type'] === 'Event') {
        void this.options.lambda.invoke(name, event);
        return send(202, '');
      }
      const result = await this.options.lambda.invoke(name, event);
      return result.ok
        ? send(200, JSON.stringify(result.payload), 'application/json', { 'x-amz-executed-version': '$LATEST' })
        : send(200, result.error, 'application/json', { 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '$LATEST' });
    }

    const service = serviceOf(req) ?? 'unknown';
    const what = target ? `${service} ${target}` : `${service} ${req.method} ${path}`;
    if (!this.unsupported.has(what)) {
      this.unsupported.add(what);
      this.options.print(`aws: ${what} is not emulated locally`);
    }
    return send(501, { __type: 'NotImplemented', message: `${what} is not emulated by the local runtime (npm start).` });
  }
}
