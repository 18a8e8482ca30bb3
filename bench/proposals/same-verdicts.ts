/**
 * Before a proposal is timed, it must give the verdicts of the code it would replace: bounded random
 * checks (fast-check) of bench/proposals/compact.ts against lambda/jwt/compact.ts on valid tokens and on
 * segments built to hit each rule (padding, dirty last bits, lengths 1 mod 4, invalid UTF-8, a BOM,
 * JSON that is not an object).
 */
import fc from 'fast-check';
import * as current from '../../lambda/jwt/compact';
import * as proposed from './compact';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.';

const segment = fc.oneof(
  fc.string({ unit: fc.constantFrom(...CHARS.split('')), maxLength: 12 }),
  fc.uint8Array({ maxLength: 40 }).map(b64),
  fc.constantFrom('{}', '{"a":1}', '[]', '"x"', '\uFEFF{"a":1}', '{"a":"\u00e9"}').map((t) => b64(Buffer.from(t, 'utf8'))),
  fc.constantFrom([0xef, 0xbb, 0xbf, 0x7b, 0x7d], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).map((b) => b64(Uint8Array.from(b))),
  // A canonical segment with its last character changed: dirty unused bits, or another value.
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 20 }), fc.constantFrom(...CHARS.slice(0, 64).split(''))).map(([b, c]) => b64(b).slice(0, -1) + c),
);

export function checkSameVerdicts(validTokens: string[], runs = 20_000): void {
  const same = (token: string) => JSON.stringify(proposed.parseCompact(token)) === JSON.stringify(current.parseCompact(token));
  for (const t of validTokens) if (!same(t)) throw new Error('bench/proposals/compact.ts disagrees with lambda/jwt/compact.ts on a valid token.');
  fc.assert(
    fc.property(fc.tuple(segment, segment, segment), fc.boolean(), ([h, p, s], keepValid) => {
      const token = keepValid ? `${h}.${validTokens[0].split('.')[1]}.${s}` : `${h}.${p}.${s}`;
      return same(token);
    }),
    { numRuns: runs },
  );
  fc.assert(fc.property(segment, (s) => JSON.stringify(proposed.decodeBase64url(s)) === JSON.stringify(current.decodeBase64url(s))), { numRuns: runs });
}
