import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpServer } from '../../test/support/local-server';

/**
 * A Secrets Manager on 127.0.0.1 that answers GetSecretValue two ways from one store: the JSON 1.1
 * protocol the SDK speaks (POST, `X-Amz-Target: secretsmanager.GetSecretValue`, reached through
 * AWS_ENDPOINT_URL_SECRETS_MANAGER) and the Parameters and Secrets Lambda Extension's
 * `GET /secretsmanager/get?secretId=` (reached through PARAMETERS_SECRETS_EXTENSION_HTTP_PORT), which
 * wants `X-Aws-Parameters-Secrets-Token` to equal the function's AWS_SESSION_TOKEN. It also answers
 * DynamoDB (AWS_ENDPOINT_URL_DYNAMODB): the authorizer's Query of the registry's change feed (no changes)
 * and the cold-start probe's GetItem (item not found).
 */
export class LocalSecrets extends LocalHttpServer {
  private readonly values = new Map<string, string>();
  /** GetSecretValue calls answered, by protocol, and DynamoDB Queries. */
  public readonly reads = { sdk: 0, extension: 0, dynamoQuery: 0 };

  constructor(private readonly sessionToken: string) {
    super();
  }

  /** Stores a secret; returns its ARN. */
  put(name: string, secretString: string): string {
    const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
    this.values.set(arn, secretString);
    return arn;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify(body));
    };
    const answer = (arn: string) => ({ ARN: arn, Name: arn.split(':').pop(), SecretString: this.values.get(arn), VersionId: 'v1', VersionStages: ['AWSCURRENT'], CreatedDate: 1795395600 });

    if (req.method === 'GET') {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/secretsmanager/get') return send(404, { message: 'not found' });
      if (req.headers['x-aws-parameters-secrets-token'] !== this.sessionToken) return send(401, { message: 'missing or wrong X-Aws-Parameters-Secrets-Token' });
      const arn = url.searchParams.get('secretId') ?? '';
      if (!this.values.has(arn)) return send(400, { __type: 'ResourceNotFoundException' });
      this.reads.extension++;
      return send(200, answer(arn));
    }
    const op = String(req.headers['x-amz-target'] ?? '');
    if (op === 'DynamoDB_20120810.GetItem') return send(200, {}, 'application/x-amz-json-1.0');
    if (op === 'DynamoDB_20120810.Query') {
      this.reads.dynamoQuery++;
      return send(200, { Count: 0, Items: [], ScannedCount: 0 }, 'application/x-amz-json-1.0');
    }
    const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { SecretId?: string };
    if (op !== 'secretsmanager.GetSecretValue') return send(400, { __type: 'InvalidRequestException' }, 'application/x-amz-json-1.1');
    if (!input.SecretId || !this.values.has(input.SecretId)) return send(400, { __type: 'ResourceNotFoundException' }, 'application/x-amz-json-1.1');
    this.reads.sdk++;
    return send(200, answer(input.SecretId), 'application/x-amz-json-1.1');
  }
}
