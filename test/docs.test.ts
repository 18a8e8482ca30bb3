/**
 * The README is true where it can be checked offline: its configuration table is the settings table, the
 * `cdk synth` commands it shows synthesize without a warning, the configuration errors it quotes are the ones
 * the app prints, and every `--help` it mentions answers.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { ConfigError, configFromProps } from '../lib/config';
import { propsInterfaceSource } from '../lib/settings';
import { GENERATED_PROPS, withSettingsTable } from '../scripts/docs';
import { synth } from './support/synth';

const ROOT = path.join(__dirname, '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const run = promisify(execFile);

/** `-c key=value` flags of a command line, as context (values without quotes end at white space, as in a shell). */
function contextOf(command: string): Record<string, string> {
  const context: Record<string, string> = {};
  for (const m of command.matchAll(/-c\s+([A-Za-z0-9]+)=("[^"]*"|'[^']*'|\S+)/g)) context[m[1]] = m[2].replace(/^["']|["']$/g, '');
  return context;
}

/** Runs bin/app.ts as `cdk synth` does (context in CDK_CONTEXT_JSON). */
async function app(context: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const outdir = path.join(ROOT, 'cdk.out', `docs-${Object.values(context).join('-').replace(/[^A-Za-z0-9-]/g, '')}`);
  try {
    const { stderr } = await run(process.execPath, ['--import', 'tsx', 'bin/app.ts'], { cwd: ROOT, env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir } });
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe('README', () => {
  it('lists exactly the declared settings in its configuration table', () => {
    expect(withSettingsTable(README)).toBe(README);
  });

  it('shows synth commands that synthesize with no warning', () => {
    // The commands themselves (cdk synth, with cdk-nag and the Control Tower rules) run in .ci/run.
    const commands = [...README.matchAll(/^npx cdk synth( -c \S+)+$/gm)].map((m) => m[0]);
    expect(commands.length).toBeGreaterThanOrEqual(2);
    for (const command of commands) {
      const s = synth(contextOf(command));
      const warnings = Annotations.fromStack(s.stack).findWarning('*', Match.anyValue()).map((w) => w.entry.data);
      expect({ command, warnings }).toEqual({ command, warnings: [] });
    }
  });

  it('quotes configuration errors exactly as the app prints them', async () => {
    const quoted = [...README.matchAll(/^\$ (npx cdk synth .*)\n(Configuration error: .*)$/gm)];
    expect(quoted.length).toBeGreaterThanOrEqual(2);
    for (const [, command, printed] of quoted) {
      const result = await app(contextOf(command));
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(printed);
    }
  }, 60_000);

  it('quotes JwtApiKeys prop errors exactly as the construct throws them', () => {
    const quoted = [...README.matchAll(/^new JwtApiKeys\(this, 'Keys', \{ httpApi: api, (.*) \}\)\n→ ConfigError: (.*)$/gm)];
    expect(quoted.length).toBeGreaterThanOrEqual(2);
    for (const [, props, printed] of quoted) {
      const settings = new Function(`return { ${props} };`)() as Record<string, unknown>;
      expect(() => configFromProps(settings)).toThrow(new ConfigError(printed));
    }
  });

  it('shows the props interface generated from the settings', () => {
    expect(readFileSync(GENERATED_PROPS, 'utf8')).toBe(propsInterfaceSource());
  });

  it('mentions only --help commands that answer, exit 0, with usage text', async () => {
    const scripts: Record<string, string> = { 'secret:import': 'scripts/secret-import.ts', 'dlq:redrive': 'scripts/redrive-dlq.ts', jwt: 'scripts/jwt.ts', start: 'scripts/start.ts', cost: 'scripts/cost.ts' };
    const mentioned = [...README.matchAll(/npm (?:run -s |run )?([a-z:]+) -- (?:<command> )?--help/g)].map((m) => m[1]);
    expect(new Set(mentioned)).toEqual(new Set(['secret:import', 'dlq:redrive', 'jwt', 'start', 'cost']));
    for (const name of new Set(mentioned)) {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', scripts[name], '--help'], { cwd: ROOT });
      expect(stdout).toMatch(/^Usage: /);
    }
  }, 60_000);

  it('names only npm scripts that exist', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const used = new Set([...README.matchAll(/npm run (?:-s )?([a-z][a-z:]*)/g)].map((m) => m[1]));
    for (const name of used) expect({ name, exists: name in pkg.scripts }).toEqual({ name, exists: true });
  });
});
