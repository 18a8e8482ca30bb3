import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { thumbprint } from '../../lambda/jwt/jwk-set';
import { CliError } from './errors';

/** The algorithms this tool signs and verifies with, and the key each one needs. */
export const KEY_FOR_ALG = {
  RS256: 'RSA', RS384: 'RSA', RS512: 'RSA',
  PS256: 'RSA', PS384: 'RSA', PS512: 'RSA',
  ES256: 'EC P-256', ES384: 'EC P-384', ES512: 'EC P-521',
  EdDSA: 'Ed25519',
} as const;
export type SigningAlg = keyof typeof KEY_FOR_ALG;
export const SIGNING_ALGS = Object.keys(KEY_FOR_ALG) as SigningAlg[];
export const isSigningAlg = (value: string): value is SigningAlg => Object.hasOwn(KEY_FOR_ALG, value);

/** What `keys generate` makes: the three pairs client applications register most. */
export const GENERATE_ALGS = ['RS256', 'ES256', 'EdDSA'] as const;
export type GenerateAlg = (typeof GENERATE_ALGS)[number];

/** The algorithm a key signs with when --alg is not given. */
const DEFAULT_ALG: Record<string, SigningAlg> = { RSA: 'RS256', 'EC P-256': 'ES256', 'EC P-384': 'ES384', 'EC P-521': 'ES512', Ed25519: 'EdDSA' };
const CURVE_NAMES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const TYPE_NAMES: Record<string, string> = { rsa: 'RSA', 'rsa-pss': 'RSA-PSS', ed25519: 'Ed25519', ed448: 'Ed448', x25519: 'X25519', x448: 'X448', dsa: 'DSA', dh: 'DH' };
/** RS256 and friends with less than 2048 bits are refused by jose (and by RFC 7518 §3.3). */
const MIN_RSA_BITS = 2048;

/** The key's type in the words messages use: "RSA", "EC P-256", "Ed25519", ... */
export function keyKind(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? 'unknown';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown curve';
    return `EC ${CURVE_NAMES[curve] ?? curve}`;
  }
  return TYPE_NAMES[type] ?? type;
}

const a = (kind: string) => `${/^[AEIORUX]/i.test(kind) ? 'an' : 'a'} ${kind}`;

/** The algorithm to sign with: `requested` if the key fits it, else the one the key's type implies. */
export function signingAlg(key: KeyObject, requested?: SigningAlg): SigningAlg {
  const kind = keyKind(key);
  if (requested && KEY_FOR_ALG[requested] !== kind) {
    throw new CliError(`--alg ${requested} needs ${a(KEY_FOR_ALG[requested])} key, but --key holds ${a(kind)} key.`);
  }
  const alg = requested ?? DEFAULT_ALG[kind];
  if (!alg) throw new CliError(`--key holds ${a(kind)} key; use an RSA, EC P-256/P-384/P-521 or Ed25519 key.`);
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (kind === 'RSA' && bits !== undefined && bits < MIN_RSA_BITS) {
    throw new CliError(`--key holds a ${bits}-bit RSA key; ${alg} needs at least ${MIN_RSA_BITS} bits.`);
  }
  return alg;
}

/** Parses a private key PEM (PKCS#8, PKCS#1 or SEC1). `path` only names the file in messages. */
export function privateKeyFromPem(pem: string, path: string): KeyObject {
  // Checked before parsing: OpenSSL reports a missing passphrase only as "interrupted or cancelled".
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    throw new CliError(`--key ${path} is encrypted; decrypt it into a file only you can read: (umask 077; openssl pkey -in ${path} -out private.pem)`);
  }
  try {
    return createPrivateKey(pem);
  } catch {
    // a public key, or not a key: told apart below
  }
  let isPublic = false;
  try {
    isPublic = createPublicKey(pem).type === 'public';
  } catch {
    // neither private nor public: reported below
  }
  if (isPublic) throw new CliError(`--key must be a private key: ${path} holds a public key.`);
  throw new CliError(`--key ${path} is not a PEM private key.`);
}

/** The RFC 7638 (SHA-256) thumbprint of the key's public part: the kid `keys generate` writes. */
export async function keyId(key: KeyObject): Promise<string> {
  return thumbprint(createPublicKey(key).export({ format: 'jwk' }) as JWK);
}

export interface KeyPairFiles {
  kid: string;
  /** PKCS#8 PEM. */
  privatePem: string;
  /** SPKI PEM. */
  publicPem: string;
  /** The public JWK Set to publish or register: one key with kid, alg and use. */
  jwks: { keys: JWK[] };
}

export async function generateKeyPair(alg: GenerateAlg): Promise<KeyPairFiles> {
  const { privateKey, publicKey } =
    alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: MIN_RSA_BITS })
    : alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await thumbprint(jwk);
  return {
    kid,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    jwks: { keys: [{ ...jwk, kid, alg, use: 'sig' }] },
  };
}
