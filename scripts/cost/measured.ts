/**
 * The measured inputs of the cost model: read from the bench's last result file (npm run bench writes
 * bench/results/latest.json), else the documented defaults below.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Measured } from './model';
import { CostError } from './args';

/**
 * Used when there is no result file: the bench of 2026-12-01T21:50Z on a 2-core AMD EPYC, Node 20
 * (bench/RESULTS.md): RS256 handler, cold path (b) as deployed (four SDK clients imported), forwarder per
 * line, the bench's access-log lines (synthetic lines compress better than real ones; storage is a small
 * share either way).
 */
export const DEFAULT_MEASURED: Measured = {
  authorizerWarmMs: 0.0477,
  authorizerColdMs: 355,
  forwarderMsPerLine: 0.0143,
  bytesPerLine: 619,
  gzipRatio: 0.042,
  bytesPerEventSent: 691,
};

export interface MeasuredSource {
  measured: Measured;
  /** Where the values come from, for the report. */
  from: string;
}

interface BenchResults {
  started?: string;
  hot?: { alg: string; handlerP50Ns: number }[];
  cold?: { id: string; median: number; deltaMs: number }[];
  forwarder?: { nsPerLine: number; bytesPerLine: number; gzipRatio: number; bytesPerEventSent: number };
}

const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** The measurements for `alg` in the bench results at `file`; the defaults when there is no such file. */
export function loadMeasured(file: string, alg: string): MeasuredSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { measured: DEFAULT_MEASURED, from: `documented defaults (no ${file}; run npm run bench to measure)` };
    throw new CostError(`cannot read --results ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}.`);
  }
  let results: BenchResults;
  try {
    results = JSON.parse(text) as BenchResults;
  } catch {
    throw new CostError(`--results ${file} is not JSON; run npm run bench again or pass another file.`);
  }
  const hot = results.hot?.find((h) => h.alg === alg);
  const cold = results.cold?.find((c) => c.id === 'sdk');
  const fwd = results.forwarder;
  if (!hot) throw new CostError(`--results ${file} has no hot-path figure for ${alg}; use --alg ${(results.hot ?? []).map((h) => h.alg).join('|') || 'RS256'}.`);
  const measured: Measured = {
    authorizerWarmMs: hot.handlerP50Ns / 1e6,
    authorizerColdMs: cold?.deltaMs ?? NaN,
    forwarderMsPerLine: (fwd?.nsPerLine ?? NaN) / 1e6,
    bytesPerLine: fwd?.bytesPerLine ?? NaN,
    gzipRatio: fwd?.gzipRatio ?? NaN,
    bytesPerEventSent: fwd?.bytesPerEventSent ?? NaN,
  };
  const missing = Object.entries(measured).filter(([, v]) => !positive(v)).map(([k]) => k);
  if (missing.length > 0) throw new CostError(`--results ${file} lacks ${missing.join(', ')}; run npm run bench again.`);
  return { measured, from: `${relative(process.cwd(), file)} (bench of ${results.started ?? 'unknown date'})` };
}
