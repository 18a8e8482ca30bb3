/**
 * Reads a secret through the AWS Parameters and Secrets Lambda Extension instead of the AWS SDK, so a
 * function that only reads secrets loads nothing from `@aws-sdk` (PROTOTYPE: measured in bench/, not wired).
 *
 * The extension (a layer, `ParamsAndSecretsLayerVersion` in CDK) serves
 * `GET http://localhost:<PARAMETERS_SECRETS_EXTENSION_HTTP_PORT>/secretsmanager/get?secretId=<arn>` and
 * answers with the GetSecretValue JSON; the caller proves it runs inside the function with the header
 * `X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN`
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html).
 * It answers only once the function is invoked, not during the init phase.
 *
 * Two transports: `node:http` (the default) and `fetch`. Measured in fresh processes (bench/RESULTS.md):
 * a first `fetch` loads undici and costs ~85 ms more than a first `http.get`; and the host `localhost`
 * costs ~19 ms more than `127.0.0.1` (a DNS lookup, and node:net compiling its IPv6 regex to test the name),
 * so a deployment that has checked the extension answers on 127.0.0.1 should pass `host: '127.0.0.1'`.
 */
import { request } from 'node:http';

/** The extension could not be reached, or answered with something other than a secret. */
export class SecretsExtensionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretsExtensionError';
  }
}

export interface ExtensionResponse {
  status: number;
  body: string;
}

/** One GET with headers and a deadline; resolves with any status, rejects on a network failure. */
export type ExtensionTransport = (url: string, headers: Record<string, string>, timeoutMs: number) => Promise<ExtensionResponse>;

export const httpTransport: ExtensionTransport = (url, headers, timeoutMs) =>
  new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });

export const fetchTransport: ExtensionTransport = async (url, headers, timeoutMs) => {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
};

export interface SecretsExtensionOptions {
  /** @default Number(env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT) || 2773 */
  port?: number;
  /** @default 'localhost', as the extension's documentation calls it */
  host?: string;
  /** The function's session token. @default env.AWS_SESSION_TOKEN */
  token?: string;
  /** @default 1000 */
  timeoutMs?: number;
  /** @default httpTransport */
  transport?: ExtensionTransport;
  env?: NodeJS.ProcessEnv;
}

/** A reader of a secret's current SecretString (undefined when the version holds only binary data). */
export type SecretReader = (secretId: string) => Promise<string | undefined>;

export function secretsExtensionReader(options: SecretsExtensionOptions = {}): SecretReader {
  const env = options.env ?? process.env;
  const port = options.port ?? (Number(env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT) || 2773);
  const base = `http://${options.host ?? 'localhost'}:${port}/secretsmanager/get?secretId=`;
  const timeoutMs = options.timeoutMs ?? 1000;
  const transport = options.transport ?? httpTransport;

  return async (secretId) => {
    const token = options.token ?? env.AWS_SESSION_TOKEN;
    // Read per call: the token is the function's current session, which Lambda may renew.
    if (!token) throw new SecretsExtensionError('AWS_SESSION_TOKEN is not set: the secrets extension only answers inside a Lambda function.');
    let res: ExtensionResponse;
    try {
      res = await transport(base + encodeURIComponent(secretId), { 'X-Aws-Parameters-Secrets-Token': token }, timeoutMs);
    } catch (err) {
      throw new SecretsExtensionError(`The secrets extension on port ${port} did not answer: ${(err as Error).message}`, { cause: err });
    }
    // The body of an error may quote the request; only the status is repeated.
    if (res.status !== 200) throw new SecretsExtensionError(`The secrets extension answered HTTP ${res.status} for GetSecretValue.`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      throw new SecretsExtensionError('The secrets extension answered with a body that is not JSON.');
    }
    const value = (parsed as { SecretString?: unknown } | null)?.SecretString;
    if (value !== undefined && typeof value !== 'string') throw new SecretsExtensionError('The secrets extension answered with a SecretString that is not a string.');
    return value;
  };
}
