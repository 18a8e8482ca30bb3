import type { LocalHttpApi } from '../api/gateway';
import type { StackAssembly } from '../assembly';
import type { LocalDynamoDb } from '../dynamodb';
import type { LocalEventSources } from '../event-sources';
import type { LocalLambda } from '../functions';
import type { LocalLogs } from '../logs';
import type { Environment } from '../names';
import type { Deployed } from '../physical-ids';
import type { LocalSecretsManager } from '../secrets-manager';
import type { LocalSqs } from '../sqs/service';
import type { StateFolder } from '../state';
import type { CfnResource } from '../template';

/** The local services a resource is created in, and what the deployment knows so far. */
export interface Services {
  env: Environment;
  assembly: StackAssembly;
  state: StateFolder;
  secrets: LocalSecretsManager;
  dynamodb: LocalDynamoDb;
  lambda: LocalLambda;
  logs: LocalLogs;
  sqs: LocalSqs;
  eventSources: LocalEventSources;
  /** The local AWS endpoint (the host of the local queues' URLs). */
  awsEndpointUrl: string;
  apis: LocalHttpApi[];
  /** Creates (and starts serving) an HTTP API. */
  serveApi: (api: LocalHttpApi['model']) => Promise<LocalHttpApi>;
  /** The environment variables Lambda's runtime adds to a function's own. */
  runtimeEnvironment: (fn: { name: string; memoryMb: number; logGroupName: string; runtime?: string; codeDir?: string }) => Record<string, string>;
  /** Local adjustments to a function's environment (the Moesif collector). */
  adjustEnvironment: (env: Record<string, string>) => Record<string, string>;
  /** A deployed resource, by logical id. */
  deployed: (logicalId: string) => Deployed | undefined;
  print: (line: string) => void;
}

export interface ProviderInput {
  logicalId: string;
  resource: CfnResource;
  /** The properties with every intrinsic resolved. */
  props: Record<string, unknown>;
  services: Services;
}

/** Creates one resource type locally. */
export type Provider = (input: ProviderInput) => Promise<Deployed>;
