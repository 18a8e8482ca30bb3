import { cpus, loadavg } from 'node:os';
import { measure } from 'mitata';

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  return sorted[lo] + (sorted[Math.ceil(at)] - sorted[lo]) * (at - lo);
}
export const median = (values: number[]) => quantile(values, 0.5);

/** Median, minimum and maximum of a list of ratios (one per repeat). */
export interface Spread {
  median: number;
  min: number;
  max: number;
}
export function spread(values: number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * One short mitata measurement: the median time of one call, in ns. Batches of 128 calls (not mitata's
 * 4,096) keep a window to ~`minCpuTimeMs`, so cases measured one after the other see the same machine load.
 */
export async function p50(fn: () => unknown, minCpuTimeMs: number): Promise<number> {
  const stats = await measure(fn, { min_cpu_time: minCpuTimeMs * 1e6, batch_samples: 128, min_samples: 8 } as never);
  return (stats as { p50: number }).p50;
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  platform: string;
  loadStart: number[];
  loadEnd?: number[];
}
export function machine(): Machine {
  const cpu = cpus();
  return { cpu: cpu[0]?.model.trim() ?? 'unknown', cores: cpu.length, node: process.version, platform: `${process.platform}/${process.arch}`, loadStart: loadavg() };
}
export const fmtLoad = (l: number[] | undefined) => (l ? l.map((x) => x.toFixed(2)).join(' / ') : '?');
