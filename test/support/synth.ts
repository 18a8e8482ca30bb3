import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig, type AppConfig } from '../../lib/config';
import { JwtApiStack } from '../../lib/jwt-api-stack';

/** The feature flags and defaults of cdk.json, so tests synthesize what `cdk synth` does. */
export const CDK_CONTEXT: Record<string, unknown> = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context;

export interface Synthesized {
  app: App;
  stack: JwtApiStack;
  config: AppConfig;
  template: Template;
}

export interface SynthOptions {
  /**
   * Run what `cdk synth` runs on every template: cdk-nag, the Control Tower rules (cfn-guard) and AWS's
   * CloudFormation validator. They cost seconds per synth, so only the compliance tests ask for them.
   * @default false
   */
  validate?: boolean;
  /**
   * The stack's account and region, as `cdk synth` takes them from CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION.
   * @default none: an environment-agnostic stack
   */
  stackEnv?: { account: string; region: string };
}

/** Builds the stack the way bin/app.ts does (config from context + env) and synthesizes it. */
export function synth(context: Record<string, unknown> = {}, env: Record<string, string | undefined> = {}, options: SynthOptions = {}): Synthesized {
  const merged = { ...CDK_CONTEXT, ...context };
  const app = new App({ context: merged, builtinCloudFormationValidation: options.validate === true });
  const config = loadConfig({ context: (k) => merged[k], contextKeys: Object.keys(merged), env, account: options.stackEnv?.account });
  const stack = new JwtApiStack(app, 'JwtApi', { config, env: options.stackEnv });
  if (options.validate) Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new CfnGuardValidator());
  return { app, stack, config, template: Template.fromStack(stack) };
}

/** Replaces asset hashes so a snapshot moves only when infrastructure moves. */
export function normalizeTemplate(template: unknown): unknown {
  return JSON.parse(JSON.stringify(template), (_key, value) =>
    typeof value === 'string' ? value.replace(/[0-9a-f]{64}(\.zip)?/g, 'ASSET_HASH$1') : value,
  );
}

/** cdk-nag, the Control Tower rules, and AWS's own CloudFormation validator (aws-cdk-lib's built-in plugin). */
const PLUGINS = ['AwsSolutions', 'cdk-validator-cfnguard', 'CloudFormation Validate'];

export interface ComplianceFindings {
  /** Unacknowledged findings per plugin: "<rule> <construct path>". */
  open: Record<string, string[]>;
  /** Acknowledged findings per plugin (each carries its reason in the report). */
  acknowledged: Record<string, number>;
  /** The rules those acknowledged findings are of, per plugin, sorted. */
  acknowledgedRules: Record<string, string[]>;
}

/**
 * cdk-nag (AwsSolutions) and AWS Control Tower's proactive controls (cdk-validator-cfnguard), read from
 * the validation report synthesis writes. An outside App's synth only prints violations and sets
 * process.exitCode (it throws for in-memory apps alone), so "synth did not throw" proves nothing.
 */
export function compliance(s: { app: App }): ComplianceFindings {
  if (!s.app._builtinCloudFormationValidation) throw new Error('compliance() needs a stack synthesized with { validate: true }.');
  let directory: string;
  try {
    directory = s.app.synth().directory;
  } catch (err) {
    // An in-memory app throws when a plugin reports a violation; the report is written first.
    if (!existsSync(path.join(s.app.outdir, 'validation-report.json'))) throw err;
    directory = s.app.outdir;
  }
  const report = JSON.parse(readFileSync(path.join(directory, 'validation-report.json'), 'utf8')) as {
    pluginReports: Array<{ pluginName: string; violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }>; suppressedViolations?: Array<{ ruleName: string }> }>;
  };
  // A plugin with nothing to say (the CloudFormation validator when the template is valid) has no report.
  const out: ComplianceFindings = { open: Object.fromEntries(PLUGINS.map((p) => [p, []])), acknowledged: {}, acknowledgedRules: {} };
  for (const plugin of report.pluginReports.filter((p) => PLUGINS.includes(p.pluginName))) {
    out.open[plugin.pluginName] = plugin.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`));
    out.acknowledged[plugin.pluginName] = plugin.suppressedViolations?.length ?? 0;
    out.acknowledgedRules[plugin.pluginName] = [...new Set((plugin.suppressedViolations ?? []).map((v) => v.ruleName))].sort();
  }
  return out;
}
