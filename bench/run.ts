/**
 * `npm run bench`: every performance goal of the project measured side by side in one run, printed as
 * one table (markdown) and written to bench/results/latest.json, which scripts/cost.ts reads.
 *
 *   npm run bench -- [--repeats 5] [--rounds 5] [--spawns 20] [--time-ms 40] [--lines 1000] [--out FILE] [--no-cold]
 *
 * Timings are medians of mitata p50s over short windows; the cases compared with each other are measured
 * back to back, round after round (see measureGroups), so a busy machine skews them alike. A ratio is the
 * median over --repeats of each repeat's median same-round ratio, with its min-max. Cold starts are
 * medians and p90s over --spawns fresh processes per variant.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { runCold, EMPTY_MODULE, PROBES, type ColdResult, type ColdVariant } from './cold';
import { prepareForwarder } from './forwarder';
import { authorizerEnv, prepareHot, type Case } from './hot';
import { prepareIssue } from './issue';
import { bundle, lambdaEntries, replaceModules, sdkViaRequire, type Bundle } from './support/bundle';
import { LocalSecrets } from './support/local-secrets';
import { fmtLoad, machine, median, p50, spread, type Spread } from './support/stats';

const GOALS = { hotRatio: 1.3, issueRatio: 1.3, coldDeltaMs: 15, bundleBytes: 30_000 };
const SESSION_TOKEN = 'bench-session-token';
const SHIMS = path.join(__dirname, 'support', 'shims');

function parseOptions() {
  return parseArgs({
  options: {
    repeats: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '5' },
    spawns: { type: 'string', default: '20' },
    'time-ms': { type: 'string', default: '40' },
    lines: { type: 'string', default: '1000' },
    out: { type: 'string', default: path.join(__dirname, 'results', 'latest.json') },
    // Skips the cold starts (minutes of process spawns) while working on the hot path.
    'no-cold': { type: 'boolean', default: false },
  },
  }).values;
}
let args: ReturnType<typeof parseOptions>;
try {
  args = parseOptions();
} catch (err) {
  console.error(`bench: ${(err as Error).message.split('. ')[0]}; options: --repeats --rounds --spawns --time-ms --lines --out --no-cold.`);
  process.exit(2);
}
function count(name: string, min: number): number {
  const n = Number(args[name as keyof typeof args]);
  if (!Number.isInteger(n) || n < min) {
    console.error(`bench: --${name} must be an integer of at least ${min}, got "${args[name as keyof typeof args]}".`);
    process.exit(2);
  }
  return n;
}
const REPEATS = count('repeats', 3);
const ROUNDS = count('rounds', 1);
const SPAWNS = count('spawns', 1);
const TIME_MS = count('time-ms', 10);
const LINES = count('lines', 1);

interface Row {
  area: string;
  case: string;
  value: string;
  baseline: string;
  ratio: string;
  goal: string;
  status: 'met' | 'not met' | '';
}

const us = (ns: number) => (ns < 10_000 ? `${(ns / 1000).toFixed(2)} µs` : ns < 100_000 ? `${(ns / 1000).toFixed(1)} µs` : `${Math.round(ns / 1000)} µs`);
const x = (s: Spread) => `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
const ms = (v: number) => `${v.toFixed(1)} ms`;
const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
const status = (ok: boolean) => (ok ? 'met' : 'not met') as Row['status'];

/** p50s of each case: per repeat, one per round. */
type Timings = Record<string, number[][]>;

/**
 * Cases in groups that are compared with each other (a family's handler, floor and competitors). Within a
 * round every case of a group gets one short window, back to back, so a ratio compares windows that are
 * a few tens of ms apart; --rounds rounds make a repeat, and the repeats run one after the other.
 */
async function measureGroups(groups: Record<string, Case>[]): Promise<Timings> {
  const out: Timings = {};
  for (const g of groups) for (const k of Object.keys(g)) out[k] = [];
  // Untimed first pass: every case optimised before any is timed.
  for (const g of groups) {
    for (const fn of Object.values(g)) {
      const until = performance.now() + 100;
      while (performance.now() < until) await fn();
    }
  }
  for (let r = 0; r < REPEATS; r++) {
    for (const g of groups) {
      for (const k of Object.keys(g)) out[k].push([]);
      for (let round = 0; round < ROUNDS; round++) for (const [k, fn] of Object.entries(g)) out[k][r].push(await p50(fn, TIME_MS));
    }
    process.stderr.write(`  repeat ${r + 1}/${REPEATS} done (load ${fmtLoad(loadavg())})\n`);
  }
  return out;
}
/** Median over every window. */
const value = (t: number[][]) => median(t.flat());
/** Per repeat, the median over its rounds of a/b (same round); then the median and min-max over repeats. */
const ratios = (a: number[][], b: number[][]) => spread(a.map((rounds, r) => median(rounds.map((v, i) => v / b[r][i]))));

async function main(): Promise<void> {
  const host = machine();
  const started = new Date().toISOString();

  process.stderr.write('bundling lambda/*.ts with the options of lib/lambda-bundles.ts...\n');
  const bundles: (Bundle & { entry: string })[] = [];
  for (const entry of lambdaEntries()) bundles.push({ entry, ...(await bundle(entry, entry.replace(/\.ts$/, '.mjs'))) });
  // Each shim stands for one choice (support/shims/*.ts say which); lambda/ is never changed.
  const viaExtension = { '^@aws-sdk/client-secrets-manager$': path.join(SHIMS, 'sdk-secrets-via-extension.ts') };
  const dynamoOnly = { '^registry/clients$': path.join(SHIMS, 'registry-dynamo-only.ts') };
  const noRevocationSdk = { '^registry/authorizer-state$': path.join(SHIMS, 'revocations-without-sdk.ts') };
  const noGovernance = { '^moesif/(governance|client)$': path.join(SHIMS, 'governance-off.ts') };
  const variants = {
    require: await bundle('authorizer.ts', 'authorizer-require.mjs', [sdkViaRequire()]),
    split: await bundle('authorizer.ts', 'authorizer-split.mjs', [replaceModules(dynamoOnly)]),
    splitRequire: await bundle('authorizer.ts', 'authorizer-split-require.mjs', [replaceModules(dynamoOnly), sdkViaRequire()]),
    extension: await bundle('authorizer.ts', 'authorizer-extension.mjs', [replaceModules({ ...viaExtension, ...dynamoOnly })]),
    extensionRequire: await bundle('authorizer.ts', 'authorizer-extension-require.mjs', [replaceModules({ ...viaExtension, ...dynamoOnly }), sdkViaRequire()]),
    // SDK-free: the SDK's cost would hide the few milliseconds the transports and the governance code differ by.
    sdkFree: await bundle('authorizer.ts', 'authorizer-sdk-free.mjs', [replaceModules({ ...viaExtension, ...noRevocationSdk })]),
    lean: await bundle('authorizer.ts', 'authorizer-lean.mjs', [replaceModules({ ...viaExtension, ...noRevocationSdk, ...noGovernance })]),
  };
  const authorizer = bundles.find((b) => b.entry === 'authorizer.ts')!;

  const secrets = new LocalSecrets(SESSION_TOKEN);
  const endpoint = await secrets.start();
  const awsEnv = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDBENCH',
    AWS_SECRET_ACCESS_KEY: 'bench-secret',
    AWS_SESSION_TOKEN: SESSION_TOKEN,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(secrets.port),
  };
  Object.assign(process.env, awsEnv);
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  try {
    process.stderr.write('hot path, issuance, forwarder (mitata)...\n');
    const hot = await prepareHot(authorizer.file, secrets);
    const issue = hot.map((h) => prepareIssue(h.alg, h.ring));
    const fwd = prepareForwarder(LINES);
    const groups: Record<string, Case>[] = [{ 'forwarder full': fwd.full, 'forwarder floor': fwd.floor }];
    for (const h of hot) {
      const g: Record<string, Case> = {};
      for (const k of ['floor', 'handler', 'jose', 'jsonwebtoken', 'awsJwtVerify'] as const) if (h[k]) g[`hot ${h.alg} ${k}`] = h[k]!;
      groups.push(g);
    }
    for (const i of issue) groups.push({ [`issue ${i.alg} floor`]: i.floor, [`issue ${i.alg} issueKey`]: i.issueKey });
    const t = await measureGroups(groups);

    const hotResults = [];
    for (const { alg } of hot) {
      const get = (k: string) => t[`hot ${alg} ${k}`];
      const handler = get('handler');
      const floor = get('floor');
      const r = ratios(handler, floor);
      rows.push({ area: `hot ${alg}`, case: 'authorizer handler (bundle, keys and revocations cached)', value: us(value(handler)), baseline: `floor ${us(value(floor))}`, ratio: x(r), goal: `≤ ${GOALS.hotRatio}× floor`, status: status(r.median <= GOALS.hotRatio) });
      const competitors: Record<string, unknown> = {};
      for (const [k, label] of [['jose', 'jose jwtVerify'], ['jsonwebtoken', 'jsonwebtoken verify'], ['awsJwtVerify', 'aws-jwt-verify verifySync']] as const) {
        const c = get(k);
        if (!c) {
          rows.push({ area: `hot ${alg}`, case: label, value: 'n/a', baseline: '', ratio: '', goal: '', status: '' });
          continue;
        }
        const slower = ratios(c, handler);
        competitors[k] = { p50Ns: value(c), slowerThanHandler: slower };
        const required = k !== 'jose';
        rows.push({ area: `hot ${alg}`, case: label, value: us(value(c)), baseline: 'handler', ratio: `${x(slower)} slower`, goal: required ? 'handler faster' : '', status: required ? status(slower.median > 1) : '' });
      }
      hotResults.push({ alg, handlerP50Ns: value(handler), floorP50Ns: value(floor), ratio: r, perRepeat: { handler, floor }, competitors });
    }
    results.hot = hotResults;

    const issueResults = [];
    for (const { alg } of issue) {
      const [issued, floor] = ['issueKey', 'floor'].map((k) => t[`issue ${alg} ${k}`]);
      const r = ratios(issued, floor);
      rows.push({ area: `issue ${alg}`, case: 'issueKey (node:crypto)', value: us(value(issued)), baseline: `sign ${us(value(floor))}`, ratio: x(r), goal: `≤ ${GOALS.issueRatio}× sign`, status: status(r.median <= GOALS.issueRatio) });
      issueResults.push({ alg, issueKeyP50Ns: value(issued), signP50Ns: value(floor), ratio: r, perRepeat: { issueKey: issued, sign: floor } });
    }
    results.issue = issueResults;

    const perSecond = (ns: number) => Math.round(LINES / (ns / 1e9));
    const fr = ratios(t['forwarder full'], t['forwarder floor']);
    rows.push({ area: 'forwarder', case: `decode + toMoesif, ${LINES} lines`, value: `${perSecond(value(t['forwarder full'])).toLocaleString('en-US')} lines/s`, baseline: `JSON.parse ${perSecond(value(t['forwarder floor'])).toLocaleString('en-US')} lines/s`, ratio: x(fr), goal: '', status: '' });
    results.forwarder = { lines: LINES, p50NsPerDelivery: value(t['forwarder full']), nsPerLine: value(t['forwarder full']) / LINES, floorNsPerLine: value(t['forwarder floor']) / LINES, ratio: fr, bytesPerLine: fwd.bytesPerLine, gzipRatio: fwd.gzipRatio, bytesPerEventSent: fwd.bytesPerEventSent };

    for (const b of bundles) {
      const bytes = statSync(b.file).size;
      const isAuthorizer = b.entry === 'authorizer.ts';
      const jose = b.inputs.filter(([p]) => p.includes('node_modules/jose/')).reduce((s, [, n]) => s + n, 0);
      // The SDK is left to the runtime: not in the bytes, but each client imported is loaded at init.
      const clients = b.imports.filter((i) => i.startsWith('@aws-sdk/client-')).map((i) => i.slice('@aws-sdk/client-'.length));
      const notes = [jose ? `jose ${kb(jose)}` : '', clients.length ? `imports ${clients.join(', ')}` : ''].filter(Boolean).join('; ');
      rows.push({ area: 'bundle', case: `${b.entry}${notes ? ` (${notes})` : ''}`, value: kb(bytes), baseline: '', ratio: '', goal: isAuthorizer ? `≤ ${kb(GOALS.bundleBytes)}` : '', status: isAuthorizer ? status(bytes <= GOALS.bundleBytes) : '' });
    }
    results.bundles = bundles.map((b) => ({ entry: b.entry, bytes: statSync(b.file).size, imports: b.imports, topInputs: b.inputs.slice(0, 12) }));
    results.authorizerVariants = Object.fromEntries(Object.entries(variants).map(([k, b]) => [k, { bytes: statSync(b.file).size, imports: b.imports }]));

    process.stderr.write(`cold starts: ${SPAWNS} fresh processes per variant...\n`);
    // The stack's default algorithm; the authorizer reads the public copy of its key set.
    const rs256 = hot.find((h) => h.alg === 'RS256')!;
    const coldEnv: Record<string, string> = { ...awsEnv, ...authorizerEnv('RS256', rs256.arns), KEY_CACHE_TTL_SECONDS: '300', BENCH_TOKEN: rs256.token, BENCH_SECRET_ARN: rs256.arns.publicKeys };
    const ip = { BENCH_EXTENSION_HOST: '127.0.0.1' };
    const coldVariants: ColdVariant[] = [
      { id: 'empty', label: 'empty handler: import + call', file: EMPTY_MODULE, mode: 'call' },
      { id: 'import', label: '(a) authorizer bundle: import', file: authorizer.file, mode: 'import' },
      { id: 'sdk', label: '(b) authorizer: import + first call, SDK clients', file: authorizer.file, mode: 'call' },
      { id: 'require', label: 'variant: SDK loaded with require(), not import', file: variants.require.file, mode: 'call' },
      { id: 'split', label: 'variant: registry/clients.ts split (DynamoDB client only)', file: variants.split.file, mode: 'call' },
      { id: 'split-require', label: 'variant: split + require()', file: variants.splitRequire.file, mode: 'call' },
      { id: 'extension-ip', label: 'variant: split + keys via extension, node:http to 127.0.0.1', file: variants.extension.file, mode: 'call', env: ip },
      { id: 'extension-ip-require', label: 'variant: split + keys via extension (127.0.0.1) + require()', file: variants.extensionRequire.file, mode: 'call', env: ip },
      { id: 'sdk-free-ip', label: 'bound: keys via extension (127.0.0.1), revocations without SDK', file: variants.sdkFree.file, mode: 'call', env: ip },
      { id: 'sdk-free-http', label: 'bound: the same, node:http to localhost', file: variants.sdkFree.file, mode: 'call' },
      { id: 'sdk-free-fetch', label: 'bound: the same, fetch to localhost', file: variants.sdkFree.file, mode: 'call', env: { BENCH_SECRETS_TRANSPORT: 'fetch' } },
      { id: 'import-split', label: 'import: registry/clients.ts split', file: variants.split.file, mode: 'import' },
      { id: 'import-extension', label: 'import: split + keys via extension', file: variants.extension.file, mode: 'import' },
      { id: 'import-sdk-free', label: 'import: SDK-free bundle (governance code in)', file: variants.sdkFree.file, mode: 'import' },
      { id: 'import-no-governance', label: 'import: SDK-free, governance code out', file: variants.lean.file, mode: 'import' },
      { id: 'probe-sm', label: 'probe: Secrets Manager client, 1 call', file: path.join(PROBES, 'sdk-secrets-manager.mjs'), mode: 'call' },
      { id: 'probe-ddb', label: 'probe: DynamoDB client, 1 GetItem', file: path.join(PROBES, 'sdk-dynamodb.mjs'), mode: 'call' },
      { id: 'probe-both', label: 'probe: both SDK clients, 1 call each', file: path.join(PROBES, 'sdk-both.mjs'), mode: 'call' },
      { id: 'probe-both-require', label: 'probe: both SDK clients via require(), 1 call each', file: path.join(PROBES, 'sdk-both-require.mjs'), mode: 'call' },
      { id: 'probe-http', label: 'probe: 1 GET, node:http to localhost', file: path.join(PROBES, 'transport-http.mjs'), mode: 'call' },
      { id: 'probe-http-ip', label: 'probe: 1 GET, node:http to 127.0.0.1', file: path.join(PROBES, 'transport-http.mjs'), mode: 'call', env: ip },
      { id: 'probe-fetch', label: 'probe: 1 GET, fetch to localhost', file: path.join(PROBES, 'transport-fetch.mjs'), mode: 'call' },
      { id: 'probe-crypto', label: 'probe: node:crypto, one RS256 key + verify', file: path.join(PROBES, 'crypto-verify.mjs'), mode: 'call' },
    ];
    const cold = args['no-cold'] ? [] : await runCold(coldVariants, SPAWNS, coldEnv);
    const empty = cold.find((c) => c.id === 'empty')!;
    if (args['no-cold']) process.stderr.write('  skipped (--no-cold)\n');
    for (const c of cold) rows.push(coldRow(c, empty));
    results.cold = cold.map((c) => ({ ...c, deltaMs: c.mode === 'import' ? c.median - empty.importMedian : c.median - empty.median }));
  } finally {
    await secrets.stop();
  }

  host.loadEnd = loadavg();
  const goals = rows.filter((r) => r.status !== '').map((r) => ({ goal: `${r.area}: ${r.case} ${r.goal}`, status: r.status }));
  const report = { started, finished: new Date().toISOString(), machine: host, settings: { repeats: REPEATS, rounds: ROUNDS, spawns: SPAWNS, timeMsPerMeasurement: TIME_MS, lines: LINES }, goals, rows, ...results };
  mkdirSync(path.dirname(args.out!), { recursive: true });
  writeFileSync(args.out!, `${JSON.stringify(report, null, 2)}\n`);

  console.log(`Machine: ${host.cpu}, ${host.cores} cores, Node ${host.node} (${host.platform}); load average (1/5/15 min) ${fmtLoad(host.loadStart)} at start, ${fmtLoad(host.loadEnd)} at end`);
  console.log(`Run: ${started}; mitata windows of ~${TIME_MS} ms, cases of a group back to back, ${ROUNDS} rounds × ${REPEATS} repeats; a ratio is the median over repeats (min–max) of each repeat's median same-round ratio; ${SPAWNS} fresh processes per cold variant`);
  console.log('');
  console.log('| area | case | median | baseline | ratio (min–max) | goal | status |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.area} | ${r.case} | ${r.value} | ${r.baseline} | ${r.ratio} | ${r.goal} | ${r.status} |`);
  const missed = goals.filter((g) => g.status === 'not met').length;
  console.log('');
  console.log(`${goals.length - missed} goals met, ${missed} not met. Results: ${path.relative(process.cwd(), args.out!)}`);
}

function coldRow(c: ColdResult, empty: ColdResult): Row {
  const base = c.mode === 'import' ? empty.importMedian : empty.median;
  const delta = c.median - base;
  const value = `${ms(c.median)} (p90 ${ms(c.p90)})`;
  if (c.id === 'empty') return { area: 'cold', case: c.label, value, baseline: '', ratio: '', goal: 'baseline', status: '' };
  const isGoal = c.id === 'sdk';
  const sdkPackages = Object.keys(c.packages).filter((p) => /^@(aws-sdk|smithy|aws-crypto)\//.test(p)).length;
  return {
    area: c.id.startsWith('probe') || c.id.startsWith('import-') ? 'cold breakdown' : 'cold',
    case: `${c.label}${sdkPackages ? ` [${sdkPackages} SDK packages]` : ''}`,
    value,
    baseline: `empty +${ms(delta)}`,
    ratio: '',
    goal: isGoal || /^(require|split|extension|sdk-free)/.test(c.id) ? `≤ +${GOALS.coldDeltaMs} ms` : c.id === 'import' ? 'info' : '',
    status: isGoal ? status(delta <= GOALS.coldDeltaMs) : '',
  };
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
