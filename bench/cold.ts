/**
 * Cold starts in fresh Node processes: each variant is spawned `spawns` times, the variants interleaved so
 * a change of machine load touches them alike. The child (bench/cold/child.mjs) times `import()` of the
 * module and the first handler call; Node's own start-up, the same for every variant, is left out.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { median, quantile } from './support/stats';

const run = promisify(execFile);
const CHILD = path.join(__dirname, 'cold', 'child.mjs');
export const EMPTY_MODULE = path.join(__dirname, 'cold', 'empty.mjs');
export const PROBES = path.join(__dirname, 'cold', 'probes');

export interface ColdVariant {
  id: string;
  label: string;
  file: string;
  mode: 'import' | 'call';
  env?: Record<string, string>;
}

export interface ColdSample {
  importMs: number;
  callMs: number;
  totalMs: number;
  authorized: boolean | null;
  packages: Record<string, number>;
}

export interface ColdResult {
  id: string;
  label: string;
  mode: 'import' | 'call';
  spawns: number;
  /** import + first call (import alone in mode "import"), ms. */
  median: number;
  p90: number;
  importMedian: number;
  callMedian: number;
  /** CommonJS files loaded from node_modules, per package (the last spawn). */
  packages: Record<string, number>;
}

export async function runCold(variants: ColdVariant[], spawns: number, baseEnv: Record<string, string>): Promise<ColdResult[]> {
  const samples = new Map<string, ColdSample[]>(variants.map((v) => [v.id, []]));
  for (let i = 0; i < spawns; i++) {
    // Rotated start, so no variant always runs right after the same neighbour.
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(i + k) % variants.length];
      // Asynchronous: the local Secrets Manager the child reads from runs in this process.
      const { stdout } = await run(process.execPath, [CHILD, v.file, v.mode], { env: { ...baseEnv, ...v.env }, encoding: 'utf8' });
      const sample = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ColdSample;
      if (v.mode === 'call' && sample.authorized !== true) throw new Error(`cold variant ${v.id}: the first call was not authorized; run it by hand: node ${CHILD} ${v.file} call`);
      samples.get(v.id)!.push(sample);
    }
  }
  return variants.map((v) => {
    const s = samples.get(v.id)!;
    const totals = s.map((x) => x.totalMs);
    return {
      id: v.id,
      label: v.label,
      mode: v.mode,
      spawns: s.length,
      median: median(totals),
      p90: quantile(totals, 0.9),
      importMedian: median(s.map((x) => x.importMs)),
      callMedian: median(s.map((x) => x.callMs)),
      packages: s[s.length - 1].packages,
    };
  });
}
