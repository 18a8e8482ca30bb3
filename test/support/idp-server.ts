import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignJWT, type JWK, type JWTPayload } from 'jose';
import { thumbprint } from '../../lambda/jwt/jwk-set';
import { LocalHttpServer } from './local-server';

/** A key pair of an identity provider: the private half signs test tokens, the public JWK is published. */
export interface IdpKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  jwk: JWK;
}

const KEY_SPECS: Record<string, () => { privateKey: KeyObject; publicKey: KeyObject }> = {
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  PS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ES384: () => generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  EdDSA: () => generateKeyPairSync('ed25519'),
};

/** A fresh key pair for `alg`; its kid is its RFC 7638 thumbprint unless given. `withAlg: false` publishes no `alg`. */
export async function idpKey(alg: keyof typeof KEY_SPECS, options: { kid?: string; withAlg?: boolean } = {}): Promise<IdpKey> {
  const { privateKey, publicKey } = KEY_SPECS[alg]();
  const pub = publicKey.export({ format: 'jwk' }) as JWK;
  const kid = options.kid ?? (await thumbprint(pub));
  return { kid, alg, privateKey, jwk: { ...pub, kid, use: 'sig', ...(options.withAlg === false ? {} : { alg }) } };
}

/** Signs a token with an IdP key (header alg and kid from the key unless overridden). */
export function signWith(key: IdpKey, claims: JWTPayload, header: { alg?: string; kid?: string | null } = {}): Promise<string> {
  const kid = header.kid === null ? undefined : (header.kid ?? key.kid);
  return new SignJWT(claims).setProtectedHeader({ alg: header.alg ?? key.alg, typ: 'JWT', ...(kid === undefined ? {} : { kid }) }).sign(key.privateKey);
}

/**
 * An OpenID provider on 127.0.0.1: `/.well-known/openid-configuration` (issuer = its URL unless set) pointing
 * to `/jwks` (and `/moved`, a redirect to it). Its keys can be swapped (rotation), its answers made to fail (status), slow (delayMs) or never
 * come (hang), and it counts every request per path.
 */
export class LocalIdp extends LocalHttpServer {
  /** The published JWK Set (replace to rotate). */
  public keys: JWK[] = [];
  /** When set, JWKS and discovery answer this status. */
  public status?: number;
  /** When set, answers wait this long. */
  public delayMs?: number;
  /** When true, requests are read and never answered. */
  public hang = false;
  /** Cache-Control header of the JWKS response. */
  public cacheControl?: string;
  /** Overrides the discovery document (e.g. another issuer). */
  public discovery?: Record<string, unknown>;
  /** Raw text served as the JWKS instead of `keys`. */
  public rawJwks?: string;
  /** Requests received, by path. */
  public readonly requests = new Map<string, number>();

  count(path: string): number {
    return this.requests.get(path) ?? 0;
  }

  get issuer(): string {
    return this.url;
  }

  reset(): void {
    this.keys = [];
    this.status = this.delayMs = this.cacheControl = this.discovery = this.rawJwks = undefined;
    this.hang = false;
    this.requests.clear();
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', this.url).pathname;
    this.requests.set(path, this.count(path) + 1);
    if (this.hang) return;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.status !== undefined) {
      res.writeHead(this.status, { 'content-type': 'application/json' }).end('{"error":"unavailable"}');
      return;
    }
    if (path === '/.well-known/openid-configuration') {
      const doc = this.discovery ?? { issuer: this.issuer, jwks_uri: `${this.url}/jwks`, id_token_signing_alg_values_supported: ['RS256'] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
      return;
    }
    if (path === '/jwks') {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (this.cacheControl) headers['cache-control'] = this.cacheControl;
      res.writeHead(200, headers).end(this.rawJwks ?? JSON.stringify({ keys: this.keys }));
      return;
    }
    if (path === '/moved') {
      res.writeHead(302, { location: `${this.url}/jwks` }).end();
      return;
    }
    res.writeHead(404).end();
  }
}
