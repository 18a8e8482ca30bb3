import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { createApiKey, MintKeyError } from '../../examples/portal-mint-key';

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A stand-in for the stack's POST /keys on 127.0.0.1: records each request and answers with `reply`. */
let server: Server;
let apiUrl: string;
let port: number;
const received: Received[] = [];
let reply: { status: number; body: string; type?: string };

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    received.push({ method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(reply.status, { 'content-type': reply.type ?? 'application/json' });
    res.end(reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  apiUrl = `http://127.0.0.1:${port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  received.length = 0;
});

const CREDENTIALS = { accessKeyId: 'AKIDPORTALBACKEND', secretAccessKey: 'portal-backend-secret-access-key', sessionToken: 'portal-session-token' };
const ISSUED = { apikey: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln', token_type: 'Bearer', key_id: '5b0f3c1e-0000-4000-8000-000000000001', expires_at: '2026-12-31T00:00:00.000Z' };
const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

/** x-amz-date (20260101T120000Z) as a Date. */
function amzDate(value: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value)!;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

/**
 * Signs the received request again, as API Gateway checks it: the headers it names as signed, and the
 * payload hash computed from the body received (not copied from x-amz-content-sha256).
 */
async function resign(req: Received, changes: { body?: string; secretAccessKey?: string } = {}): Promise<string> {
  const signedHeaders = AUTHORIZATION.exec(String(req.headers.authorization))![5].split(';');
  const headers = Object.fromEntries(signedHeaders.filter((h) => h !== 'x-amz-content-sha256').map((h) => [h, String(req.headers[h])]));
  const signer = new SignatureV4({
    service: 'execute-api',
    region: 'us-east-1',
    credentials: { ...CREDENTIALS, secretAccessKey: changes.secretAccessKey ?? CREDENTIALS.secretAccessKey },
    sha256: Sha256,
  });
  const out = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: '127.0.0.1', port, path: req.path, query: {}, headers, body: changes.body ?? req.body },
    { signingDate: amzDate(String(req.headers['x-amz-date'])) },
  );
  return out.headers.authorization;
}

describe('createApiKey', () => {
  it('sends POST /keys signed with SigV4 for execute-api and returns the minted key', async () => {
    reply = { status: 201, body: JSON.stringify(ISSUED) };
    const key = await createApiKey({ apiUrl: `${apiUrl}/prod/`, userId: 'cus_123', companyId: 'acme', expiresIn: '7d', region: 'us-east-1', credentials: CREDENTIALS });
    expect(key).toEqual(ISSUED);

    expect(received).toHaveLength(1);
    const [req] = received;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/prod/keys');
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body)).toEqual({ user_id: 'cus_123', company_id: 'acme', expires_in: '7d' });

    const auth = AUTHORIZATION.exec(String(req.headers.authorization));
    expect(auth).not.toBeNull();
    const [, accessKeyId, day, region, service, signedHeaders] = auth!;
    expect({ accessKeyId, region, service }).toEqual({ accessKeyId: 'AKIDPORTALBACKEND', region: 'us-east-1', service: 'execute-api' });
    expect(req.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(String(req.headers['x-amz-date']).slice(0, 8)).toBe(day);
    expect(req.headers['x-amz-security-token']).toBe('portal-session-token');
    expect(signedHeaders.split(';')).toEqual(expect.arrayContaining(['content-type', 'host', 'x-amz-date', 'x-amz-security-token']));
    expect(req.headers.host).toBe(`127.0.0.1:${port}`);
  });

  it('produces the signature a verifier recomputes from the received request, body included', async () => {
    reply = { status: 201, body: JSON.stringify(ISSUED) };
    await createApiKey({ apiUrl, userId: 'cus_123', companyId: 'cus_123', region: 'us-east-1', credentials: CREDENTIALS });
    const [req] = received;
    expect(req.path).toBe('/keys');
    expect(JSON.parse(req.body)).toEqual({ user_id: 'cus_123', company_id: 'cus_123' });

    expect(req.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(req.body).digest('hex'));
    expect(await resign(req)).toBe(req.headers.authorization);
    // The payload hash is part of the signature: another body, or another key, gives another signature.
    expect(await resign(req, { body: req.body.replace('cus_123', 'cus_999') })).not.toBe(req.headers.authorization);
    expect(await resign(req, { secretAccessKey: 'someone-else' })).not.toBe(req.headers.authorization);
  });

  it('uses the default credential chain when no credentials are passed', async () => {
    reply = { status: 201, body: JSON.stringify(ISSUED) };
    const names = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;
    const saved = names.map((name) => process.env[name]);
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDFROMENVIRONMENT', AWS_SECRET_ACCESS_KEY: 'env-secret' });
    delete process.env.AWS_SESSION_TOKEN;
    try {
      await createApiKey({ apiUrl, userId: 'u', companyId: 'c', region: 'eu-west-1' });
    } finally {
      names.forEach((name, i) => (saved[i] === undefined ? delete process.env[name] : (process.env[name] = saved[i])));
    }
    expect(String(received[0].headers.authorization)).toMatch(/Credential=AKIDFROMENVIRONMENT\/\d{8}\/eu-west-1\/execute-api\/aws4_request/);
  });

  it('sends the request through the fetch it is given', async () => {
    reply = { status: 201, body: JSON.stringify(ISSUED) };
    const urls: string[] = [];
    const spy: typeof fetch = (input, init) => {
      urls.push(String(input));
      return fetch(input, init);
    };
    await createApiKey({ apiUrl, userId: 'u', companyId: 'c', region: 'us-east-1', credentials: CREDENTIALS, fetch: spy });
    expect(urls).toEqual([`${apiUrl}/keys`]);
  });

  it('throws a MintKeyError with the status and JSON error body on a 400', async () => {
    const error = { error: 'invalid_request', field: 'user_id', message: '"user_id" is required.' };
    reply = { status: 400, body: JSON.stringify(error) };
    const err = await createApiKey({ apiUrl, userId: '', companyId: 'c', region: 'us-east-1', credentials: CREDENTIALS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MintKeyError);
    expect(err).toMatchObject({ status: 400, body: error });
    expect((err as Error).message).toBe('POST /keys answered 400: invalid_request (field user_id) "user_id" is required.');
  });

  it('keeps a non-JSON error body as text', async () => {
    reply = { status: 403, body: 'Forbidden', type: 'text/plain' };
    const err = await createApiKey({ apiUrl, userId: 'u', companyId: 'c', region: 'us-east-1', credentials: CREDENTIALS }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'MintKeyError', status: 403, body: 'Forbidden', message: 'POST /keys answered 403: Forbidden' });
  });

  it('refuses a success answer without an apikey', async () => {
    reply = { status: 201, body: '{}' };
    await expect(createApiKey({ apiUrl, userId: 'u', companyId: 'c', region: 'us-east-1', credentials: CREDENTIALS })).rejects.toThrow('POST /keys answered 201 without an apikey');
  });
});
