import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Synthesizes the project's CDK app into `outDir` with the CDK CLI, as `cdk synth` would with the
 * same context flags (`-c authorizer=native ...`). Resolves when the assembly is written.
 */
export async function synthesize(projectRoot: string, outDir: string, cdkArgs: string[]): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  const cdk = path.join(projectRoot, 'node_modules', '.bin', 'cdk');
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(cdk, ['synth', '--quiet', '--no-notices', '-o', outDir, ...cdkArgs], {
      cwd: projectRoot,
      // No instance metadata lookups for an account: there is no AWS here.
      env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) {
    const tail = output.join('').trim().split('\n').slice(-25).join('\n');
    throw new Error(`cdk synth failed (exit ${code}):\n${tail}`);
  }
}
