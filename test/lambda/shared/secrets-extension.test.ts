import type { IncomingMessage, ServerResponse } from 'node:http';
import { fetchTransport, httpTransport, SecretsExtensionError, secretsExtensionReader } from '../../../lambda/shared/secrets-extension';
import { LocalHttpServer } from '../../support/local-server';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt/signing+keys-AbCdEf';

/** The Parameters and Secrets Lambda Extension's GET /secretsmanager/get, as documented; records each request. */
class LocalExtension extends LocalHttpServer {
  secrets = new Map<string, unknown>([[ARN, { ARN, Name: 'jwt/signing+keys', SecretString: '{"keys":[]}', VersionId: 'v1', VersionStages: ['AWSCURRENT'] }]]);
  requests: { path: string; token?: string }[] = [];
  /** Overrides the answer: [status, raw body]; 'hang' never answers. */
  answer?: [number, string] | 'hang';
  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests.push({ path: req.url ?? '', token: req.headers['x-aws-parameters-secrets-token'] as string | undefined });
    if (this.answer === 'hang') return;
    if (this.answer) {
      res.writeHead(this.answer[0]).end(this.answer[1]);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const found = url.pathname === '/secretsmanager/get' ? this.secrets.get(url.searchParams.get('secretId') ?? '') : undefined;
    if (!req.headers['x-aws-parameters-secrets-token']) res.writeHead(401).end('{"message":"missing token"}');
    else if (!found) res.writeHead(400).end(`{"__type":"ResourceNotFoundException","message":"no ${url.searchParams.get('secretId')}"}`);
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(found));
  }
}

const ext = new LocalExtension();
let port: number;
beforeAll(async () => {
  port = Number(new URL(await ext.start()).port);
});
afterAll(() => ext.stop());
beforeEach(() => {
  ext.requests = [];
  ext.answer = undefined;
});

const reader = (options: Parameters<typeof secretsExtensionReader>[0] = {}) => secretsExtensionReader({ host: '127.0.0.1', port, token: 'session-1', ...options });

describe('reading a secret through the Parameters and Secrets Lambda Extension', () => {
  it.each([
    ['node:http', httpTransport],
    ['fetch', fetchTransport],
  ])('returns the SecretString, asking with the session token and the encoded secret id (%s)', async (_name, transport) => {
    await expect(reader({ transport })(ARN)).resolves.toBe('{"keys":[]}');
    expect(ext.requests).toEqual([{ path: `/secretsmanager/get?secretId=${encodeURIComponent(ARN)}`, token: 'session-1' }]);
  });

  it('finds the extension on localhost at PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, with AWS_SESSION_TOKEN', async () => {
    const read = secretsExtensionReader({ env: { PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(port), AWS_SESSION_TOKEN: 'session-env' } });
    await expect(read(ARN)).resolves.toBe('{"keys":[]}');
    expect(ext.requests[0].token).toBe('session-env');
  });

  it('sends the session token the function has at each call, not the one it had first', async () => {
    const env: NodeJS.ProcessEnv = { AWS_SESSION_TOKEN: 'first' };
    const read = secretsExtensionReader({ host: '127.0.0.1', port, env });
    await read(ARN);
    env.AWS_SESSION_TOKEN = 'renewed';
    await read(ARN);
    expect(ext.requests.map((r) => r.token)).toEqual(['first', 'renewed']);
  });

  it('refuses to ask without a session token (outside Lambda)', async () => {
    await expect(secretsExtensionReader({ host: '127.0.0.1', port, env: {} })(ARN)).rejects.toThrow(
      new SecretsExtensionError('AWS_SESSION_TOKEN is not set: the secrets extension only answers inside a Lambda function.'),
    );
    expect(ext.requests).toEqual([]);
  });

  it('says which status the extension answered, without repeating its body', async () => {
    const err = await reader()('arn:aws:secretsmanager:us-east-1:123456789012:secret:other-XyZ').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretsExtensionError);
    expect((err as Error).message).toBe('The secrets extension answered HTTP 400 for GetSecretValue.');
  });

  it('returns undefined for a secret version without a SecretString (binary)', async () => {
    ext.answer = [200, JSON.stringify({ ARN, SecretBinary: 'AAEC' })];
    await expect(reader()(ARN)).resolves.toBeUndefined();
  });

  it.each([
    ['a body that is not JSON', [200, '<html>'], 'The secrets extension answered with a body that is not JSON.'],
    ['a SecretString that is not a string', [200, '{"SecretString":42}'], 'The secrets extension answered with a SecretString that is not a string.'],
  ] as const)('refuses %s', async (_what, answer, message) => {
    ext.answer = [...answer];
    await expect(reader()(ARN)).rejects.toThrow(new SecretsExtensionError(message));
  });

  it.each([
    ['node:http', httpTransport],
    ['fetch', fetchTransport],
  ])('gives up after the timeout when the extension does not answer (%s)', async (_name, transport) => {
    ext.answer = 'hang';
    const started = Date.now();
    await expect(reader({ transport, timeoutMs: 200 })(ARN)).rejects.toThrow(/^The secrets extension on port \d+ did not answer: /);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fails with the port when nothing listens there', async () => {
    const closed = new LocalExtension();
    const closedPort = Number(new URL(await closed.start()).port);
    await closed.stop();
    await expect(secretsExtensionReader({ host: '127.0.0.1', port: closedPort, token: 't' })(ARN)).rejects.toThrow(`The secrets extension on port ${closedPort} did not answer: connect ECONNREFUSED 127.0.0.1:${closedPort}`);
  });
});
