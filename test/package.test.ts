/**
 * The construct library as its users get it: `npm pack` (which builds dist/ and the Lambda bundles), installed
 * into an app outside this repository that has neither esbuild nor Docker, which type-checks
 * examples/existing-api.ts against the package's declarations and synthesizes it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { lambdaEntries } from '../lib/lambda-bundles';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const versionOf = (name: string) => (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

let work: string;
let tarball: string;
let files: string[];
let consumer: string;
let template: { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'jwt-api-package-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, maxBuffer: 16 << 20 });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = path.join(work, packed.filename);
  files = packed.files.map((f) => f.path);

  consumer = path.join(work, 'app');
  rmSync(consumer, { recursive: true, force: true });
  mkdirSync(consumer);
  writeFileSync(
    path.join(consumer, 'package.json'),
    JSON.stringify({ name: 'orders-app', private: true, dependencies: { [pkg.name]: `file:${tarball}`, 'aws-cdk-lib': versionOf('aws-cdk-lib'), constructs: versionOf('constructs') } }),
  );
  // The registry's packages come from npm's cache when it has them (it does after `npm ci` here).
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: consumer, maxBuffer: 16 << 20 });

  // The example, importing the package by name as a user's app does.
  const example = readFileSync(path.join(ROOT, 'examples', 'existing-api.ts'), 'utf8').replace("from '../lib'", `from '${pkg.name}'`);
  writeFileSync(path.join(consumer, 'app.ts'), example);
  writeFileSync(
    path.join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, outDir: 'out', skipLibCheck: true, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')] },
      files: ['app.ts'],
    }),
  );
  await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer]);
  await run(process.execPath, [path.join(consumer, 'out', 'app.js')], { cwd: consumer, env: { ...process.env, CDK_OUTDIR: path.join(consumer, 'cdk.out') } });
  template = JSON.parse(readFileSync(path.join(consumer, 'cdk.out', 'Orders.template.json'), 'utf8'));
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('holds the compiled library, its declarations and one pre-built bundle per function; no sources, tests or scripts', () => {
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/jwt-api-keys.d.ts']));
    const bundles = files.filter((f) => f.startsWith('dist/bundles/'));
    expect(bundles.sort()).toEqual(lambdaEntries().map((e) => `dist/bundles/${e}/index.mjs`).sort());
    expect(files.filter((f) => /^(test|bench|scripts|local|bin|examples)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
  });

  it('installs without esbuild, and the app type-checks against its declarations and synthesizes with its bundles', () => {
    expect(existsSync(path.join(consumer, 'node_modules', 'esbuild'))).toBe(false);
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === 'index.handler');
    expect(functions.length).toBeGreaterThanOrEqual(5);
    // Each function's asset is a pre-built bundle, byte for byte.
    const assets = readdirSync(path.join(consumer, 'cdk.out')).filter((d) => d.startsWith('asset.'));
    const shipped = new Set(lambdaEntries().map((e) => readFileSync(path.join(consumer, 'node_modules', pkg.name, 'dist', 'bundles', e, 'index.mjs'), 'utf8')));
    const used = assets.filter((d) => existsSync(path.join(consumer, 'cdk.out', d, 'index.mjs'))).map((d) => readFileSync(path.join(consumer, 'cdk.out', d, 'index.mjs'), 'utf8'));
    expect(used.length).toBeGreaterThanOrEqual(5);
    for (const code of used) expect(shipped.has(code)).toBe(true);
  });

  it("puts the keys' authorizer on the app's routes", () => {
    const routes = Object.values(template.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route' && String(r.Properties.RouteKey).startsWith('GET /orders'));
    expect(routes).toHaveLength(2);
    for (const route of routes) expect(route.Properties).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: expect.stringMatching(/^OrdersApiLambdaAuthorizer/) } });
  });
});
