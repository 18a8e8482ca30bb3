import { createHash } from 'node:crypto';

/** A message attribute as the JSON protocol carries it (BinaryValue is base64). */
export interface MessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

function lengthPrefixed(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/**
 * MD5OfMessageAttributes as SQS computes it: attributes sorted by name, each as length-prefixed name,
 * data type, a transport byte (1 string, 2 binary) and length-prefixed value.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html#sqs-attributes-md5-message-digest-calculation
 */
export function md5OfAttributes(attributes: Record<string, MessageAttribute>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  for (const name of names) {
    const a = attributes[name];
    const binary = a.DataType.startsWith('Binary');
    parts.push(lengthPrefixed(Buffer.from(name, 'utf8')), lengthPrefixed(Buffer.from(a.DataType, 'utf8')), Buffer.from([binary ? 2 : 1]));
    parts.push(lengthPrefixed(binary ? Buffer.from(a.BinaryValue ?? '', 'base64') : Buffer.from(a.StringValue ?? '', 'utf8')));
  }
  return createHash('md5').update(Buffer.concat(parts)).digest('hex');
}
