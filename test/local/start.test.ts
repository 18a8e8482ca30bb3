import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { call, freePort, startServer, type StartedServer } from './server';

const run = promisify(execFile);

/** The README's quick start against `npm start`, once per authorizer mode, each from its own synth. */
describe.each(['lambda', 'native'] as const)('npm start -c authorizer=%s', (mode) => {
  const state = mkdtempSync(path.join(tmpdir(), `npm-start-${mode}-`));
  let server: StartedServer;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    server = await startServer(['--state', state, '-c', `authorizer=${mode}`], { PORT: String(port) }, 100_000);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it('listens on PORT on 127.0.0.1 and prints the admin token and routes', () => {
    expect(server.url).toBe(`http://127.0.0.1:${port}`);
    expect(server.adminToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // The README's second terminal reads it from the state folder.
    expect(readFileSync(path.join(state, 'admin-token'), 'utf8')).toBe(`${server.adminToken}\n`);
    expect(statSync(path.join(state, 'admin-token')).mode & 0o777).toBe(0o600);
    expect(server.lines).toEqual(expect.arrayContaining([expect.stringMatching(/^\s+POST\s+\/keys\s+AWS_IAM/), expect.stringMatching(mode === 'native' ? /\$default\s+JWT/ : /\$default\s+CUSTOM/)]));
  });

  it('walks the quick start: discovery, mint, call, bad key, no admin token, list, revoke, Moesif event', async () => {
    const { url, adminToken } = server;

    const discovery = await call(`${url}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    expect(discovery.body.issuer).toBe(url);
    const jwks = await call(`${url}/.well-known/jwks.json`);
    expect(jwks.status).toBe(200);
    expect((jwks.body.keys as unknown[]).length).toBeGreaterThan(0);

    const mintBody = JSON.stringify({ user_id: 'user-42', company_id: 'acme' });
    const unsigned = await call(`${url}/keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: mintBody });
    expect(unsigned).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
    const wrongToken = await call(`${url}/keys`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-admin-token': `${adminToken}x` }, body: mintBody });
    expect(wrongToken.status).toBe(403);

    const minted = await call(`${url}/keys`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-admin-token': adminToken }, body: mintBody });
    expect(minted.status).toBe(201);
    const key = minted.body.apikey as string;
    const keyId = minted.body.key_id as string;

    const ok = await call(`${url}/orders`, { headers: { authorization: `Bearer ${key}` } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ routeKey: '$default', path: '/orders', identity: { userId: 'user-42', companyId: 'acme', keyId } });

    // A forged signature: the Lambda authorizer answers isAuthorized:false (403), the JWT authorizer 401.
    const [head, payload] = key.split('.');
    const forged = `${head}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    const bad = await call(`${url}/orders`, { headers: { authorization: `Bearer ${forged}` } });
    if (mode === 'lambda') expect(bad).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
    else {
      expect(bad).toMatchObject({ status: 401, body: { message: 'Unauthorized' } });
      expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
    expect(await call(`${url}/orders`)).toMatchObject({ status: 401, body: { message: 'Unauthorized' } });

    const admin = { 'x-admin-token': adminToken, 'content-type': 'application/json' };
    const listed = await call(`${url}/keys?user_id=user-42`, { headers: admin });
    expect(listed.status).toBe(200);
    expect(listed.body.keys).toEqual([expect.objectContaining({ key_id: keyId, user_id: 'user-42', company_id: 'acme', status: 'active' })]);

    const revoked = await call(`${url}/keys/${keyId}`, { method: 'DELETE', headers: admin });
    const revocations = () => call(`${url}/revocations`, { method: 'POST', headers: admin, body: JSON.stringify({ company_id: 'acme' }) });
    if (mode === 'lambda') {
      expect(revoked).toMatchObject({ status: 200, body: { key_id: keyId, status: 'revoked', revoked_at: expect.any(String) } });
      // The authorizer's cached allow (300 s) ends when stage-bump changes revocationVersion, through the
      // delayed SQS message key-admin queued: revocationRefreshSeconds + 3 s, plus the 1 s batching window.
      const started = Date.now();
      let refused: Awaited<ReturnType<typeof call>> | undefined;
      while (!refused && Date.now() - started < 20_000) {
        const res = await call(`${url}/orders`, { headers: { authorization: `Bearer ${key}` } });
        if (res.status !== 200) refused = res;
        else await new Promise((r) => setTimeout(r, 500));
      }
      const tookMs = Date.now() - started;
      console.log(`npm start (lambda): the revoked key was refused ${tookMs} ms after DELETE /keys/{keyId}`);
      expect(refused).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
      expect(tookMs).toBeLessThanOrEqual(15_000);
      expect(server.lines).toContainEqual(expect.stringContaining('"message":"stage bumped: authorizer cache invalidated"'));
      expect(await revocations()).toMatchObject({ status: 200, body: { company_id: 'acme', not_before: expect.any(String) } });
    } else {
      // API Gateway's JWT authorizer cannot consult the registry: key-admin refuses to pretend.
      const reason = expect.stringContaining("native JWT authorizer, which cannot consult the key registry");
      expect(revoked).toMatchObject({ status: 409, body: { error: 'conflict', message: reason } });
      expect((await call(`${url}/orders`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
      expect(await revocations()).toMatchObject({ status: 409, body: { error: 'conflict', message: reason } });
    }
    expect((await call(`${url}/keys/${keyId}`, { headers: admin })).body).toMatchObject({ key_id: keyId, status: mode === 'lambda' ? 'revoked' : 'active' });

    const event = await server.waitFor((l) => {
      if (!l.startsWith('{')) return false;
      const e = JSON.parse(l);
      return e.request?.uri?.endsWith('/orders') && e.response?.status === 200;
    }, 15_000, 'the Moesif event of GET /orders');
    expect(JSON.parse(event)).toMatchObject({ user_id: 'user-42', company_id: 'acme', request: { verb: 'GET' }, response: { status: 200 }, metadata: { keyId } });
  }, 60_000);

  if (mode === 'lambda') {
    it("runs the README's quick start lines as written (curl, jq, bash) from a folder holding .local", async () => {
      const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
      const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('ADMIN_TOKEN=$(cat .local/admin-token)'));
      expect(block).toContain('API_URL=http://127.0.0.1:3000\n');
      const cwd = mkdtempSync(path.join(tmpdir(), 'quick-start-'));
      symlinkSync(state, path.join(cwd, '.local'));
      try {
        const script = `set -euo pipefail\n${block!.replace('API_URL=http://127.0.0.1:3000', `API_URL=${server.url}`)}`;
        const { stdout } = await run('bash', ['-c', script], { cwd, timeout: 40_000 });
        // In order: the identity, 403 for a bad key, 403 unsigned, listed active, revoked, 403 after the bump.
        expect(stdout).toMatch(/"identity":\{"userId":"user-42","companyId":"acme"[\s\S]*?HTTP\/1\.1 403[\s\S]*?HTTP\/1\.1 403[\s\S]*?"status":"active"[\s\S]*?"status":"revoked"[\s\S]*?HTTP\/1\.1 403 Forbidden/);
        expect(stdout.match(/HTTP\/1\.1 403/g)).toHaveLength(3);
        expect(stdout).not.toContain('HTTP/1.1 200');
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    }, 60_000);
  }

  it('keeps key material in a private state folder', () => {
    expect(statSync(state).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(state, 'secretsmanager.json')).mode & 0o777).toBe(0o600);
  });

  it('stops cleanly on Ctrl-C', async () => {
    expect(await server.stop()).toBe(0);
  });
});
