/** Bad command line: exit status 2. The message names the argument, never its value. */
export class UsageError extends Error {
  /** The command whose --help to point at; the tool's when unknown. */
  command?: string;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The command could not do its job (unreadable file, unusable key, invalid token): exit status 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * True for values that look like key material or a token: a PEM block, a compact JWS/JWE, a JSON
 * key, anything spanning lines. Used to refuse them where a path, URL or name belongs, so that the
 * message for the mistake can name the argument without ever printing what was pasted into it.
 */
export function looksSecret(value: string): boolean {
  return (
    /-----BEGIN /.test(value) ||
    /[\r\n]/.test(value) ||
    /^eyJ[\w-]*\.[\w-]*\.[\w-]*(\.[\w-]*\.[\w-]*)?$/.test(value) ||
    /^\s*\{[\s\S]*"(kty|d|k)"\s*:/.test(value)
  );
}
