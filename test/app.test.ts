import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');

/** Runs bin/app.ts as `cdk synth` does (context in CDK_CONTEXT_JSON), without synthesizing assets. */
function runApp(context: Record<string, unknown>, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: path.join(ROOT, 'cdk.out', 'test-app') },
    encoding: 'utf8',
  });
}

describe('bin/app.ts', () => {
  it('fails synth with the setting, the problem and the fix, and no stack trace', () => {
    const run = runApp({ authorizer: 'native', jwtAlgorithm: 'HS256' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Configuration error: -c jwtAlgorithm is "HS256" but authorizer is "native"');
    expect(run.stderr).toContain('Set jwtAlgorithm (-c jwtAlgorithm=…, or PLUGIN_JWT_ALGORITHM / JWT_ALGORITHM in the environment) to RS256, or use -c authorizer=lambda');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a minter role of another account than the one it deploys to, without a stack trace', () => {
    const run = runApp({ minterRoleArns: 'arn:aws:iam::111111111111:role/portal' }, { CDK_DEFAULT_ACCOUNT: '222222222222' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^Configuration error: -c minterRoleArns names roles of account 111111111111, but the stack deploys to 222222222222/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
