/**
 * Reading Moesif's two agent documents, `GET /v1/config` and `GET /v1/rules`
 * (https://www.moesif.com/docs/api#get-config), with the Collector Application Id, revalidated by version tag.
 * Shared by the authorizer's governance source and the forwarder's sampling source.
 *
 * Moesif sends the version in its own header (`X-Moesif-Config-ETag`, `X-Moesif-Rules-Tag`); we send it back as
 * `If-None-Match` and a 304 keeps the cached copy, as moesif-litellm does (the other agents compare the tag after
 * a full GET, which works here too: a 200 just replaces the copy).
 */

export type DocumentPath = '/v1/config' | '/v1/rules';

const TAG_HEADERS: Record<DocumentPath, string> = {
  '/v1/config': 'x-moesif-config-etag',
  '/v1/rules': 'x-moesif-rules-tag',
};

export interface MoesifDocument {
  /** The version tag Moesif sent, if any. */
  tag?: string;
  json: unknown;
}

/** Moesif could not be read: network, timeout, non-200 answer, wrong application id, not JSON. */
export class MoesifUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MoesifUnavailableError';
  }
}

export interface FetchDocumentOptions {
  /** e.g. https://api.moesif.net (no trailing /v1). */
  baseUrl: string;
  path: DocumentPath;
  applicationId: string;
  /** The copy to revalidate: its tag goes out as If-None-Match and a 304 returns it. */
  cached?: MoesifDocument;
  timeoutMs: number;
  fetch?: typeof globalThis.fetch;
}

export interface FetchedDocument {
  document: MoesifDocument;
  /** Moesif answered 304: `document` is the cached copy. */
  notModified: boolean;
}

/** One GET; throws MoesifUnavailableError for anything but a 200 with JSON or a 304 for the cached copy. */
export async function fetchDocument(options: FetchDocumentOptions): Promise<FetchedDocument> {
  const { baseUrl, path, applicationId, cached, timeoutMs, fetch = globalThis.fetch } = options;
  const headers: Record<string, string> = { 'X-Moesif-Application-Id': applicationId, Accept: 'application/json' };
  if (cached?.tag) headers['If-None-Match'] = cached.tag;
  let res: Response;
  try {
    res = await fetch(baseUrl.replace(/\/+$/, '') + path, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new MoesifUnavailableError(`GET ${path} failed: ${(err as Error)?.name ?? 'Error'}`, { cause: err });
  }
  if (res.status === 304 && cached) {
    await res.body?.cancel();
    return { document: cached, notModified: true };
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new MoesifUnavailableError(`GET ${path} answered ${res.status}.`);
  }
  let json: unknown;
  try {
    json = await res.json();
  } catch (err) {
    throw new MoesifUnavailableError(`GET ${path} did not return JSON in time.`, { cause: err });
  }
  // A plain ETag is accepted too.
  const tag = res.headers.get(TAG_HEADERS[path]) ?? res.headers.get('etag') ?? undefined;
  return { document: { tag, json }, notModified: false };
}
