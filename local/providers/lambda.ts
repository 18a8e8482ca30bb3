import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { displayName } from '../template';
import { arn, generatedName } from '../names';
import type { Provider } from './types';

/**
 * AWS::Lambda::Function: registered with the local Lambda service to run its real code asset with the
 * template's environment (resolved), Lambda's own variables and the local endpoints.
 */
export const functionProvider: Provider = async ({ logicalId, resource, props, services }) => {
  const { env } = services;
  const name = typeof props.FunctionName === 'string' ? props.FunctionName : generatedName(env.stackName, logicalId, 64);
  const functionArn = arn(env, 'lambda', `function:${name}`);
  const logging = props.LoggingConfig as { LogGroup?: string } | undefined;
  const logGroupName = logging?.LogGroup ?? `/aws/lambda/${name}`;
  let codeDir = services.assembly.codeDir(resource);
  const inline = (props.Code as { ZipFile?: string } | undefined)?.ZipFile;
  if (!codeDir && typeof inline === 'string') {
    // Inline code is written where Lambda would unpack it: index.js beside nothing else.
    codeDir = path.join(services.state.folder('inline-code'), logicalId);
    mkdirSync(codeDir, { recursive: true });
    writeFileSync(path.join(codeDir, 'index.js'), inline);
  }
  const memoryMb = Number(props.MemorySize ?? 128);
  const runtime = props.Runtime as string | undefined;
  const own = Object.fromEntries(Object.entries((props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}).map(([k, v]) => [k, String(v)]));
  services.lambda.register({
    logicalId,
    label: displayName(logicalId, resource),
    name,
    arn: functionArn,
    codeDir,
    handler: String(props.Handler ?? 'index.handler'),
    runtime,
    environment: { ...services.adjustEnvironment(own), ...services.runtimeEnvironment({ name, memoryMb, logGroupName, runtime, codeDir }) },
    timeoutSeconds: Number(props.Timeout ?? 3),
    memoryMb,
    logGroupName,
  });
  return { physicalId: name, attributes: { Arn: functionArn } };
};
