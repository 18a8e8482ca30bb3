import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
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

/** Builds the stack the way bin/app.ts does (config from context + env, cdk-nag on) and synthesizes it. */
export function synth(context: Record<string, unknown> = {}, env: Record<string, string | undefined> = {}): Synthesized {
  const merged = { ...CDK_CONTEXT, ...context };
  const app = new App({ context: merged });
  const config = loadConfig({ context: (k) => merged[k], env });
  const stack = new JwtApiStack(app, 'JwtApi', { config });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, config, template: Template.fromStack(stack) };
}

/** Replaces asset hashes so a snapshot moves only when infrastructure moves. */
export function normalizeTemplate(template: unknown): unknown {
  return JSON.parse(JSON.stringify(template), (_key, value) =>
    typeof value === 'string' ? value.replace(/[0-9a-f]{64}(\.zip)?/g, 'ASSET_HASH$1') : value,
  );
}
