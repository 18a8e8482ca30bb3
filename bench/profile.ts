/**
 * Where a cold start's time goes: one fresh process per variant under `node --cpu-prof` (100 µs sampling),
 * summarised as self time per origin (a node_modules package, a Node built-in module, the bundle) and the
 * top functions. The variants are those of `npm run bench` (run it first: it writes the bundles).
 *
 *   node --import tsx bench/profile.ts [variant ...]     (default: sdk lean)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { authorizerEnv, keysAndToken } from './hot';
import { OUT_DIR } from './support/bundle';
import { LocalSecrets } from './support/local-secrets';

const VARIANTS: Record<string, { file: string; env?: Record<string, string> }> = {
  sdk: { file: 'authorizer.mjs' },
  extension: { file: 'authorizer-extension.mjs' },
  lean: { file: 'authorizer-lean.mjs' },
  'lean-ip': { file: 'authorizer-lean.mjs', env: { BENCH_EXTENSION_HOST: '127.0.0.1' } },
  empty: { file: path.join(__dirname, 'cold', 'empty.mjs') },
};

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time (ms) per origin and per function. */
export function summarize(profile: CpuProfile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const perOrigin = new Map<string, number>();
  const perFunction = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
    const origin = pkg ?? (url.startsWith('node:') ? url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/') : url ? path.basename(url) : `(${functionName || 'native'})`);
    perOrigin.set(origin, (perOrigin.get(origin) ?? 0) + ms);
    const fn = `${functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ''}`.trim();
    perFunction.set(fn, (perFunction.get(fn) ?? 0) + ms);
  });
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  return { totalMs: [...perOrigin.values()].reduce((a, b) => a + b, 0), origins: top(perOrigin, 15), functions: top(perFunction, 15) };
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['sdk', 'lean'];
  const secrets = new LocalSecrets('bench-session-token');
  const endpoint = await secrets.start();
  try {
    const { arns, token } = await keysAndToken('RS256', secrets);
    const env = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDBENCH',
      AWS_SECRET_ACCESS_KEY: 'bench-secret',
      AWS_SESSION_TOKEN: 'bench-session-token',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(secrets.port),
      ...authorizerEnv('RS256', arns),
      KEY_CACHE_TTL_SECONDS: '300',
      BENCH_TOKEN: token,
    };
    for (const name of wanted) {
      const { file, env: extra } = VARIANTS[name] ?? {};
      if (!file) throw new Error(`unknown variant ${name}; use ${Object.keys(VARIANTS).join(', ')}`);
      const dir = mkdtempSync(path.join(tmpdir(), `cold-${name}-`));
      const { stdout } = await promisify(execFile)(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', dir, path.join(__dirname, 'cold', 'child.mjs'), path.isAbsolute(file) ? file : path.join(OUT_DIR, file), 'call'], { env: { ...env, ...extra }, encoding: 'utf8' });
      const timing = JSON.parse(stdout.trim()) as { importMs: number; callMs: number; sinceProcessStartMs: number };
      const profile = JSON.parse(readFileSync(path.join(dir, readdirSync(dir)[0]), 'utf8')) as CpuProfile;
      const s = summarize(profile);
      console.log(`\n## ${name}: import ${timing.importMs.toFixed(1)} ms + first call ${timing.callMs.toFixed(1)} ms (process ${timing.sinceProcessStartMs.toFixed(0)} ms; ${s.totalMs.toFixed(0)} ms sampled)`);
      console.log('self time by origin: ' + s.origins.map(([o, ms]) => `${o} ${ms.toFixed(1)}`).join(', '));
      console.log('top functions: ' + s.functions.slice(0, 10).map(([f, ms]) => `${f} ${ms.toFixed(1)}`).join('; '));
      console.log(`profile: ${dir}`);
    }
  } finally {
    await secrets.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
