/**
 * Writes what is generated from the settings declared in lib/settings.ts: the README's configuration table
 * (between `<!-- settings:start -->` and `<!-- settings:end -->`) and the `JwtApiKeys` props interface
 * (lib/jwt-api-keys-settings.ts). `--check` only compares (exit 1 if either is stale).
 *
 *   npm run docs [-- --check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { propsInterfaceSource, settingsTable } from '../lib/settings';

const ROOT = path.join(__dirname, '..');
export const GENERATED_PROPS = path.join(ROOT, 'lib', 'jwt-api-keys-settings.ts');
const START = '<!-- settings:start -->';
const END = '<!-- settings:end -->';

/** The README text with the table between the markers replaced by the generated one. */
export function withSettingsTable(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} ... ${END} markers.`);
  return `${readme.slice(0, start + START.length)}\n${settingsTable()}\n${readme.slice(end)}`;
}

if (require.main === module) {
  const files = [
    { file: path.join(ROOT, 'README.md'), next: (text: string) => withSettingsTable(text), what: 'the configuration table' },
    { file: GENERATED_PROPS, next: () => propsInterfaceSource(), what: 'the JwtApiKeys props' },
  ];
  for (const { file, next, what } of files) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // written below
    }
    const wanted = next(current);
    if (wanted === current) continue;
    if (process.argv.includes('--check')) {
      process.stderr.write(`${path.relative(ROOT, file)}: ${what} differ from lib/settings.ts; run npm run docs.\n`);
      process.exitCode = 1;
    } else {
      writeFileSync(file, wanted);
      process.stdout.write(`${path.relative(ROOT, file)}: ${what} updated.\n`);
    }
  }
}
