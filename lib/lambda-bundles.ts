import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** Folder of the Lambda entry files (in a checkout of this repository; the package has compiled cores there, no entries). */
export const LAMBDA_DIR = path.join(__dirname, '..', 'lambda');
/**
 * Pre-built bundles, one folder per entry holding `index.mjs`: in the npm package, `dist/bundles` beside
 * `dist/lib` (written at pack time by `npm run build:package`), so an app that installs it needs neither
 * esbuild nor Docker to synthesize.
 */
export const PREBUILT_DIR = path.join(__dirname, '..', 'bundles');

/**
 * The esbuild options every function is bundled with: an ESM bundle for Node.js 22, minified, the AWS SDK
 * left to the Lambda runtime. Bundled CommonJS code may still call require() for Node built-ins, hence the
 * createRequire banner.
 */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  sourcemap: false,
  mainFields: ['module', 'main'],
  external: ['@aws-sdk/*'],
  banner: { js: "import{createRequire as __cr}from'module';const require=__cr(import.meta.url);" },
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
} as const;

/** The function entries: every `lambda/*.ts` file (the cores live in sub-folders). */
export function lambdaEntries(dir = LAMBDA_DIR): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => f.replace(/\.ts$/, ''));
}

/** Bundles every entry with one esbuild call into `outdir/<entry>/index.mjs`. */
export function bundleAll(outdir: string, dir = LAMBDA_DIR): void {
  // Loaded here: a consumer of the pre-built package has no esbuild.
  const esbuild = require('esbuild') as typeof import('esbuild');
  esbuild.buildSync({
    ...BUNDLE_OPTIONS,
    mainFields: [...BUNDLE_OPTIONS.mainFields],
    external: [...BUNDLE_OPTIONS.external],
    entryPoints: Object.fromEntries(lambdaEntries(dir).map((e) => [`${e}/index`, path.join(dir, `${e}.ts`)])),
    outdir,
  });
}

let built: string | undefined;

/**
 * The folder holding `<entry>/index.mjs` for every function. In a checkout (the sources are there) the
 * functions are bundled once per process, with one esbuild call: synthesizing a stack costs one bundling
 * instead of one esbuild process per function. A package without the sources uses its pre-built bundles.
 */
export function bundlesDir(): string {
  if (!existsSync(path.join(LAMBDA_DIR, 'authorizer.ts'))) {
    if (!existsSync(PREBUILT_DIR)) throw new Error(`The pre-built Lambda bundles are missing (${PREBUILT_DIR}); reinstall the package.`);
    return PREBUILT_DIR;
  }
  if (!built) {
    built = mkdtempSync(path.join(tmpdir(), 'jwt-api-lambda-'));
    bundleAll(built);
  }
  return built;
}
