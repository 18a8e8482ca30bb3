import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';

export const ROOT = path.join(__dirname, '..', '..');
export const LAMBDA_DIR = path.join(ROOT, 'lambda');
/** Inside the project, so a bundle's external `@aws-sdk/*` imports resolve from node_modules as the runtime's would. */
export const OUT_DIR = path.join(ROOT, 'bench', '.out');

const BANNER = "import{createRequire as __cr}from'module';const require=__cr(import.meta.url);";

/**
 * What `ProjectFunction` (lib/constructs/project-function.ts) has NodejsFunction pass to esbuild: ESM,
 * node22, minified, no source map, `module` before `main`, the AWS SDK left to the runtime, the
 * createRequire banner. `checkProjectFunctionOptions` fails the bench when that file says otherwise.
 */
export const PROJECT_FUNCTION_BUILD: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  sourcemap: false,
  mainFields: ['module', 'main'],
  external: ['@aws-sdk/*'],
  banner: { js: BANNER },
  logLevel: 'warning',
};

/** Throws when lib/constructs/project-function.ts no longer bundles the way PROJECT_FUNCTION_BUILD does. */
export function checkProjectFunctionOptions(): void {
  const source = readFileSync(path.join(ROOT, 'lib', 'constructs', 'project-function.ts'), 'utf8');
  const expected = ['format: OutputFormat.ESM', "target: 'node22'", 'minify: true', 'sourceMap: false', "mainFields: ['module', 'main']", "externalModules: ['@aws-sdk/*']", JSON.stringify(BANNER)];
  const missing = expected.filter((s) => !source.includes(s) && !source.includes(s.replace(/"/g, "'")));
  if (missing.length > 0) {
    throw new Error(`lib/constructs/project-function.ts no longer has ${missing.join(', ')}: update PROJECT_FUNCTION_BUILD in bench/support/bundle.ts to match.`);
  }
}

/** The Lambda entry files: one per function. */
export function lambdaEntries(): string[] {
  return readdirSync(LAMBDA_DIR).filter((f) => f.endsWith('.ts')).sort();
}

export interface Bundle {
  file: string;
  bytes: number;
  /** Bytes in the output per input path (relative to the project), largest first. */
  inputs: [string, number][];
  /** Modules the bundle still imports at run time (node: built-ins, the AWS SDK). */
  imports: string[];
}

/** Replaces whole modules at bundle time: `{ '<import path regex>': '<file>' }`. */
export function replaceModules(map: Record<string, string>): Plugin {
  return {
    name: 'replace-modules',
    setup(b) {
      for (const [pattern, file] of Object.entries(map)) b.onResolve({ filter: new RegExp(pattern) }, () => ({ path: file }));
    },
  };
}

/** Bundles `entry` (a path under lambda/) to `outName` in OUT_DIR with the project's options (plus plugins, and overrides for profiling). */
export async function bundle(entry: string, outName: string, plugins: Plugin[] = [], overrides: BuildOptions = {}): Promise<Bundle> {
  const file = path.join(OUT_DIR, outName);
  const result = await build({ ...PROJECT_FUNCTION_BUILD, ...overrides, entryPoints: [path.join(LAMBDA_DIR, entry)], outfile: file, metafile: true, plugins });
  const output = (result.metafile as Metafile).outputs[path.relative(process.cwd(), file)] ?? Object.values((result.metafile as Metafile).outputs)[0];
  const inputs = Object.entries(output.inputs)
    .map(([p, v]) => [p.replace(/^.*node_modules\//, 'node_modules/'), v.bytesInOutput] as [string, number])
    .sort((a, b) => b[1] - a[1]);
  return { file, bytes: output.bytes, inputs, imports: [...new Set(output.imports.map((i) => i.path))].sort() };
}
