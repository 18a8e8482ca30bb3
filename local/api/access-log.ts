/** Escapes a value so a format that quotes it (a JSON format) stays valid JSON. */
function escape(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

/**
 * One access-log line: the stage's format with every `$context.<name>` replaced by its value, `-` when
 * there is none, as API Gateway writes it.
 */
export function formatAccessLog(format: string, lookup: (name: string) => string | undefined): string {
  return format.replace(/\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_-]+)*)/g, (_m, name: string) => {
    const value = lookup(name);
    return value === undefined || value === '' ? '-' : escape(value);
  });
}
