#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, loadConfig } from '../lib/config';
import { JwtApiStack } from '../lib/jwt-api-stack';

const app = new App();
let config;
try {
  config = loadConfig({
    context: (key) => app.node.tryGetContext(key),
    contextKeys: Object.keys(app.node.getAllContext()),
    env: process.env,
    account: process.env.CDK_DEFAULT_ACCOUNT,
  });
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`Configuration error: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
new JwtApiStack(app, config.stackName, {
  config,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new CfnGuardValidator());
