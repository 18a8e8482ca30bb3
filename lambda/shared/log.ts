type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/**
 * Where log lines go: stdout/stderr directly, not the global console, which the Lambda runtime patches
 * and would wrap our JSON as a string inside its own `message` field. Tests swap `write`.
 */
export const logSink = {
  write(level: Level, line: string): void {
    (level === 'ERROR' || level === 'WARN' ? process.stderr : process.stdout).write(`${line}\n`);
  },
};

/**
 * One JSON object per line, so CloudWatch Logs Insights and metric filters read the fields. Callers
 * pass reason codes and ids, never tokens or key material.
 */
export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  logSink.write(level, JSON.stringify({ timestamp: new Date().toISOString(), level, message, ...fields }));
}

export function errorFields(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; message?: string };
  return { error: e?.name ?? 'Error', errorMessage: e?.message };
}
