/** SDK errors as one line that says what to fix. */
/** An error that would fail every message the same way: the run stops, exit status 1. */
export class RedriveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedriveError';
  }
}

export interface AwsError {
  name?: string;
  message?: string;
  code?: string;
  address?: string;
  port?: number;
  hostname?: string;
  $metadata?: { httpStatusCode?: number };
}

const CREDENTIAL_ERRORS = ['UnrecognizedClientException', 'InvalidClientTokenId', 'InvalidSignatureException', 'SignatureDoesNotMatch', 'ExpiredToken', 'ExpiredTokenException', 'InvalidAccessKeyId'];

export const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();

/**
 * The line for an error that every message would meet the same way (so the run stops), or undefined for
 * one that belongs to this call only. `service` names the endpoint variable in the network hint.
 */
export function commonProblem(err: unknown, service: 'SQS' | 'LAMBDA'): string | undefined {
  const e = (err ?? {}) as AwsError;
  const name = e.name ?? 'Error';
  const message = oneLine(e.message ?? '');
  if (name === 'CredentialsProviderError') return 'no AWS credentials: sign in (aws sso login) and set AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.';
  if (CREDENTIAL_ERRORS.includes(name)) return `AWS refused the credentials (${name}): ${message}`;
  if (/AccessDenied/.test(name) || e.$metadata?.httpStatusCode === 403) return `access denied: ${message}`;
  // No HTTP answer at all: the SDK has already retried the connection.
  if (e.$metadata?.httpStatusCode === undefined && (e.code || name === 'TimeoutError')) {
    const where = e.address ? ` ${e.address}${e.port ? `:${e.port}` : ''}` : e.hostname ? ` ${e.hostname}` : '';
    return `cannot reach ${service === 'SQS' ? 'SQS' : 'Lambda'} (${e.code ?? name}${where}): check the network, --region and AWS_ENDPOINT_URL_${service}.`;
  }
  return undefined;
}
