/**
 * Bundles every Lambda entry into `<outdir>/<entry>/index.mjs` with the options synthesis uses
 * (lib/lambda-bundles.ts): what the npm package ships, so its users need no esbuild.
 *
 *   node --import tsx scripts/bundle.ts [outdir]      (default dist/bundles)
 */
import { readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { bundleAll } from '../lib/lambda-bundles';

const outdir = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'dist', 'bundles'));
rmSync(outdir, { recursive: true, force: true });
bundleAll(outdir);
process.stdout.write(`${readdirSync(outdir).length} bundles in ${path.relative(process.cwd(), outdir) || '.'}\n`);
