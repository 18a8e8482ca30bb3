import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** One AWS::Lambda::Function as the template declares it, resolved. */
export interface FunctionDefinition {
  logicalId: string;
  /** Short name for the console (the CDK construct path). */
  label: string;
  name: string;
  arn: string;
  /** The asset folder holding the bundled code; undefined when the template's code cannot be found locally. */
  codeDir?: string;
  handler: string;
  runtime?: string;
  /** The complete environment of the function: the template's variables and the runtime's. */
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  logGroupName: string;
}

export interface LambdaError {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

export type InvokeResult = { ok: true; payload: unknown; durationMs: number } | { ok: false; error: LambdaError; durationMs: number };

interface Pending {
  resolve: (r: InvokeResult) => void;
  started: number;
  timer: NodeJS.Timeout;
}

/** A function's execution environment: one worker thread, started on first use and replaced after a crash or a timeout. */
class Container {
  readonly worker: Worker;
  readonly ready: Promise<LambdaError | undefined>;
  private readonly pending = new Map<string, Pending>();
  dead = false;

  constructor(def: FunctionDefinition, file: string, exportName: string, projectRoot: string, print: (label: string, line: string) => void) {
    this.worker = new Worker(new URL('./lambda-worker.mjs', pathToFileURL(__filename)), {
      env: def.environment,
      stdout: true,
      stderr: true,
      workerData: {
        file,
        exportName,
        fallbackParent: pathToFileURL(path.join(projectRoot, 'package.json')).href,
        context: {
          functionName: def.name,
          functionVersion: '$LATEST',
          invokedFunctionArn: def.arn,
          memoryLimitInMB: String(def.memoryMb),
          logGroupName: def.logGroupName,
          logStreamName: 'local',
        },
      },
    });
    for (const stream of [this.worker.stdout, this.worker.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => print(def.label, line));
    }
    this.ready = new Promise((resolve) => {
      this.worker.on('message', (m: { type: string; id?: string; payload?: string; error?: LambdaError }) => {
        if (m.type === 'ready') resolve(undefined);
        else if (m.type === 'init-error') resolve({ ...m.error!, errorType: `Runtime.ImportModuleError: ${m.error!.errorType}` });
        else if (m.id) this.settle(m.id, m.type === 'result' ? { ok: true, payload: JSON.parse(m.payload!) } : { ok: false, error: m.error! });
      });
      const fail = (error: LambdaError) => {
        this.dead = true;
        resolve(error);
        for (const id of [...this.pending.keys()]) this.settle(id, { ok: false, error });
      };
      this.worker.on('error', (err) => fail({ errorType: 'Runtime.ExitError', errorMessage: err.message }));
      this.worker.on('exit', (code) => fail({ errorType: 'Runtime.ExitError', errorMessage: `The function's worker exited with code ${code}.` }));
    });
  }

  invoke(event: unknown, timeoutSeconds: number): Promise<InvokeResult> {
    const id = randomUUID();
    const started = Date.now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.settle(id, { ok: false, error: { errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${timeoutSeconds.toFixed(2)} seconds` } });
        // Lambda discards an environment whose invocation timed out.
        this.dead = true;
        void this.worker.terminate();
      }, timeoutSeconds * 1000);
      this.pending.set(id, { resolve, started, timer });
      this.worker.postMessage({ id, payload: JSON.stringify(event ?? null), requestId: id, deadline: started + timeoutSeconds * 1000 });
    });
  }

  private settle(id: string, outcome: { ok: true; payload: unknown } | { ok: false; error: LambdaError }): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve({ ...outcome, durationMs: Date.now() - p.started } as InvokeResult);
  }
}

/** The handler file and export a `Handler` setting names: `index.handler` → index.{mjs,js,cjs}, export `handler`. */
export function handlerEntry(codeDir: string, handler: string): { file: string; exportName: string } | undefined {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const base = path.join(codeDir, handler.slice(0, dot));
  const file = ['.mjs', '.js', '.cjs'].map((ext) => base + ext).find((f) => existsSync(f));
  return file ? { file, exportName: handler.slice(dot + 1) } : undefined;
}

/**
 * The local Lambda service: runs each function's real bundled handler in its own worker thread (own
 * environment variables, own module-scope caches), with the template's timeout.
 */
export class LocalLambda {
  private readonly functions = new Map<string, FunctionDefinition>();
  private readonly containers = new Map<string, Container>();

  constructor(private readonly projectRoot: string, private readonly print: (label: string, line: string) => void) {}

  register(def: FunctionDefinition): void {
    this.functions.set(def.arn, def);
  }

  get all(): FunctionDefinition[] {
    return [...this.functions.values()];
  }

  /** A function by ARN (with or without a qualifier), by name, or by an API Gateway integration URI. */
  find(ref: string): FunctionDefinition | undefined {
    const inUri = /functions\/(arn:[^/]+)\/invocations/.exec(ref)?.[1];
    const target = inUri ?? ref;
    const unqualified = target.split(':').slice(0, 7).join(':');
    return this.functions.get(target) ?? this.functions.get(unqualified) ?? this.all.find((f) => f.name === target || f.logicalId === target);
  }

  /** Invokes synchronously (RequestResponse); never throws: a failure comes back as Lambda reports it. */
  async invoke(ref: string, event: unknown): Promise<InvokeResult> {
    const def = this.find(ref);
    if (!def) return { ok: false, error: { errorType: 'ResourceNotFoundException', errorMessage: `Function not found: ${ref}` }, durationMs: 0 };
    const container = this.container(def);
    if (!('invoke' in container)) return { ok: false, error: container, durationMs: 0 };
    const initError = await container.ready;
    if (initError) {
      this.containers.delete(def.arn);
      return { ok: false, error: initError, durationMs: 0 };
    }
    return container.invoke(event, def.timeoutSeconds);
  }

  /** Starts every runnable function's environment now, so first requests do not pay the cold start. */
  warm(): Promise<unknown> {
    return Promise.all(this.all.map((def) => {
      const c = this.container(def);
      return 'ready' in c ? c.ready : undefined;
    }));
  }

  async stop(): Promise<void> {
    const workers = [...this.containers.values()].map((c) => c.worker.terminate());
    this.containers.clear();
    await Promise.all(workers);
  }

  private container(def: FunctionDefinition): Container | LambdaError {
    const existing = this.containers.get(def.arn);
    if (existing && !existing.dead) return existing;
    if (def.runtime && !def.runtime.startsWith('nodejs')) return { errorType: 'Runtime.Unsupported', errorMessage: `${def.label}: runtime ${def.runtime} is not emulated locally (Node.js only).` };
    if (!def.codeDir) return { errorType: 'Runtime.CodeNotFound', errorMessage: `${def.label}: its code is not a local asset folder of the cloud assembly.` };
    const entry = handlerEntry(def.codeDir, def.handler);
    if (!entry) return { errorType: 'Runtime.HandlerNotFound', errorMessage: `${def.label}: handler ${def.handler} not found in ${def.codeDir}.` };
    const container = new Container(def, entry.file, entry.exportName, this.projectRoot, this.print);
    this.containers.set(def.arn, container);
    return container;
  }
}
