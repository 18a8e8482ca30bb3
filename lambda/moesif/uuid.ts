import { createHash } from 'node:crypto';

/**
 * This project's namespace for name-based UUIDs (a random version-4 UUID, fixed once). Changing it changes every
 * transaction_id, so Moesif would count a redriven old batch twice: never change it.
 */
export const TRANSACTION_NAMESPACE = '63000958-a80b-4ff9-b677-6be54a027100';

const NAMESPACE_BYTES = uuidBytes(TRANSACTION_NAMESPACE);

function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`"${uuid}" is not a UUID.`);
  return Buffer.from(hex, 'hex');
}

/**
 * A name-based version-5 UUID (RFC 9562 §5.5): SHA-1 of namespace + name, version and variant bits set.
 *
 * node:crypto rather than the `uuid` package: `uuid` 12+ ships ESM only, which the jest setup would have to
 * transform as it does jose, for what is one hash and two bit masks; the algorithm is proven in the tests
 * against the RFC's own example.
 */
export function uuidV5(name: string, namespace: string = TRANSACTION_NAMESPACE): string {
  const ns = namespace === TRANSACTION_NAMESPACE ? NAMESPACE_BYTES : uuidBytes(namespace);
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest();
  bytes[6] = (bytes[6] & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // variant 10xx
  const hex = bytes.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
