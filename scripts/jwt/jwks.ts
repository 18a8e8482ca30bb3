import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { CliError } from './errors';

/** A JWK Set to verify against, and how messages name it. */
export interface KeySet {
  keys: JWTVerifyGetKey;
  /** The file path, or the URL without credentials or query. */
  source: string;
}

/** jose fetches the set on first use (and again for an unknown kid), each fetch bounded by the timeout. */
export function remoteKeySet(url: URL, timeoutSeconds: number): KeySet {
  return { keys: createRemoteJWKSet(url, { timeoutDuration: timeoutSeconds * 1000 }), source: `${url.origin}${url.pathname}` };
}

export function localKeySet(text: string, path: string): KeySet {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`--jwks ${path} is not JSON.`);
  }
  try {
    return { keys: createLocalJWKSet(json as JSONWebKeySet), source: path };
  } catch (err) {
    throw keySetError(err, path, 0);
  }
}

/** A problem with the key set itself (not the token), as one line naming its source. */
export function keySetError(err: unknown, source: string, timeoutSeconds: number): CliError {
  const e = err as Error & { code?: string; cause?: { code?: string } };
  if (e.code === 'ERR_JWKS_TIMEOUT') return new CliError(`no answer from the JWK Set URL ${source} within ${timeoutSeconds} s.`);
  if (e.name === 'TypeError' && e.message === 'fetch failed') {
    return new CliError(`cannot fetch the JWK Set from ${source}: ${e.cause?.code ?? 'network error'}.`);
  }
  // jose's own messages are fixed texts, with no key or token material in them.
  if (typeof e.code === 'string' && e.code.startsWith('ERR_J')) return new CliError(`JWK Set ${source}: ${e.message}.`);
  return new CliError(`JWK Set ${source}: ${e.name}.`);
}
