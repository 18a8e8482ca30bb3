import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');

/** Runs bin/app.ts as `cdk synth` does (context in CDK_CONTEXT_JSON), without synthesizing assets. */
function runApp(context: Record<string, unknown>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
    cwd: ROOT,
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: path.join(ROOT, 'cdk.out', 'test-app') },
    encoding: 'utf8',
  });
}

describe('bin/app.ts', () => {
  it('fails synth with the setting, the problem and the fix, and no stack trace', () => {
    const run = runApp({ authorizer: 'native', jwtAlgorithm: 'HS256' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Configuration error: context "jwtAlgorithm" is "HS256" but authorizer is "native"');
    expect(run.stderr).toContain('Set jwtAlgorithm to RS256, or use -c authorizer=lambda');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
