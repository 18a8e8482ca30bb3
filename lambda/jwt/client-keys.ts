import { createPublicKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { thumbprint } from './jwk-set';
import { idProblem } from '../shared/ids';

/**
 * The public keys client applications register to sign their own tokens (`POST /applications/{clientId}/keys`),
 * as Axway Amplify's client-signed JWTs: RS256 (RSA ≥ 2048 bits) or ES256 (EC P-256). Registration is the
 * one place a key is read from a person's input, so every refusal says what to send instead and never
 * repeats what was sent.
 */

export const CLIENT_ALGORITHMS = ['RS256', 'ES256'] as const;
export type ClientAlgorithm = (typeof CLIENT_ALGORITHMS)[number];

export type ClientPublicJwk =
  | { kty: 'RSA'; n: string; e: string; kid: string; alg: 'RS256'; use: 'sig' }
  | { kty: 'EC'; crv: 'P-256'; x: string; y: string; kid: string; alg: 'ES256'; use: 'sig' };

/** A key that cannot be registered; the message is safe to return to the caller (400). */
export class ClientKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientKeyError';
  }
}

const MIN_RSA_BITS = 2048;
/** Larger keys verify slowly (~ms each) on the request path; 4096 is the most any client needs. */
const MAX_RSA_BITS = 8192;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const HOW = 'Send {"jwk": <public JWK>} or {"pem": "-----BEGIN PUBLIC KEY-----..."}, e.g. jwks.json or public.pem from `npm run jwt -- keys generate`.';
const PRIVATE_KEY =
  'This is a private key: register the public key only (public.pem or jwks.json from `npm run jwt -- keys generate`). ' +
  'It was not stored; since it left your machine, treat it as exposed and generate a new key pair.';

/** Builds the KeyObject of a JWK's public members; throws ClientKeyError for anything but RSA ≥ 2048 or EC P-256. */
function publicKeyOf(jwk: Record<string, unknown>): { key: KeyObject; alg: ClientAlgorithm } {
  let alg: ClientAlgorithm;
  if (jwk.kty === 'RSA') alg = 'RS256';
  else if (jwk.kty === 'EC' && jwk.crv === 'P-256') alg = 'ES256';
  else if (jwk.kty === 'EC') throw new ClientKeyError('Unsupported curve: register an EC P-256 key (ES256) or an RSA key of at least 2048 bits (RS256).');
  else throw new ClientKeyError('Unsupported key type: register an RSA key of at least 2048 bits (RS256) or an EC P-256 key (ES256).');
  let key: KeyObject;
  try {
    const members = alg === 'RS256' ? { kty: 'RSA', n: jwk.n, e: jwk.e } : { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
    key = createPublicKey({ key: members as never, format: 'jwk' });
  } catch {
    throw new ClientKeyError(`The ${alg === 'RS256' ? 'RSA' : 'EC P-256'} public key is not valid (check its ${alg === 'RS256' ? '"n" and "e"' : '"x" and "y"'} members).`);
  }
  checkStrength(key);
  return { key, alg };
}

function checkStrength(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'rsa') return;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) throw new ClientKeyError(`The RSA key has ${bits} bits; register one of ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits.`);
  const e = key.asymmetricKeyDetails?.publicExponent ?? 0n;
  // An exponent of 1 makes every message its own signature; even ones are not RSA.
  if (e < 3n || e % 2n === 0n) throw new ClientKeyError('The RSA key has an unusable public exponent; generate a standard key (e = 65537).');
}

function fromJwk(input: unknown): { key: KeyObject; alg: ClientAlgorithm; kid?: string } {
  let jwk = input;
  // jwks.json as `keys generate` writes it: a set of one key.
  const keys = (jwk as { keys?: unknown } | null)?.keys;
  if (typeof jwk === 'object' && jwk !== null && Array.isArray(keys)) {
    if (keys.length !== 1) throw new ClientKeyError(`Register one key at a time: the JWK Set holds ${keys.length}.`);
    jwk = keys[0];
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new ClientKeyError(`"jwk" must be a JSON object. ${HOW}`);
  const members = jwk as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((m) => Object.hasOwn(members, m))) throw new ClientKeyError(PRIVATE_KEY);
  if (members.use !== undefined && members.use !== 'sig') throw new ClientKeyError('The key\'s "use" must be "sig" (or absent): it verifies signatures.');
  if (members.key_ops !== undefined && !(Array.isArray(members.key_ops) && members.key_ops.includes('verify'))) {
    throw new ClientKeyError('The key\'s "key_ops" must include "verify" (or be absent).');
  }
  const { key, alg } = publicKeyOf(members);
  if (members.alg !== undefined && members.alg !== alg) throw new ClientKeyError(`The key's "alg" does not fit it: a${alg === 'RS256' ? 'n RSA' : 'n EC P-256'} key signs ${alg} here.`);
  if (members.kid === undefined) return { key, alg };
  const problem = idProblem(members.kid);
  if (problem) throw new ClientKeyError(`The key's "kid" ${problem}; or leave it out and its RFC 7638 thumbprint is used.`);
  return { key, alg, kid: members.kid as string };
}

function fromPem(pem: unknown): { key: KeyObject; alg: ClientAlgorithm } {
  if (typeof pem !== 'string') throw new ClientKeyError(`"pem" must be a string. ${HOW}`);
  // Checked before parsing: createPublicKey would happily derive the public half of a private key.
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PuTTY-User-Key-File/.test(pem)) throw new ClientKeyError(PRIVATE_KEY);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new ClientKeyError(`"pem" is not a readable PEM public key. ${HOW}`);
  }
  return publicKeyOf(key.export({ format: 'jwk' }) as Record<string, unknown>);
}

/**
 * Validates a key a client application registers, as a JWK (or a JWK Set of one) or an SPKI/PKCS#1 PEM, and
 * returns its canonical public JWK: only the public members, `alg`, `use: "sig"` and `kid` (the one given,
 * else its RFC 7638 SHA-256 thumbprint, the kid `npm run jwt -- keys generate` writes and signs with).
 */
export async function publicJwkFromRegistration(input: { jwk?: unknown; pem?: string }): Promise<ClientPublicJwk> {
  if (typeof input !== 'object' || input === null) throw new ClientKeyError(HOW);
  const hasJwk = input.jwk !== undefined;
  const hasPem = input.pem !== undefined;
  if (hasJwk === hasPem) throw new ClientKeyError(`Send exactly one of "jwk" and "pem". ${HOW}`);
  const { key, alg, kid } = hasJwk ? fromJwk(input.jwk) : { ...fromPem(input.pem), kid: undefined };
  const pub = key.export({ format: 'jwk' }) as JWK;
  const canonical = alg === 'RS256' ? { kty: 'RSA' as const, n: pub.n!, e: pub.e! } : { kty: 'EC' as const, crv: 'P-256' as const, x: pub.x!, y: pub.y! };
  return { ...canonical, kid: kid ?? (await thumbprint(canonical)), alg, use: 'sig' } as ClientPublicJwk;
}

/** The KeyObject of a registered key and the one algorithm it signs, checked again (the registry is data, not code): throws ClientKeyError. */
export function clientVerifyKey(jwk: ClientPublicJwk): { key: KeyObject; alg: ClientAlgorithm } {
  const built = publicKeyOf(jwk as unknown as Record<string, unknown>);
  if (jwk.alg !== undefined && jwk.alg !== built.alg) throw new ClientKeyError(`The registered key does not sign ${String(jwk.alg).slice(0, 16)}.`);
  return built;
}
