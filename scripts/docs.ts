/**
 * Writes the README's configuration table from the settings declared in lib/settings.ts, between the
 * markers `<!-- settings:start -->` and `<!-- settings:end -->`. `--check` only compares (exit 1 if stale).
 *
 *   npm run docs [-- --check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { settingsTable } from '../lib/settings';

const README = path.join(__dirname, '..', 'README.md');
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
  const current = readFileSync(README, 'utf8');
  const next = withSettingsTable(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      process.stderr.write('README.md: the configuration table differs from lib/settings.ts; run npm run docs.\n');
      process.exitCode = 1;
    }
  } else if (next !== current) {
    writeFileSync(README, next);
    process.stdout.write('README.md: configuration table updated.\n');
  }
}
