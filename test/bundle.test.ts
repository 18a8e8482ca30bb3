import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { loadConfig } from '../lib/config';
import { JwtApiStack } from '../lib/jwt-api-stack';
import { generateJwk } from '../lambda/jwt/jwk-set';
import { LocalDynamoDb } from './support/dynamodb';
import { LocalSecretsManager, useLocalAws } from './support/secrets-server';
import { CDK_CONTEXT } from './support/synth';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, 'cdk.out', 'bundle-test');
const sm = new LocalSecretsManager();
const db = new LocalDynamoDb();
let assets: Record<string, string>;

beforeAll(async () => {
  useLocalAws('SECRETS_MANAGER', await sm.start());
  await db.start();
  rmSync(OUT, { recursive: true, force: true });
  // Synthesized inside the project so the bundles resolve the AWS SDK the runtime provides from node_modules.
  const context = { ...CDK_CONTEXT, authorizer: 'lambda', jwtAlgorithm: 'ES256' };
  const app = new App({ outdir: OUT, context: { ...context, 'aws:cdk:enable-asset-metadata': true } });
  new JwtApiStack(app, 'BundleTest', { config: loadConfig({ context: (k) => (context as Record<string, unknown>)[k], env: {} }) });
  const template = app.synth().getStackByName('BundleTest').template as { Resources: Record<string, { Type: string; Properties: { Description?: string }; Metadata?: Record<string, string> }> };
  assets = {};
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function' || !r.Metadata?.['aws:asset:path']) continue;
    const file = path.join(OUT, r.Metadata['aws:asset:path'], 'index.mjs');
    // Our functions only; the CDK Provider framework ships its own code.
    if (existsSync(file)) assets[r.Properties.Description ?? ''] = file;
  }
});
afterAll(() => Promise.all([sm.stop(), db.stop()]));

function bundleOf(description: RegExp): string {
  const found = Object.entries(assets).find(([d]) => description.test(d));
  if (!found) throw new Error(`no bundle for ${description}`);
  return found[1];
}

describe('the esbuild bundles (ESM, minified, AWS SDK external)', () => {
  it('run on plain Node: the bundled issuer mints a key the bundled authorizer accepts', async () => {
    const { env: keyEnv } = await sm.putKeySet('bundle-signing', JSON.stringify({ keys: [await generateJwk('ES256')] }), 'ES256');
    const script = `
      const issue = (await import(process.argv[1])).handler;
      const authorize = (await import(process.argv[2])).handler;
      const minted = await issue({ routeKey: 'POST /keys', body: JSON.stringify({ user_id: 'u-7', company_id: 'acme' }), requestContext: { requestId: 'r1' } });
      const key = JSON.parse(minted.body).apikey;
      const allowed = await authorize({ identitySource: ['Bearer ' + key], headers: {}, requestContext: { requestId: 'r2' } });
      const denied = await authorize({ identitySource: ['Bearer ' + key.slice(0, -4) + 'AAAA'], headers: {}, requestContext: { requestId: 'r3' } });
      process.stdout.write('RESULT ' + JSON.stringify({ status: minted.statusCode, allowed, denied }) + '\\n');
    `;
    // Asynchronous: the local Secrets Manager answering the child runs in this process.
    const { stdout: out } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, bundleOf(/^Mints JWT/), bundleOf(/^Verifies JWT/)], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        ...process.env,
        ...keyEnv,
        KEY_REGISTRY_TABLE: await db.createTable(),
        JWT_ALGORITHM: 'ES256',
        JWT_ISSUER: 'https://abc.execute-api.us-east-1.amazonaws.com',
        JWT_AUDIENCE: 'jwt-api',
        JWT_EXPIRES_IN: '3600',
        MOESIF_GOVERNANCE: 'off',
      },
    });
    const result = JSON.parse(out.split('\n').find((l) => l.startsWith('RESULT '))!.slice(7));
    expect(result).toEqual({
      status: 201,
      allowed: { isAuthorized: true, context: { userId: 'u-7', companyId: 'acme', keyId: expect.any(String) } },
      denied: { isAuthorized: false },
    });
  });

  it('keep the AWS SDK out of every bundle and stay small', () => {
    const { statSync, readFileSync } = require('node:fs') as typeof import('node:fs');
    // key admin, discovery, signing key, echo, authorizer, Moesif forwarder, cache bump
    expect(Object.keys(assets)).toHaveLength(7);
    for (const [description, file] of Object.entries(assets)) {
      const code = readFileSync(file, 'utf8');
      expect({ description, bundlesSdk: /@aws-sdk\/client-secrets-manager\/dist/.test(code) }).toEqual({ description, bundlesSdk: false });
      expect({ description, kb: Math.round(statSync(file).size / 1024) < 100 }).toEqual({ description, kb: true });
    }
  });
});
