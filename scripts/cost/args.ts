import { parseArgs } from 'node:util';
import { DEFAULT_ASSUMPTIONS, type Assumptions } from './model';
import { REGIONS } from './prices';

/** A one-line message for the user; the CLI prints it after "cost: " and exits with 2. */
export class CostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CostError';
  }
}

export const USAGE = `Usage: npm run cost -- --requests N [--hit-ratio R] [--mode native|lambda] [--region REGION] [options]

Dollars per million API calls for this stack, from public prices and the bench's measurements.

  --requests N           API calls a month (tiers and monthly fixed costs depend on it), e.g. 50000000 or 5e7
  --hit-ratio R          share of calls API Gateway answers from its authorizer cache, 0 to 1 or a percentage
                         (0.95 or 95%); required with --mode lambda. 0%, 90% and 99% are always shown too
  --mode M               the authorizer of "your configuration": lambda (default) or native (JWT authorizer)
  --region REGION        price table: ${REGIONS.join(', ')} (default us-east-1)
  --alg ALG              whose measured handler time to use: HS256, RS256 (default), ES256, EdDSA
  --results FILE         bench results (default bench/results/latest.json; documented defaults if absent)

Assumptions no benchmark can measure (defaults in brackets):
  --memory-mb N          authorizer and forwarder memory [${DEFAULT_ASSUMPTIONS.memoryMb}]
  --cold-start-rate R    share of authorizer invocations that start cold [${DEFAULT_ASSUMPTIONS.coldStartRate}]
  --containers N         warm authorizer environments on average [${DEFAULT_ASSUMPTIONS.containers}]
  --lines-per-delivery N access-log lines per CloudWatch Logs delivery to the forwarder [${DEFAULT_ASSUMPTIONS.linesPerDelivery}]
  --moesif-latency-ms N  wall time of one batch POST to Moesif [${DEFAULT_ASSUMPTIONS.moesifLatencyMs}]
  --log-retention-days N log groups' retention [${DEFAULT_ASSUMPTIONS.logRetentionDays}]
  -h, --help             this text
`;

export interface CostOptions {
  help: boolean;
  requests: number;
  hitRatio?: number;
  mode: 'native' | 'lambda';
  region: string;
  alg: string;
  results?: string;
  assumptions: Assumptions;
}

const ALGS = ['HS256', 'RS256', 'ES256', 'EdDSA'];

function ratio(name: string, raw: string): number {
  const percent = raw.trim().endsWith('%');
  const value = Number(percent ? raw.trim().slice(0, -1) : raw) / (percent ? 100 : 1);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) throw new CostError(`--${name} must be a number from 0 to 1 or a percentage (e.g. 0.9 or 90%), got "${raw}".`);
  return value;
}

function positive(name: string, raw: string, integer: boolean): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new CostError(`--${name} must be a positive ${integer ? 'whole ' : ''}number, got "${raw}".`);
  }
  return value;
}

export function parseCostArgs(argv: string[]): CostOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        requests: { type: 'string' },
        'hit-ratio': { type: 'string' },
        mode: { type: 'string' },
        region: { type: 'string' },
        alg: { type: 'string' },
        results: { type: 'string' },
        'memory-mb': { type: 'string' },
        'cold-start-rate': { type: 'string' },
        containers: { type: 'string' },
        'lines-per-delivery': { type: 'string' },
        'moesif-latency-ms': { type: 'string' },
        'log-retention-days': { type: 'string' },
      },
    }));
  } catch (err) {
    // parseArgs says e.g. "Unknown option '--foo'. To specify a positional argument starting with a '-' ...": keep its first sentence.
    throw new CostError(`${(err as Error).message.split('. ')[0].replace(/\.$/, '')}; see --help.`);
  }
  const a = { ...DEFAULT_ASSUMPTIONS };
  const str = (k: string) => values[k] as string | undefined;
  if (values.help) return { help: true, requests: 0, mode: 'lambda', region: 'us-east-1', alg: 'RS256', assumptions: a };

  const requestsRaw = str('requests');
  if (requestsRaw === undefined) throw new CostError('--requests is required: the number of API calls a month, e.g. --requests 50000000.');
  const requests = positive('requests', requestsRaw, true);
  const mode = str('mode') ?? 'lambda';
  if (mode !== 'native' && mode !== 'lambda') throw new CostError(`--mode must be native or lambda, got "${mode}".`);
  const hitRaw = str('hit-ratio');
  if (hitRaw === undefined && mode === 'lambda') throw new CostError('--hit-ratio is required with --mode lambda: the share of calls answered from the authorizer cache, e.g. --hit-ratio 0.9.');
  const region = str('region') ?? 'us-east-1';
  if (!REGIONS.includes(region)) throw new CostError(`--region ${region} has no price table; use ${REGIONS.join(', ')} or add one to scripts/cost/prices.ts.`);
  const alg = str('alg') ?? 'RS256';
  if (!ALGS.includes(alg)) throw new CostError(`--alg must be one of ${ALGS.join(', ')}, got "${alg}".`);

  if (str('memory-mb') !== undefined) {
    a.memoryMb = positive('memory-mb', str('memory-mb')!, true);
    if (a.memoryMb < 128 || a.memoryMb > 10240) throw new CostError(`--memory-mb must be from 128 to 10240 (Lambda's range), got ${a.memoryMb}.`);
  }
  if (str('cold-start-rate') !== undefined) a.coldStartRate = ratio('cold-start-rate', str('cold-start-rate')!);
  if (str('containers') !== undefined) a.containers = positive('containers', str('containers')!, true);
  if (str('lines-per-delivery') !== undefined) a.linesPerDelivery = positive('lines-per-delivery', str('lines-per-delivery')!, true);
  if (str('moesif-latency-ms') !== undefined) a.moesifLatencyMs = positive('moesif-latency-ms', str('moesif-latency-ms')!, false);
  if (str('log-retention-days') !== undefined) a.logRetentionDays = positive('log-retention-days', str('log-retention-days')!, true);

  return { help: false, requests, hitRatio: hitRaw === undefined ? undefined : ratio('hit-ratio', hitRaw), mode, region, alg, results: str('results'), assumptions: a };
}
