/**
 * What a user id, company id, key id (`jti`) or `kid` may hold. These travel into the authorizer
 * context, the JSON access-log line (where API Gateway writes `$context` values without escaping, so a
 * `"` or `\` would break the line and the forwarder would drop the call), Moesif and its governance rules.
 *
 * Allowed: printable Unicode, well-formed UTF-16, at most 256 UTF-16 units, no surrounding white space.
 * Refused: `"`, `\`, every Unicode "Other" code point (\p{C}: controls such as NUL, newline and ESC,
 * invisible format characters such as bidi overrides, lone surrogates, private use, unassigned) and the
 * line and paragraph separators U+2028/U+2029, which end a line in JavaScript and in many log viewers.
 */
export const MAX_ID_LENGTH = 256;

const UNSAFE = /["\\\p{C}\u2028\u2029]/u;

/** Why a value is not a safe id, or undefined when it is one. */
export function idProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value === '') return 'must not be empty';
  if (value.length > MAX_ID_LENGTH) return `must have at most ${MAX_ID_LENGTH} characters`;
  if (!value.isWellFormed()) return 'must be well-formed Unicode (no lone surrogates)';
  if (UNSAFE.test(value)) return 'must hold printable characters only: no quotes ("), backslashes, control or invisible format characters';
  if (value.trim() !== value) return 'must have no surrounding white space';
  return undefined;
}

export function isSafeId(value: unknown): value is string {
  return idProblem(value) === undefined;
}
