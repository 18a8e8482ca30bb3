import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { LocalHttpApi } from './api/gateway';
import type { StackAssembly } from './assembly';
import { LocalAwsEndpoint } from './aws-endpoint';
import { routeTable } from './console';
import { deploy } from './deploy';
import { LocalDynamoDb } from './dynamodb';
import { LocalEventSources } from './event-sources';
import { LocalLambda } from './functions';
import { lambdaEnvironment } from './lambda-environment';
import { LocalLogs } from './logs';
import { moesifEnvironment } from './moesif';
import { LocalMoesifCollector } from './moesif-collector';
import type { Environment } from './names';
import { LocalSecretsManager } from './secrets-manager';
import { LocalSqs } from './sqs/service';
import { StateFolder } from './state';

export interface StartOptions {
  projectRoot: string;
  stack: StackAssembly;
  /** Port of the (first) HTTP API; 0 picks a free one. */
  port: number;
  stateDir: string;
  /** The principal AWS_IAM routes see for an `x-admin-token` request. @default a local admin role of the stack's account */
  iamPrincipalArn?: string;
  /** The user's Moesif collector; unset, events go to the local collector and are printed. */
  moesifBaseUrl?: string;
  moesifApplicationId?: string;
  /** Status and request lines. */
  print: (line: string) => void;
  /** Moesif events, one JSON document per line. */
  printEvent: (line: string) => void;
}

export interface RunningStack {
  url: string;
  adminToken: string;
  apis: LocalHttpApi[];
  dynamodbUrl: string;
  awsEndpointUrl: string;
  moesifUrl: string;
  notEmulated: string[];
  outputs: Record<string, string>;
  /** The lines printed at start: URL, admin token, routes, outputs, not emulated. */
  banner: string[];
  lambda: LocalLambda;
  logs: LocalLogs;
  sqs: LocalSqs;
  eventSources: LocalEventSources;
  stop(): Promise<void>;
}

function queueLine(q: LocalSqs['queues'][number]): string {
  const s = q.settings;
  const redrive = s.redrive ? `, to ${s.redrive.deadLetterTargetArn.split(':').pop()} after ${s.redrive.maxReceiveCount} receives` : '';
  return `  ${s.label}: ${s.url} (visibility ${s.visibilityTimeoutSeconds} s${redrive})`;
}

function mappingLine(m: LocalEventSources['mappings'][number]): string {
  const window = m.batchingWindowSeconds ? `, window ${m.batchingWindowSeconds} s` : '';
  return `  ${m.queue.settings.label} → ${m.functionLabel} (batch ${m.batchSize}${window}${m.reportBatchItemFailures ? ', ReportBatchItemFailures' : ''})`;
}

/** Starts the local services, deploys the template into them, and serves its HTTP API(s). */
export async function startLocal(options: StartOptions): Promise<RunningStack> {
  const { stack, print } = options;
  const state = new StateFolder(options.stateDir);
  // Custom resources are called again only when their properties change, which assumes the services
  // still hold what they created: with no secrets kept, that record is void.
  if (!existsSync(state.file('secretsmanager.json'))) rmSync(state.file('custom-resources.json'), { force: true });
  const env: Environment = {
    region: stack.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    account: stack.account ?? '123456789012',
    partition: 'aws',
    urlSuffix: 'amazonaws.com',
    stackName: stack.stackName,
  };
  const adminToken = randomBytes(24).toString('base64url');
  // Also in the state folder, so a second terminal can read it (`$(cat .local/admin-token)`) without copying.
  state.writeText('admin-token', `${adminToken}\n`);
  // The functions' credentials: only requests signed with this key id reach the local services.
  const accessKeyId = `AKIALOCAL${randomBytes(6).toString('hex').toUpperCase()}`;
  const iamPrincipal = { userArn: options.iamPrincipalArn ?? `arn:aws:sts::${env.account}:assumed-role/local-admin/npm-start`, accountId: env.account };

  const stoppers: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stoppers.splice(0).reverse()) await s().catch(() => undefined);
  };
  try {
    const lambda = new LocalLambda(options.projectRoot, (label, line) => print(`  [${label}] ${line}`));
    stoppers.push(() => lambda.stop());
    const secrets = new LocalSecretsManager(state, `arn:${env.partition}:secretsmanager:${env.region}:${env.account}:secret:`);
    const dynamodb = new LocalDynamoDb();
    const dynamodbUrl = await dynamodb.start(state.folder('dynamodb'));
    stoppers.push(() => dynamodb.stop());
    const collector = new LocalMoesifCollector(options.printEvent);
    const collectorUrl = await collector.start();
    stoppers.push(() => collector.stop());
    const sqs = new LocalSqs(print);
    const apis: LocalHttpApi[] = [];
    const aws = new LocalAwsEndpoint({ secrets, sqs, lambda, apis: () => apis.map((a) => a.model), accessKeyId, print });
    const awsUrl = await aws.start();
    stoppers.push(() => aws.stop());
    stoppers.push(async () => sqs.stop());
    // Pollers stop before the functions they invoke (stoppers run last-in, first-out).
    const eventSources = new LocalEventSources(lambda, print);
    stoppers.push(() => eventSources.stop());
    const logs = new LocalLogs(state.folder('logs'), lambda, env.account, print);
    stoppers.push(() => logs.stop());
    const moesifBaseUrl = options.moesifBaseUrl ?? collectorUrl;
    if (options.moesifBaseUrl && !options.moesifApplicationId) print(`moesif: events go to ${options.moesifBaseUrl}; set MOESIF_APPLICATION_ID to your Collector Application Id, or they are refused`);
    const gateway = { lambda, logs, adminToken, iamPrincipal, region: env.region, accountId: env.account, partition: env.partition, print };

    const result = await deploy(stack.template, {
      env,
      assembly: stack,
      state,
      secrets,
      dynamodb,
      lambda,
      logs,
      sqs,
      eventSources,
      awsEndpointUrl: awsUrl,
      apis,
      serveApi: async (model) => {
        const api = new LocalHttpApi(model, gateway);
        await api.listen(apis.length === 0 ? options.port : 0);
        apis.push(api);
        stoppers.push(() => api.stop());
        return api;
      },
      runtimeEnvironment: (fn) => lambdaEnvironment(fn, { region: env.region, accessKeyId, awsUrl, dynamodbUrl, state }),
      adjustEnvironment: (fnEnv) => moesifEnvironment(fnEnv, { baseUrl: moesifBaseUrl, applicationId: options.moesifApplicationId, secrets, print }),
      print,
    });
    if (apis.length === 0) throw new Error(`The template of ${stack.stackName} has no HTTP API (AWS::ApiGatewayV2::Api) to serve.`);

    const banner = [
      `${stack.stackName} runs locally, wired by ${stack.templateFile}`,
      `API: ${apis[0].url}`,
      ...apis.slice(1).map((a) => `API ${a.model.name}: ${a.url}`),
      `admin token: ${adminToken}`,
      `  AWS_IAM routes take the header x-admin-token: <admin token> in place of a SigV4 signature (caller ${iamPrincipal.userArn})`,
      ...apis.flatMap((a) => [`Routes of ${a.model.name} (${a.url}):`, ...routeTable(a.model)]),
      ...(sqs.queues.length ? ['Queues:', ...sqs.queues.map(queueLine)] : []),
      ...(eventSources.mappings.length ? ['Event sources:', ...eventSources.mappings.map(mappingLine)] : []),
      'Outputs:',
      ...Object.entries(result.outputs).map(([k, v]) => `  ${k}: ${v}`),
      `Local services: DynamoDB ${dynamodbUrl}, AWS endpoint ${awsUrl} (Secrets Manager, SQS, API Gateway stages, Lambda), Moesif ${moesifBaseUrl}${options.moesifBaseUrl ? '' : ' (events printed as JSON lines)'}`,
      `State: ${state.dir} (mode ${state.mode()}), access logs in ${state.folder('logs')}`,
      'Not emulated (present in the template, no local behaviour): ' + (result.notEmulated.join(', ') || 'none'),
      `Functions run on Node.js ${process.version} in worker threads (the template asks for ${[...new Set(lambda.all.map((f) => f.runtime ?? '?'))].join(', ')}).`,
      'Also not emulated: stage throttling (DefaultRouteSettings), CORS, secret rotation schedules, alarms and metrics, IAM and resource policies, ' +
        "Lambda's asynchronous retries and on-failure destinations, reserved concurrency (each function runs in one environment; an event source " +
        'delivers one batch at a time), event filtering; queues are kept in memory (their messages do not survive a restart).',
    ];
    return {
      url: apis[0].url,
      adminToken,
      apis,
      dynamodbUrl,
      awsEndpointUrl: awsUrl,
      moesifUrl: moesifBaseUrl,
      notEmulated: result.notEmulated,
      outputs: result.outputs,
      banner,
      lambda,
      logs,
      sqs,
      eventSources,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
