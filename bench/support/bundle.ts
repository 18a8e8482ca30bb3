import * as path from 'node:path';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { BUNDLE_OPTIONS, LAMBDA_DIR, lambdaEntries as entryNames } from '../../lib/lambda-bundles';

export const ROOT = path.join(__dirname, '..', '..');
export { LAMBDA_DIR };
/** Inside the project, so a bundle's external `@aws-sdk/*` imports resolve from node_modules as the runtime's would. */
export const OUT_DIR = path.join(ROOT, 'bench', '.out');

/**
 * The options the stack bundles every function with (lib/lambda-bundles.ts, read from there so the bench
 * cannot drift from the deployed build), for one entry written to one file.
 */
const { outExtension: _perEntryFolder, ...ONE_FILE } = BUNDLE_OPTIONS;
export const PROJECT_BUILD: BuildOptions = { ...ONE_FILE, mainFields: [...BUNDLE_OPTIONS.mainFields], external: [...BUNDLE_OPTIONS.external] };

/** The Lambda entry files: one per function. */
export function lambdaEntries(): string[] {
  return entryNames().map((e) => `${e}.ts`).sort();
}

export interface Bundle {
  file: string;
  bytes: number;
  /** Bytes in the output per input path (relative to the project), largest first. */
  inputs: [string, number][];
  /** Modules the bundle still imports at run time (node: built-ins, the AWS SDK). */
  imports: string[];
}

/**
 * Replaces whole modules at bundle time: `{ '<regex>': '<file>' }`, the regex tested against a relative
 * import resolved to its path under lambda/ without extension (`registry/clients`), or a package name
 * (`@aws-sdk/client-secrets-manager`). The build fails when a pattern replaced nothing, so a variant
 * cannot silently measure the unchanged code after lambda/ moves on.
 */
export function replaceModules(map: Record<string, string>): Plugin {
  return {
    name: 'replace-modules',
    setup(b) {
      const patterns = Object.entries(map).map(([pattern, file]) => ({ pattern, re: new RegExp(pattern), file }));
      const used = new Set<string>();
      b.onResolve({ filter: /.*/ }, (args) => {
        const id = args.path.startsWith('.') ? path.relative(LAMBDA_DIR, path.resolve(args.resolveDir, args.path)).replace(/\.[cm]?[jt]s$/, '') : args.path;
        const hit = patterns.find((p) => p.re.test(id));
        if (!hit) return undefined;
        used.add(hit.pattern);
        return { path: hit.file };
      });
      b.onEnd(() => {
        const unused = patterns.filter((p) => !used.has(p.pattern)).map((p) => p.pattern);
        if (unused.length > 0) throw new Error(`bench shim pattern ${unused.join(', ')} replaced no import: update the variant in bench/run.ts to match lambda/.`);
      });
    },
  };
}

/**
 * Turns each `import ... from '@aws-sdk/*'` into a require() of the same package (through the banner's
 * createRequire): what a bundle would do to load the SDK without Node's ESM loader, which otherwise scans
 * the SDK's CommonJS files for their named exports and detects their format (bench/RESULTS.md, cold path).
 */
export function sdkViaRequire(): Plugin {
  return {
    name: 'sdk-via-require',
    setup(b) {
      b.onResolve({ filter: /^@aws-sdk\// }, (args) => (args.namespace === 'sdk-require' ? { path: args.path, external: true } : { path: args.path, namespace: 'sdk-require' }));
      b.onLoad({ filter: /.*/, namespace: 'sdk-require' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
    },
  };
}

/** Bundles `entry` (a path under lambda/) to `outName` in OUT_DIR with the project's options (plus plugins, and overrides for profiling). */
export async function bundle(entry: string, outName: string, plugins: Plugin[] = [], overrides: BuildOptions = {}): Promise<Bundle> {
  const file = path.join(OUT_DIR, outName);
  const result = await build({ ...PROJECT_BUILD, ...overrides, entryPoints: [path.join(LAMBDA_DIR, entry)], outfile: file, metafile: true, plugins });
  const output = (result.metafile as Metafile).outputs[path.relative(process.cwd(), file)] ?? Object.values((result.metafile as Metafile).outputs)[0];
  const inputs = Object.entries(output.inputs)
    .map(([p, v]) => [p.replace(/^.*node_modules\//, 'node_modules/'), v.bytesInOutput] as [string, number])
    .sort((a, b) => b[1] - a[1]);
  return { file, bytes: output.bytes, inputs, imports: [...new Set(output.imports.map((i) => i.path))].sort() };
}
