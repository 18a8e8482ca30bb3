import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../scripts/cost';
import { parseCostArgs } from '../../scripts/cost/args';
import { DEFAULT_MEASURED, loadMeasured } from '../../scripts/cost/measured';
import { baseCost, billedMs, DEFAULT_ASSUMPTIONS, httpApiCost, lambdaAuthorizerCost, moesifForwardingCost, sum, type CostInputs } from '../../scripts/cost/model';
import { PRICES, type Price, type RegionPrices } from '../../scripts/cost/prices';
import { buildReport } from '../../scripts/cost/report';

const ROOT = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'cost-'));

/** What `npm run bench` writes, cut to what the cost model reads. */
const RESULTS = {
  started: '2026-12-01T20:00:00.000Z',
  hot: [
    { alg: 'HS256', handlerP50Ns: 8_000 },
    { alg: 'RS256', handlerP50Ns: 40_000 },
  ],
  cold: [
    { id: 'empty', median: 2, deltaMs: 0 },
    { id: 'sdk', median: 182, deltaMs: 180 },
  ],
  forwarder: { nsPerLine: 5_000, bytesPerLine: 650, gzipRatio: 0.12, bytesPerEventSent: 800 },
};
const resultsFile = join(dir, 'latest.json');
writeFileSync(resultsFile, JSON.stringify(RESULTS));

function run(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

/** Round prices, so each expected figure below can be worked out by hand. */
const p = (quoted: number, per = 1): Price => ({ quoted, per, unit: 'unit', source: 'test', checked: '2026-12-01' });
const ROUND: RegionPrices = {
  httpApiTiers: [
    { upTo: 300e6, price: p(1, 1e6) },
    { upTo: Infinity, price: p(0.9, 1e6) },
  ],
  lambdaArmGbSecond: p(0.00001),
  lambdaRequest: p(0.2, 1e6),
  logsIngestionGb: p(0.5),
  logsStorageGbMonth: p(0.03),
  secretMonth: p(0.4),
  secretsApiCall: p(0.05, 10_000),
  dynamoReadUnit: p(0.125, 1e6),
  dataTransferOutGb: p(0.09),
};
const GIB = 1024 ** 3;
const inputs = (requests: number): CostInputs => ({
  requests,
  prices: ROUND,
  measured: { authorizerWarmMs: 0.5, authorizerColdMs: 200, forwarderMsPerLine: 0.01, bytesPerLine: GIB / 1e6, gzipRatio: 0.2, bytesPerEventSent: GIB / 1e6 },
  // 1,024 MB: one GB, so GB-seconds are seconds.
  assumptions: { ...DEFAULT_ASSUMPTIONS, memoryMb: 1024, coldStartRate: 0.01, containers: 2, runtimeInitMs: 100, linesPerDelivery: 100, moesifLatencyMs: 150, platformLogBytes: GIB / 1e6, logRetentionDays: 60 },
});
const byName = (lines: { component: string; monthly: number }[]) => Object.fromEntries(lines.map((l) => [l.component.replace(/ \(.*\)$/, ''), l.monthly]));

describe('the cost model (pure core)', () => {
  it('bills HTTP API requests tier by tier', () => {
    expect(httpApiCost(1e6, ROUND)).toBeCloseTo(1, 10);
    // 300 million at $1 per million, then 100 million at $0.90.
    expect(httpApiCost(400e6, ROUND)).toBeCloseTo(300 + 90, 8);
  });

  it('bills Lambda time in whole milliseconds of CPU scaled to the memory size', () => {
    // 0.5 ms on a full vCPU takes 0.5 x 1769/1024 = 0.86 ms at 1,024 MB: 1 ms billed; at 128 MB 6.9 ms: 7.
    expect(billedMs(0.5, 1024)).toBe(1);
    expect(billedMs(0.5, 128)).toBe(7);
    expect(billedMs(1, 1769, 150)).toBe(151);
  });

  it('prices the Lambda authorizer at a 90% cache-hit ratio as worked out by hand', () => {
    const lines = byName(lambdaAuthorizerCost(inputs(1e6), 0.9));
    // 100,000 invocations.
    expect(lines['authorizer invocations']).toBeCloseTo(100_000 * 0.2e-6, 10);
    // 1 ms billed each, at 1 GB: 100 GB-s.
    expect(lines['authorizer duration']).toBeCloseTo(100 * 0.00001, 10);
    // 1% of them cold: 1,000 x (100 + 200) ms = 300 GB-s.
    expect(lines['authorizer cold starts']).toBeCloseTo(300 * 0.00001, 10);
    // 2 containers x (2,592,000 s / 300 s) = 17,280 reads, plus one per cold start.
    expect(lines['Secrets Manager GetSecretValue']).toBeCloseTo(18_280 * 0.000005, 10);
    // 2 containers x 2,592,000 s / 5 s x 0.5 read unit (the stack's revocationRefreshSeconds, one small Query).
    expect(lines['DynamoDB revocation refresh']).toBeCloseTo(518_400 * 0.125e-6, 10);
    // 100,000 x GiB/1e6 bytes = 0.1 GiB: ingestion 0.1 x $0.5, storage 0.1 x 0.2 x 2 months x $0.03.
    expect(lines['authorizer platform log lines']).toBeCloseTo(0.05 + 0.0012, 10);
  });

  it('prices the Moesif forwarding path as worked out by hand', () => {
    const lines = byName(moesifForwardingCost(inputs(1e6)));
    // 1 GiB of access log: ingestion $0.50, storage 1 x 0.2 x 2 months x $0.03.
    expect(lines['access log ingestion + storage']).toBeCloseTo(0.5 + 0.012, 10);
    // 10,000 deliveries of 100 lines; each 100 x 0.01 ms x 1769/1024 + 150 ms = 151.7 -> 152 ms.
    expect(lines['forwarder invocations']).toBeCloseTo(10_000 * 0.2e-6, 10);
    expect(lines['forwarder duration']).toBeCloseTo(10_000 * 0.152 * 0.00001, 10);
    // 10,000 x (GiB/1e6 platform + 200 summary) bytes.
    const logGb = (10_000 * (GIB / 1e6 + 200)) / GIB;
    expect(lines['forwarder log lines']).toBeCloseTo(logGb * 0.5 + logGb * 0.2 * 2 * 0.03, 10);
    expect(lines['data transfer out to Moesif']).toBeCloseTo(0.09, 10);
    // The secret, and 2 containers x 8,640 reads.
    expect(lines['Moesif application id secret']).toBeCloseTo(0.4 + 17_280 * 0.000005, 10);
  });

  it('counts no authorizer container, read or cold start when the cache answers every call', () => {
    expect(sum(lambdaAuthorizerCost(inputs(1e6), 1))).toBe(0);
  });

  it('reports dollars per million calls, with the fixed monthly costs spread over the volume', () => {
    const opts = parseCostArgs(['--requests', '2000000', '--hit-ratio', '0.95', '--mode', 'lambda']);
    const report = buildReport(opts, { measured: DEFAULT_MEASURED, from: 'test' });
    expect(report.columns.map((c) => c.label)).toEqual(['native', 'lambda 0%', 'lambda 90%', 'lambda 99%', 'lambda 95%']);
    // Native: $1 per million requests plus 2 secrets x $0.40 over 2 million calls.
    expect(report.authorizerTotals[0]).toBeCloseTo(PRICES['us-east-1'].httpApiTiers[0].price.quoted + 0.8 / 2, 10);
    const real: CostInputs = { requests: 2e6, prices: PRICES['us-east-1'], measured: DEFAULT_MEASURED, assumptions: DEFAULT_ASSUMPTIONS };
    expect(report.yours.perMillion).toBeCloseTo(sum([...baseCost(real), ...lambdaAuthorizerCost(real, 0.95)]) / 2, 10);
    expect(report.yours.perMillionWithMoesif).toBeCloseTo(report.yours.perMillion + sum(moesifForwardingCost(real)) / 2, 10);
    // Fewer authorizer invocations as the hit ratio grows.
    expect(report.authorizerTotals[1]).toBeGreaterThan(report.authorizerTotals[2]);
    expect(report.authorizerTotals[2]).toBeGreaterThan(report.authorizerTotals[3]);
  });
});

describe('the measured inputs', () => {
  it('come from the bench results for the chosen algorithm', () => {
    const { measured, from } = loadMeasured(resultsFile, 'HS256');
    expect(measured).toEqual({ authorizerWarmMs: 0.008, authorizerColdMs: 180, forwarderMsPerLine: 0.005, bytesPerLine: 650, gzipRatio: 0.12, bytesPerEventSent: 800 });
    expect(from).toContain('bench of 2026-12-01T20:00:00.000Z');
  });

  it('fall back to the documented defaults when there is no result file', () => {
    const { measured, from } = loadMeasured(join(dir, 'none.json'), 'RS256');
    expect(measured).toBe(DEFAULT_MEASURED);
    expect(from).toMatch(/^documented defaults/);
  });
});

describe('npm run cost', () => {
  it('prints the table, your configuration and the prices with their sources (child process)', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/cost.ts', '--requests', '50000000', '--hit-ratio', '95%', '--results', resultsFile], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(stderr).toBe('');
    expect(stdout).toContain('| authorizer and gateway | native | lambda 0% | lambda 90% | lambda 99% | lambda 95% |');
    expect(stdout).toContain('| Moesif forwarding path (any mode) | per million calls |');
    expect(stdout).toMatch(/Your configuration \(Lambda authorizer, 95% cache hits\): \$\d+\.\d{4} per million calls/);
    expect(stdout).toContain('RS256 handler 0.040 ms, cold start +180 ms');
    expect(stdout).toContain('https://aws.amazon.com/lambda/pricing/');
  });

  it('prints its usage with --help', () => {
    const { code, stdout } = run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--hit-ratio R');
  });

  it.each([
    [[], 'cost: --requests is required: the number of API calls a month, e.g. --requests 50000000.'],
    [['--requests', '0', '--hit-ratio', '0.9'], 'cost: --requests must be a positive whole number, got "0".'],
    [['--requests', '1.5', '--hit-ratio', '0.9'], 'cost: --requests must be a positive whole number, got "1.5".'],
    [['--requests', '1e6'], 'cost: --hit-ratio is required with --mode lambda: the share of calls answered from the authorizer cache, e.g. --hit-ratio 0.9.'],
    [['--requests', '1e6', '--hit-ratio', '1.5'], 'cost: --hit-ratio must be a number from 0 to 1 or a percentage (e.g. 0.9 or 90%), got "1.5".'],
    [['--requests', '1e6', '--hit-ratio', 'most'], 'cost: --hit-ratio must be a number from 0 to 1 or a percentage (e.g. 0.9 or 90%), got "most".'],
    [['--requests', '1e6', '--mode', 'rest'], 'cost: --mode must be native or lambda, got "rest".'],
    [['--requests', '1e6', '--mode', 'native', '--region', 'eu-west-9'], 'cost: --region eu-west-9 has no price table; use us-east-1 or add one to scripts/cost/prices.ts.'],
    [['--requests', '1e6', '--mode', 'native', '--alg', 'none'], 'cost: --alg must be one of HS256, RS256, ES256, EdDSA, got "none".'],
    [['--requests', '1e6', '--mode', 'native', '--memory-mb', '64'], 'cost: --memory-mb must be from 128 to 10240 (Lambda\'s range), got 64.'],
    [['--requests', '1e6', '--mode', 'native', '--verbose'], "cost: Unknown option '--verbose'; see --help."],
    [['--requests', '1e6', '--mode', 'native', '--alg', 'ES256', '--results', resultsFile], `cost: --results ${resultsFile} has no hot-path figure for ES256; use --alg HS256|RS256.`],
  ])('refuses %j with one line naming what to fix', (args, message) => {
    const { code, stdout, stderr } = run(args as string[]);
    expect({ code, stdout, stderr }).toEqual({ code: 2, stdout: '', stderr: `${message}\n` });
  });

  it('refuses a result file that is not JSON', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"hot": [');
    expect(run(['--requests', '1e6', '--mode', 'native', '--results', bad])).toEqual({ code: 2, stdout: '', stderr: `cost: --results ${bad} is not JSON; run npm run bench again or pass another file.\n` });
  });
});
