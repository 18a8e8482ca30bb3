type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/**
 * One JSON line per event (the functions use Lambda's JSON log format). Callers pass reason codes and
 * ids, never tokens or key material.
 */
export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, message, ...fields });
  if (level === 'ERROR') console.error(line);
  else if (level === 'WARN') console.warn(line);
  else console.log(line);
}

export function errorFields(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; message?: string };
  return { error: e?.name ?? 'Error', errorMessage: e?.message };
}
