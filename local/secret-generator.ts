import { randomInt } from 'node:crypto';

/** `GenerateSecretString` of AWS::SecretsManager::Secret, also the options of GetRandomPassword. */
export interface GenerateOptions {
  PasswordLength?: number;
  ExcludeCharacters?: string;
  ExcludeLowercase?: boolean;
  ExcludeNumbers?: boolean;
  ExcludePunctuation?: boolean;
  ExcludeUppercase?: boolean;
  IncludeSpace?: boolean;
  RequireEachIncludedType?: boolean;
  SecretStringTemplate?: string;
  GenerateStringKey?: string;
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();
const DIGITS = '0123456789';
// The punctuation Secrets Manager draws from.
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** A random password as Secrets Manager makes one (32 characters, every included type at least once). */
export function randomPassword(options: GenerateOptions = {}): string {
  const exclude = new Set(options.ExcludeCharacters ?? '');
  const classes = [
    options.ExcludeLowercase ? '' : LOWER,
    options.ExcludeUppercase ? '' : UPPER,
    options.ExcludeNumbers ? '' : DIGITS,
    options.ExcludePunctuation ? '' : PUNCTUATION,
    options.IncludeSpace ? ' ' : '',
  ]
    .map((chars) => [...chars].filter((c) => !exclude.has(c)).join(''))
    .filter(Boolean);
  const length = options.PasswordLength ?? 32;
  if (classes.length === 0) throw new Error('GenerateSecretString excludes every character.');
  const all = classes.join('');
  const chars = Array.from({ length }, () => all[randomInt(all.length)]);
  if (options.RequireEachIncludedType !== false && length >= classes.length) {
    // One of each type at distinct random places.
    const places = [...Array(length).keys()];
    for (const chars_ of classes) {
      const at = places.splice(randomInt(places.length), 1)[0];
      chars[at] = chars_[randomInt(chars_.length)];
    }
  }
  return chars.join('');
}

/** The SecretString a `GenerateSecretString` block produces: the template with the generated key added, or the password. */
export function generateSecretString(options: GenerateOptions): string {
  const password = randomPassword(options);
  if (options.SecretStringTemplate === undefined) return password;
  const template = JSON.parse(options.SecretStringTemplate) as Record<string, unknown>;
  if (!options.GenerateStringKey) throw new Error('GenerateSecretString has a SecretStringTemplate but no GenerateStringKey.');
  return JSON.stringify({ ...template, [options.GenerateStringKey]: password });
}
