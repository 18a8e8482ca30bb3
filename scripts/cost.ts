/**
 * `npm run cost`: dollars per million API calls for native mode, Lambda mode at 0 %, 90 % and 99 %
 * authorizer-cache hits (and the --hit-ratio given), and the Moesif forwarding path, from the public prices
 * in scripts/cost/prices.ts and the durations and sizes `npm run bench` measured.
 *
 *   npm run -s cost -- --requests 50000000 --hit-ratio 0.95
 *
 * This file is the front door (arguments, files, exit status); the model is scripts/cost/model.ts.
 * Exit status: 0 ok, 2 bad usage or unreadable results.
 */
import * as path from 'node:path';
import { CostError, parseCostArgs, USAGE } from './cost/args';
import { loadMeasured } from './cost/measured';
import { buildReport, formatReport } from './cost/report';

export const DEFAULT_RESULTS = path.join(__dirname, '..', 'bench', 'results', 'latest.json');

export interface CostIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export function main(argv: string[], io: CostIo): number {
  try {
    const opts = parseCostArgs(argv);
    if (opts.help) {
      io.stdout(USAGE);
      return 0;
    }
    const source = loadMeasured(opts.results ?? DEFAULT_RESULTS, opts.alg);
    io.stdout(formatReport(opts, source, buildReport(opts, source)));
    return 0;
  } catch (err) {
    if (err instanceof CostError) {
      io.stderr(`cost: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });
}
