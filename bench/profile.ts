/**
 * Where the time goes, for the goals not met:
 * - a cold start: one fresh process per variant under `node --cpu-prof` (100 µs sampling);
 * - the hot path (`hot:ALG`): the bundled handler called in a loop for 3 s, keys cached, under the
 *   inspector's profiler (50 µs sampling), in this process; issuance (`issue:ALG`): issueKey the same way;
 * each summarised as self time per origin (a node_modules package, a Node built-in module, the bundle) and
 * the top functions. The bundles are those `npm run bench` writes (run it first).
 *
 *   node --import tsx bench/profile.ts [variant ...]     (default: sdk require sdk-free-ip hot:HS256 issue:HS256)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Session } from 'node:inspector/promises';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Algorithm } from '../lambda/jwt/algorithms';
import { issueKey } from '../lambda/jwt/issue';
import { authorizerEnv, authorizerEvent, CLAIM_OPTIONS, keysAndToken } from './hot';
import { bundle, OUT_DIR } from './support/bundle';
import { LocalSecrets } from './support/local-secrets';

/** The cold variants of bench/run.ts, by the same ids. */
const VARIANTS: Record<string, { file: string; env?: Record<string, string> }> = {
  sdk: { file: 'authorizer.mjs' },
  require: { file: 'authorizer-require.mjs' },
  split: { file: 'authorizer-split.mjs' },
  'extension-ip': { file: 'authorizer-extension.mjs', env: { BENCH_EXTENSION_HOST: '127.0.0.1' } },
  'extension-ip-require': { file: 'authorizer-extension-require.mjs', env: { BENCH_EXTENSION_HOST: '127.0.0.1' } },
  'sdk-free-ip': { file: 'authorizer-sdk-free.mjs', env: { BENCH_EXTENSION_HOST: '127.0.0.1' } },
  'sdk-free-http': { file: 'authorizer-sdk-free.mjs' },
  empty: { file: path.join(__dirname, 'cold', 'empty.mjs') },
};

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
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

/** Share of the samples (total time, callees included) spent in each function of the files whose URL contains `urlPart`. */
export function inclusive(profile: CpuProfile, urlPart: string): [string, number][] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const per = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const { functionName, url, lineNumber } = byId.get(cur)!.callFrame;
      const fn = `${functionName || '(anonymous)'}:${lineNumber + 1}`;
      if (url.includes(urlPart) && !seen.has(fn)) {
        seen.add(fn);
        per.set(fn, (per.get(fn) ?? 0) + dt);
      }
    }
  });
  return [...per].map(([f, t]) => [f, t / total] as [string, number]).sort((a, b) => b[1] - a[1]);
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['sdk', 'require', 'sdk-free-ip', 'hot:HS256', 'issue:HS256'];
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
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(secrets.port),
      ...authorizerEnv('RS256', arns),
      KEY_CACHE_TTL_SECONDS: '300',
      BENCH_TOKEN: token,
    };
    Object.assign(process.env, env);
    for (const name of wanted) {
      if (name.startsWith('hot:')) {
        await profileHot(name.slice(4) as Algorithm, secrets);
        continue;
      }
      if (name.startsWith('issue:')) {
        await profileIssue(name.slice(6) as Algorithm, secrets);
        continue;
      }
      const { file, env: extra } = VARIANTS[name] ?? {};
      if (!file) throw new Error(`unknown variant ${name}; use ${Object.keys(VARIANTS).join(', ')}, hot:ALG or issue:ALG.`);
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

/** The bundled handler in a loop, keys cached, under the inspector's sampling profiler. */
async function profileHot(alg: Algorithm, secrets: LocalSecrets): Promise<void> {
  const { arns, token } = await keysAndToken(alg, secrets);
  Object.assign(process.env, authorizerEnv(alg, arns));
  // The deployed build but not minified, so the profile names functions.
  const { file } = await bundle('authorizer.ts', 'authorizer-readable.mjs', [], { minify: false, keepNames: true });
  const { handler } = (await import(`${pathToFileURL(file).href}?profile=${alg}`)) as { handler: (e: unknown) => Promise<{ isAuthorized: boolean }> };
  const event = authorizerEvent(token);
  if (!(await handler(event)).isAuthorized) throw new Error(`${alg}: the bundled authorizer refuses the token`);
  const profile = await profileLoop(`hot ${alg}`, () => handler(event));
  console.log('bundle functions, callees included: ' + inclusive(profile, 'authorizer-readable').slice(0, 20).map(([f, share]) => `${f} ${(share * 100).toFixed(1)}%`).join('; '));
}

/** issueKey (lambda/jwt/issue.ts, unbundled) in a loop. */
async function profileIssue(alg: Algorithm, secrets: LocalSecrets): Promise<void> {
  const { ring } = await keysAndToken(alg, secrets);
  const request = { userId: 'user-42', companyId: 'acme' };
  await profileLoop(`issue ${alg}`, () => issueKey(request, ring.signer, CLAIM_OPTIONS));
}

/** `fn` warmed, then called for 3 s under the inspector's profiler (50 µs sampling); prints the summary. */
async function profileLoop(title: string, fn: () => unknown): Promise<CpuProfile> {
  for (let i = 0; i < 20_000; i++) await fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 50 });
  await session.post('Profiler.start');
  let calls = 0;
  const until = performance.now() + 3000;
  while (performance.now() < until) {
    for (let i = 0; i < 100; i++) await fn();
    calls += 100;
  }
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
  session.disconnect();
  const s = summarize(profile);
  console.log(`\n## ${title}: ${calls} calls in 3 s, ${((3000 / calls) * 1000).toFixed(2)} µs each (${s.totalMs.toFixed(0)} ms sampled)`);
  console.log('self time by origin: ' + s.origins.map(([o, ms]) => `${o} ${((ms / s.totalMs) * 100).toFixed(1)}%`).join(', '));
  console.log('top functions: ' + s.functions.map(([f, ms]) => `${f} ${((ms / s.totalMs) * 100).toFixed(1)}%`).join('; '));
  return profile;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
