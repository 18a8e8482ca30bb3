/**
 * No secret leaves where it lives. (1) Every stack variant is synthesized with secrets planted where a user
 * might have them (a portal .env, the shell), and cdk.out is scanned. (2) A whole life of the keys runs
 * through the real handlers (create, rotate, mint, verify good and bad keys, discovery, Moesif governance and
 * forwarding) while every line they write is captured; the lines are scanned for each private key member,
 * each token and the Moesif Application Id.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { PrivateJwkSet } from '../lambda/jwt/jwk-set';
import { accessLogFields } from '../lib/constructs/access-log';
import { authorizerEvent, getEvent, issueEvent } from './support/events';
import { loadFunctions, localRegistry } from './support/functions';
import { MoesifCollector } from './support/moesif-collector';
import { LocalSecretsManager, useLocalAws } from './support/secrets-server';
import { synth } from './support/synth';

const PLANTED = {
  portalSecret: 'planted-portal-secret-5f1c9a7e',
  moesifAppId: 'planted-moesif-app-id-0c7d2e',
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

describe('cdk.out holds no secret, whatever the mode', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'no-leaks-'));
  const envFile = path.join(dir, '.env');
  writeFileSync(envFile, `PLUGIN_JWT_SECRET=${PLANTED.portalSecret}\nMOESIF_APPLICATION_ID=${PLANTED.moesifAppId}\n`);
  const variants: Array<[string, Record<string, unknown>]> = [
    ['lambda ES256', { authorizer: 'lambda', jwtAlgorithm: 'ES256', moesifGovernance: 'fail-closed' }],
    ['native RS256', { authorizer: 'native', jwtAlgorithm: 'RS256', jwtExpiresIn: '1d' }],
    ['lambda HS256 with an imported portal secret', { authorizer: 'lambda', jwtAlgorithm: 'HS256', envFile, acceptPortalTokens: 'true', signingSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:portal-AbCdEf' }],
  ];

  it.each(variants)('%s', (_name, context) => {
    const s = synth(context, { PLUGIN_JWT_SECRET: PLANTED.portalSecret, JWT_SECRET: PLANTED.portalSecret, MOESIF_APPLICATION_ID: PLANTED.moesifAppId });
    const files = filesUnder(s.app.synth().directory);
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      expect({ file, leaks: [PLANTED.portalSecret, PLANTED.moesifAppId].filter((p) => text.includes(p)) }).toEqual({ file, leaks: [] });
      // No private key in any form: PEM, or the private members of a JWK.
      // A PEM block with a body (the code names the "PRIVATE KEY" header to refuse private keys sent to it).
      expect({ file, pem: /-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/=\s]{40,}/.test(text), jwk: /"(d|k|p|q|dp|dq|qi)"\s*:\s*"[A-Za-z0-9_-]{16,}/.test(text) }).toEqual({ file, pem: false, jwk: false });
    }
  });
});

describe('the handlers write no secret to their logs', () => {
  const sm = new LocalSecretsManager();
  const registry = localRegistry();
  const moesif = new MoesifCollector(PLANTED.moesifAppId);
  const lines: string[] = [];
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };

  beforeAll(async () => {
    useLocalAws('SECRETS_MANAGER', await sm.start());
    await moesif.start();
    const capture = (chunk: unknown) => {
      lines.push(String(chunk));
      return true;
    };
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
  });
  afterAll(async () => {
    process.stdout.write = writes.stdout;
    process.stderr.write = writes.stderr;
    await Promise.all([sm.stop(), moesif.stop()]);
  });

  it('through a key life: create, rotate, mint, verify, discovery, governance and forwarding', async () => {
    for (const alg of ['ES256', 'HS256'] as const) {
      const arn = sm.put(`leaks-${alg}`, '{"keys":[],"placeholder":"x"}');
      const publicArn = sm.put(`leaks-${alg}-public`, '{"keys":[]}');
      const appIdArn = sm.put(`leaks-moesif-${alg}`, JSON.stringify({ applicationId: PLANTED.moesifAppId }));
      Object.assign(process.env, { JWT_ALGORITHM: alg, JWT_EXPIRES_IN: '3600', JWT_PUBLIC_KEYS_SECRET_ARN: publicArn });
      const keyFunction = require('../lambda/signing-key').handler as typeof import('../lambda/signing-key').handler;
      await keyFunction({ RequestType: 'Create', ResourceProperties: { SecretArn: arn, PublicKeysSecretArn: publicArn, Algorithm: alg, MaxLifetimeSeconds: '3600' } });
      sm.beginRotation(arn, `rot-${alg}`);
      for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) await keyFunction({ Step, SecretId: arn, ClientRequestToken: `rot-${alg}` });

      const { issue, authorize, discovery } = loadFunctions({
        KEY_REGISTRY_TABLE: await registry.table(),
        JWT_SECRET_ARN: arn,
        JWT_PUBLIC_KEYS_SECRET_ARN: publicArn,
        JWT_ALGORITHM: alg,
        MOESIF_GOVERNANCE: 'fail-closed',
        MOESIF_BASE_URL: moesif.url,
        MOESIF_APPLICATION_ID_SECRET_ARN: appIdArn,
      });
      const tokens: string[] = [];
      for (const body of [{ user_id: 'u-1', company_id: 'acme' }, { user_id: 'bad\nid', company_id: 'acme' }]) {
        const res = await issue(issueEvent(body));
        if (res.statusCode === 201) tokens.push(JSON.parse(res.body as string).apikey);
      }
      expect(tokens).toHaveLength(1);
      const [token] = tokens;
      const [h, p, sig] = token.split('.');
      for (const header of [`Bearer ${token}`, `Bearer ${h}.${p}.${sig.slice(0, -2)}AA`, `Bearer ${h}.${Buffer.from('{"sub":"x"}').toString('base64url')}.${sig}`, token.slice(0, 40)]) {
        await authorize(authorizerEvent(header));
      }
      await discovery(getEvent('/.well-known/jwks.json'));

      const { createHandler } = require('../lambda/moesif-forwarder') as typeof import('../lambda/moesif-forwarder');
      const line = JSON.stringify(accessLogFields({ mode: 'lambda', userIdField: 'sub', companyIdField: 'org_id' })).replace(/\$context\.[A-Za-z0-9_.]+/g, (v) =>
        ({ '$context.requestId': 'req-1', '$context.requestTimeEpoch': String(Date.now()), '$context.httpMethod': 'GET', '$context.path': '/orders', '$context.domainName': 'api.example.com', '$context.status': '200' })[v] ?? '-',
      );
      const data = gzipSync(JSON.stringify({ messageType: 'DATA_MESSAGE', logGroup: 'g', logStream: 's', logEvents: [{ id: '1', timestamp: Date.now(), message: line }] })).toString('base64');
      await createHandler({ env: { MOESIF_APPLICATION_ID_SECRET_ARN: appIdArn, MOESIF_BASE_URL: moesif.url } })({ awslogs: { data } });

      const set = JSON.parse(sm.current(arn)!) as PrivateJwkSet;
      const secrets = [
        ...set.keys.flatMap((k) => [k.d, k.k, k.p, k.q].filter((v): v is string => typeof v === 'string')),
        token,
        sig,
        PLANTED.moesifAppId,
      ];
      const output = lines.join('');
      expect(output.length).toBeGreaterThan(500);
      for (const secret of secrets) expect({ leaked: output.includes(secret), secret: secret.slice(0, 6) }).toEqual({ leaked: false, secret: secret.slice(0, 6) });
    }
  });
});
