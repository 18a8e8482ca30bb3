/**
 * Mints API keys for a Moesif Developer Portal backend through the stack's `POST /keys`, in place
 * of the portal JWT plugin's own `createApiKey` (which signs with a shared secret the backend holds).
 * The backend holds no key material: the request is signed with its AWS credentials (SigV4), and the
 * stack signs the key with the key in Secrets Manager.
 *
 * In `my-dev-portal-api` (plugins/jwt/jwtProvisioningPlugin.js), for example:
 *
 *   const { createApiKey } = require('./portal-mint-key'); // this file, compiled or run with tsx
 *
 *   async createApiKey(customerId, email) {
 *     const { apikey } = await createApiKey({
 *       apiUrl: process.env.JWT_API_URL,  // the stack's ApiUrl output
 *       region: process.env.AWS_REGION,
 *       userId: customerId,
 *       companyId: customerId,            // the plugin puts the customer id in both claims
 *     });
 *     return apikey;
 *   }
 *
 * The backend's IAM role needs the stack's MintPolicyArn output attached (execute-api:Invoke on
 * POST /keys), or its ARN listed in `-c minterRoleArns=...`.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** Static credentials, or a function that returns them (what SignatureV4 accepts). */
export type SigningCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

export interface CreateApiKeyOptions {
  /** The stack's ApiUrl output, e.g. https://abc123.execute-api.us-east-1.amazonaws.com (a stage path is kept). */
  readonly apiUrl: string;
  /** Goes into the user claim (JWT_USER_ID_FIELD, `sub` by default). */
  readonly userId: string;
  /** Goes into the company claim (JWT_COMPANY_ID_FIELD, `org_id` by default). */
  readonly companyId: string;
  /**
   * Lifetime: seconds, or a duration such as "30d"; at most the stack's JWT_EXPIRES_IN.
   * @default the stack's JWT_EXPIRES_IN
   */
  readonly expiresIn?: number | string;
  /** The API's region (SigV4 signs for one region). */
  readonly region: string;
  /** @default the AWS SDK's default credential chain (environment, profile, container or instance role) */
  readonly credentials?: SigningCredentials;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** The body of a 201 from POST /keys. */
export interface MintedKey {
  apikey: string;
  token_type: 'Bearer';
  key_id: string;
  expires_at: string;
}

/** POST /keys did not answer 201: `status` and the parsed JSON `body` (or its text) say why. */
export class MintKeyError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'MintKeyError';
  }
}

// One credential chain per process: it caches and refreshes what it resolved.
let chain: SigningCredentials | undefined;

function describe(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 200);
  const b = (body ?? {}) as { error?: unknown; field?: unknown; message?: unknown; Message?: unknown };
  return [b.error, b.field !== undefined ? `(field ${String(b.field)})` : undefined, b.message ?? b.Message]
    .filter((part) => part !== undefined && part !== '')
    .map(String)
    .join(' ');
}

/** Signs `POST {apiUrl}/keys` with SigV4 for `execute-api` and returns the minted API key. */
export async function createApiKey(options: CreateApiKeyOptions): Promise<MintedKey> {
  const url = new URL(options.apiUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/keys`;
  url.search = '';
  url.hash = '';
  const body = JSON.stringify({
    user_id: options.userId,
    company_id: options.companyId,
    ...(options.expiresIn !== undefined && { expires_in: options.expiresIn }),
  });

  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region,
    credentials: options.credentials ?? (chain ??= defaultProvider()),
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query: {},
    // `host` must be signed with the port when there is one; fetch sends the same value.
    headers: { host: url.host, 'content-type': 'application/json' },
    body,
  });

  const res = await (options.fetch ?? fetch)(url, { method: 'POST', headers: signed.headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // API Gateway's own errors are JSON; anything else is kept as text.
  }
  if (!res.ok) {
    const detail = describe(parsed);
    throw new MintKeyError(`POST ${url.pathname} answered ${res.status}${detail ? `: ${detail}` : ''}`, res.status, parsed);
  }
  const key = parsed as Partial<MintedKey>;
  if (typeof key?.apikey !== 'string' || key.apikey === '') {
    throw new MintKeyError(`POST ${url.pathname} answered ${res.status} without an apikey`, res.status, parsed);
  }
  return key as MintedKey;
}
