import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { CfnResource, CfnTemplate } from './template';

/** A synthesized stack: its template and where the bundled code of its functions is. */
export interface StackAssembly {
  stackName: string;
  templateFile: string;
  template: CfnTemplate;
  /** The region and account the stack was synthesized for, when they are concrete. */
  region?: string;
  account?: string;
  /** The local folder of a Lambda function's code asset, if the assembly has it. */
  codeDir(resource: CfnResource): string | undefined;
}

interface AssetManifest {
  files?: Record<string, { source?: { path?: string; packaging?: string } }>;
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new Error(`${file} cannot be read as JSON (${(err as Error).message}).`);
  }
}

/** Finds code assets the way `cdk deploy` uploads them: S3Key `<hash>.zip` → the asset manifest's source folder. */
function assetLocator(dir: string): (resource: CfnResource) => string | undefined {
  const sources = new Map<string, string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.assets.json'))) {
    for (const [hash, asset] of Object.entries(readJson<AssetManifest>(path.join(dir, f)).files ?? {})) {
      if (asset.source?.path) sources.set(hash, path.resolve(dir, asset.source.path));
    }
  }
  return (resource) => {
    const code = resource.Properties?.Code as { S3Key?: unknown } | undefined;
    const key = typeof code?.S3Key === 'string' ? code.S3Key.replace(/\.zip$/, '') : undefined;
    const fromManifest = key ? sources.get(key) : undefined;
    const fromMetadata = typeof resource.Metadata?.['aws:asset:path'] === 'string' ? path.resolve(dir, resource.Metadata['aws:asset:path'] as string) : undefined;
    return [fromManifest, fromMetadata].find((p): p is string => p !== undefined && existsSync(p));
  };
}

/**
 * A template file on its own (its folder's asset manifests locate the code). The stack name (which
 * seeds the local physical names, so the state folder's keys match) is `stackName`, else the one CDK
 * recorded in the resources' paths, else the file name.
 */
export function readTemplateFile(file: string, stackName?: string): StackAssembly {
  const templateFile = path.resolve(file);
  const template = readJson<CfnTemplate>(templateFile);
  if (!template.Resources) throw new Error(`${file} is not a CloudFormation template (no Resources).`);
  const cdkPath = Object.values(template.Resources).map((r) => r.Metadata?.['aws:cdk:path']).find((p): p is string => typeof p === 'string');
  const name = stackName ?? cdkPath?.split('/')[0] ?? path.basename(templateFile).replace(/\.template\.json$/, '').replace(/\.json$/, '');
  return { stackName: name, templateFile, template, codeDir: assetLocator(path.dirname(templateFile)) };
}

/** The stack of a cloud assembly folder (`cdk.out`); `stackName` picks one when there are several. */
export function readAssembly(dir: string, stackName?: string): StackAssembly {
  const manifestFile = path.join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) throw new Error(`${dir} is not a cloud assembly (no manifest.json): run cdk synth -o ${dir}, or pass --template <file>.`);
  const manifest = readJson<{ artifacts?: Record<string, { type: string; environment?: string; displayName?: string; properties?: { templateFile?: string; stackName?: string } }> }>(manifestFile);
  const stacks = Object.entries(manifest.artifacts ?? {}).filter(([, a]) => a.type === 'aws:cloudformation:stack');
  const chosen = stackName ? stacks.filter(([id, a]) => id === stackName || a.properties?.stackName === stackName || a.displayName === stackName) : stacks;
  if (chosen.length !== 1) {
    const names = stacks.map(([id]) => id).join(', ') || 'none';
    throw new Error(stackName ? `The assembly in ${dir} has no stack ${stackName} (it has: ${names}).` : `The assembly in ${dir} has several stacks (${names}): pick one with --stack.`);
  }
  const [id, artifact] = chosen[0];
  const stack = readTemplateFile(path.join(dir, artifact.properties?.templateFile ?? `${id}.template.json`));
  const [, account, region] = /^aws:\/\/([^/]+)\/(.+)$/.exec(artifact.environment ?? '') ?? [];
  return {
    ...stack,
    stackName: artifact.properties?.stackName ?? id,
    region: region && !region.startsWith('unknown') ? region : undefined,
    account: account && /^\d{12}$/.test(account) ? account : undefined,
  };
}
