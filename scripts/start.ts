/**
 * npm start: synthesizes the CDK app (same -c flags as cdk synth) and serves the stack on 127.0.0.1,
 * wired by its own template. See `npm start -- --help`.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readAssembly, readTemplateFile } from '../local/assembly';
import { startLocal } from '../local/runtime';
import { StateFolder } from '../local/state';
import { synthesize } from '../local/synth';

const ROOT = path.join(__dirname, '..');
// This process runs the local DynamoDB client on the machine's Node.js; the banner names the version.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const HELP = `Usage: npm start -- [options] [-c key=value ...]

Synthesizes the app and serves the stack's HTTP API on 127.0.0.1, wired by the template.

  -c, --context key=value  context for cdk synth, as with cdk synth (repeatable)
  --port <n>               port of the API (default: $PORT, else 3000; 0 = any free port)
  --template <file>        serve this template instead of synthesizing (its folder holds the assets)
  --assembly <dir>         serve a synthesized cloud assembly (cdk.out) instead of synthesizing
  --stack <name>           the stack to serve when the assembly has several (with --template: its name)
  --state <dir>            local state: keys, tables, access logs (default: .local)
  --iam-principal <arn>    who AWS_IAM routes see for an x-admin-token request
  -h, --help               this text

Environment: PORT, MOESIF_BASE_URL (post Moesif events there instead of printing them),
MOESIF_APPLICATION_ID (the Collector Application Id to use with MOESIF_BASE_URL).`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      context: { type: 'string', short: 'c', multiple: true },
      port: { type: 'string' },
      template: { type: 'string' },
      assembly: { type: 'string' },
      stack: { type: 'string' },
      state: { type: 'string' },
      'iam-principal': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const portText = values.port ?? process.env.PORT ?? '3000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`The port "${portText}" (--port or PORT) must be a whole number from 0 to 65535.`);
  const contexts = values.context ?? [];
  for (const c of contexts) if (!/^[^=]+=/.test(c)) throw new Error(`Context "${c}" must be key=value, as with cdk synth -c.`);
  const stateDir = path.resolve(values.state ?? path.join(ROOT, '.local'));
  const started = Date.now();

  let stack;
  if (values.template) {
    stack = readTemplateFile(values.template, values.stack);
  } else if (values.assembly) {
    stack = readAssembly(path.resolve(values.assembly), values.stack);
  } else {
    const outDir = path.join(new StateFolder(stateDir).folder('cdk.out'));
    console.log(`Synthesizing (cdk synth${contexts.map((c) => ` -c ${c}`).join('')}) ...`);
    await synthesize(ROOT, outDir, contexts.flatMap((c) => ['-c', c]));
    const stackName = values.stack ?? contexts.find((c) => c.startsWith('stackName='))?.slice('stackName='.length);
    stack = readAssembly(outDir, stackName);
  }
  const synthMs = Date.now() - started;

  const running = await startLocal({
    projectRoot: ROOT,
    stack,
    port,
    stateDir,
    iamPrincipalArn: values['iam-principal'],
    moesifBaseUrl: process.env.MOESIF_BASE_URL || undefined,
    moesifApplicationId: process.env.MOESIF_APPLICATION_ID || undefined,
    print: (line) => console.log(line),
    printEvent: (line) => process.stdout.write(`${line}\n`),
  });
  for (const line of running.banner) console.log(line);
  console.log(`Ready in ${((Date.now() - started) / 1000).toFixed(1)} s${values.template || values.assembly ? '' : ` (synth ${(synthMs / 1000).toFixed(1)} s)`}. Ctrl-C stops.`);
  // Cold starts happen now, in the background, rather than on the first requests.
  void running.lambda.warm();

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('Stopping ...');
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: Error) => {
  console.error(`npm start: ${err.message}`);
  process.exit(1);
});
