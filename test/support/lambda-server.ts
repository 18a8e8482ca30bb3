import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpServer } from './local-server';

/** What one invocation of a local function does. */
export type Outcome =
  /** Returns this value (JSON) with status 200. */
  | { kind: 'return'; value: unknown }
  /** Throws: status 200 with `X-Amz-Function-Error: Unhandled` and the runtime's error document as the payload. */
  | { kind: 'throw'; errorType: string; errorMessage: string }
  /** The service refuses the call: 429 TooManyRequestsException (concurrency limit), before the function runs. */
  | { kind: 'throttle' }
  /** The caller may not invoke it: 403 AccessDeniedException. */
  | { kind: 'deny' };

export const returns = (value: unknown = null): Outcome => ({ kind: 'return', value });
export const throws = (errorType: string, errorMessage: string): Outcome => ({ kind: 'throw', errorType, errorMessage });
export const throttled = (): Outcome => ({ kind: 'throttle' });
export const denied = (): Outcome => ({ kind: 'deny' });

/** A function's behaviour: its outcome for each event, in invocation order (`call` counts from 1). */
export type Behaviour = (event: unknown, call: number) => Outcome | Promise<Outcome>;

/** One Invoke request as the server read it. */
export interface Invocation {
  functionName: string;
  /** The region its SigV4 credential scope names. */
  region?: string;
  invocationType: string;
  /** `X-Amz-Log-Type` (Tail asks for the last 4 KB of the function's log in `X-Amz-Log-Result`). */
  logType?: string;
  /** The parsed JSON payload. */
  event: unknown;
  /** The HTTP status the server answered. */
  status: number;
}

/** The limit of a synchronous invocation's request payload. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/**
 * A small Lambda on 127.0.0.1 answering Invoke the way the service does over REST-JSON, enough for the real
 * `@aws-sdk/client-lambda`: `POST /2015-03-31/functions/{name}/invocations`, `X-Amz-Invocation-Type`
 * RequestResponse (200 and the function's result), Event (202) or DryRun (204). A function error is still a
 * 200, flagged by `X-Amz-Function-Error: Unhandled`; `X-Amz-Log-Result` is only there when the caller sent
 * `X-Amz-Log-Type: Tail`. Service errors carry `x-amzn-ErrorType` and a JSON body: 404 ResourceNotFoundException
 * for an unknown function, 429 TooManyRequestsException, 403 AccessDeniedException, 400 InvalidRequestContentException
 * for a payload that is not JSON, 413 RequestTooLargeException. The test scripts each function with
 * `define(name, behaviour)`. Tests reach it through AWS_ENDPOINT_URL_LAMBDA.
 */
export class LocalLambda extends LocalHttpServer {
  private readonly functions = new Map<string, { behaviour: Behaviour; calls: number }>();
  /** Every Invoke request, in arrival order (also those refused). */
  public readonly invocations: Invocation[] = [];

  /** Adds (or replaces) a function; its name, ARN or partial ARN reach it. */
  define(name: string, behaviour: Behaviour): this {
    this.functions.set(name, { behaviour, calls: 0 });
    return this;
  }

  /** The events a function was invoked with and ran (not the throttled or refused ones). */
  eventsOf(name: string): unknown[] {
    return this.invocations.filter((i) => i.functionName === name && i.status === 200).map((i) => i.event);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const region = /Credential=[^/]+\/\d{8}\/([^/]+)\/lambda\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? 'us-east-1';
    const requestId = randomUUID();
    const reply = (status: number, headers: Record<string, string>, text: string) => {
      res.writeHead(status, { 'x-amzn-requestid': requestId, ...headers });
      res.end(text);
    };
    const error = (status: number, type: string, message: string, extra: Record<string, unknown> = {}) =>
      reply(status, { 'content-type': 'application/json', 'x-amzn-errortype': type }, JSON.stringify({ Type: 'User', message, ...extra }));

    const path = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
    if (req.method !== 'POST' || !path) return error(404, 'UnknownOperationException', `This local Lambda implements Invoke only, not ${req.method} ${url.pathname}.`);
    const requested = decodeURIComponent(path[1]);
    // "my-function", "123456789012:function:my-function" and the full ARN all name the same function.
    const functionName = requested.split(':function:').pop()!.split(':')[0];
    const invocationType = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    const logType = req.headers['x-amz-log-type'] as string | undefined;
    let event: unknown;
    let parsed = true;
    try {
      event = JSON.parse(body.length ? body.toString('utf8') : '{}');
    } catch {
      parsed = false;
    }
    const record = (status: number) => this.invocations.push({ functionName, region, invocationType, logType, event, status });

    const fn = this.functions.get(functionName);
    if (!fn) {
      record(404);
      return error(404, 'ResourceNotFoundException', `Function not found: arn:aws:lambda:${region}:123456789012:function:${functionName}`);
    }
    if (body.length > MAX_PAYLOAD_BYTES) {
      record(413);
      return error(413, 'RequestTooLargeException', `Request must be smaller than ${MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation`);
    }
    if (!parsed) {
      record(400);
      return error(400, 'InvalidRequestContentException', 'Could not parse request body into json: Unexpected character');
    }
    fn.calls += 1;
    let outcome: Outcome;
    try {
      outcome = await fn.behaviour(event, fn.calls);
    } catch (err) {
      // A broken test script answers at once (a 500 the SDK retries, then reports) instead of leaving the call hanging.
      record(500);
      return error(500, 'ServiceException', `The test's behaviour for ${functionName} threw: ${(err as Error).message}`);
    }
    if (outcome.kind === 'throttle') {
      record(429);
      return error(429, 'TooManyRequestsException', 'Rate Exceeded.', { Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' });
    }
    if (outcome.kind === 'deny') {
      record(403);
      return error(403, 'AccessDeniedException',
        `User: arn:aws:iam::123456789012:user/test is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:${region}:123456789012:function:${functionName} because no identity-based policy allows the lambda:InvokeFunction action`);
    }
    if (invocationType === 'Event') {
      record(202);
      return reply(202, {}, '');
    }
    if (invocationType === 'DryRun') {
      record(204);
      return reply(204, {}, '');
    }
    record(200);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' };
    if (logType === 'Tail') {
      const tail = `START RequestId: ${requestId} Version: $LATEST\nEND RequestId: ${requestId}\nREPORT RequestId: ${requestId}\tDuration: 1.00 ms\n`;
      headers['x-amz-log-result'] = Buffer.from(tail).toString('base64');
    }
    if (outcome.kind === 'throw') {
      headers['x-amz-function-error'] = 'Unhandled';
      return reply(200, headers, JSON.stringify({ errorType: outcome.errorType, errorMessage: outcome.errorMessage, trace: [`${outcome.errorType}: ${outcome.errorMessage}`, '    at handler (/var/task/index.js:1:1)'] }));
    }
    return reply(200, headers, JSON.stringify(outcome.value));
  }
}
