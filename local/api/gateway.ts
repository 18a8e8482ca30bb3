import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalLambda } from '../functions';
import type { LocalLogs } from '../logs';
import { formatAccessLog } from './access-log';
import { ADMIN_TOKEN_HEADER, authorizeIam, INTERNAL_ERROR, type Decision, type IamPrincipal } from './authorization';
import { contextVariable, requestTime, type RequestRecord } from './context';
import { eventHeaders, queryParameters, type AuthorizerOutput, type HttpResponse, type IncomingRequest } from './events';
import { integrate } from './integrations';
import { JwtAuthorizers } from './jwt-authorizer';
import { LambdaAuthorizers } from './lambda-authorizer';
import type { HttpApiModel, RouteModel, StageModel } from './model';
import { matchRoute } from './router';

export interface GatewayOptions {
  lambda: LocalLambda;
  logs: LocalLogs;
  adminToken: string;
  iamPrincipal: IamPrincipal;
  region: string;
  accountId: string;
  partition: string;
  /** One line per request. */
  print: (line: string) => void;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(body)) };
}

/** API Gateway's request ids look like `J4BpFhBdIAMEaWg=`. */
function requestId(): string {
  return randomBytes(10).toString('base64');
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * One HTTP API served on 127.0.0.1 as API Gateway serves it: stage by path, route selection,
 * the route's authorization, its integration, then the stage's access log.
 */
export class LocalHttpApi {
  private server?: Server;
  private readonly lambdaAuthorizers: LambdaAuthorizers;
  private readonly jwtAuthorizers = new JwtAuthorizers();

  constructor(public readonly model: HttpApiModel, private readonly options: GatewayOptions) {
    this.lambdaAuthorizers = new LambdaAuthorizers(options.lambda);
  }

  async listen(port: number): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        this.options.print(`gateway error: ${err.message}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Internal Server Error' }));
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? new Error(`Port ${port} on 127.0.0.1 is in use: set PORT (or --port) to a free one.`) : err),
      );
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    return this.url;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The stage a path belongs to (a named stage is the first path segment) and the path within it. */
  private stageOf(rawPath: string): { stage: StageModel; path: string } | undefined {
    for (const stage of this.model.stages.values()) {
      if (stage.name === '$default') continue;
      if (rawPath === `/${stage.name}` || rawPath.startsWith(`/${stage.name}/`)) return { stage, path: rawPath.slice(stage.name.length + 1) || '/' };
    }
    const root = this.model.stages.get('$default');
    return root ? { stage: root, path: rawPath } : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const host = `127.0.0.1:${this.port}`;
    const record: RequestRecord = {
      requestId: requestId(),
      apiId: this.model.apiId,
      accountId: this.options.accountId,
      domainName: host,
      domainPrefix: '127',
      stage: '-',
      httpMethod: method,
      path: url.pathname,
      protocol: `HTTP/${req.httpVersion}`,
      sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
      userAgent: req.headers['user-agent'],
      requestTime: requestTime(started),
      requestTimeEpoch: started,
      integration: {},
      authorizer: { values: {} },
      identity: {},
    };
    const found = this.stageOf(url.pathname);
    let response: HttpResponse;
    let note = '';
    if (!found) {
      response = json(404, { message: 'Not Found' });
    } else {
      record.stage = found.stage.name;
      ({ response, note } = await this.route(req, body, url, found.stage, found.path, record));
    }
    record.status = response.status;
    record.responseLength = method === 'HEAD' ? 0 : response.body.length;
    record.responseLatency = Date.now() - started;
    res.writeHead(response.status, { ...response.headers, 'apigw-requestid': record.requestId, 'content-length': String(response.body.length) });
    res.end(method === 'HEAD' ? undefined : response.body);

    const log = found?.stage.accessLog;
    if (log) this.options.logs.put(log.logGroupName, formatAccessLog(log.format, (name) => contextVariable(record, name)), started);
    this.options.print(`${method} ${url.pathname}${url.search} → ${response.status} ${record.responseLatency} ms  ${record.routeKey ?? '(no route)'}${note}`);
  }

  private async route(req: IncomingMessage, body: Buffer, url: URL, stage: StageModel, path: string, record: RequestRecord): Promise<{ response: HttpResponse; note: string }> {
    const match = matchRoute(this.model.routes, record.httpMethod, path);
    if (!match) return { response: json(404, { message: 'Not Found' }), note: '' };
    const { route, pathParameters } = match;
    record.routeKey = route.routeKey;

    // The headers API Gateway adds before anything sees the request.
    const headers: IncomingHttpHeaders = { ...req.headers, 'x-forwarded-for': record.sourceIp, 'x-forwarded-port': String(this.port), 'x-forwarded-proto': 'http', 'x-amzn-trace-id': `Root=1-${Math.floor(record.requestTimeEpoch / 1000).toString(16)}-${randomBytes(12).toString('hex')}` };
    const incoming: IncomingRequest = { method: record.httpMethod, rawPath: url.pathname, rawQueryString: url.search.slice(1), headers, body };
    const facts = {
      headers: eventHeaders(headers).headers,
      query: queryParameters(incoming.rawQueryString),
      stageVariables: stage.stageVariables,
      context: (name: string) => contextVariable(record, name),
    };

    const { decision, note } = await this.authorize(route, record, incoming, facts, pathParameters, stage, path);
    if (!decision.allow) {
      record.authorizer.error = decision.error ?? decision.message;
      record.error = { message: decision.message, responseType: decision.status === 401 ? 'UNAUTHORIZED' : decision.status === 403 ? 'ACCESS_DENIED' : 'AUTHORIZER_FAILURE' };
      return { response: json(decision.status, { message: decision.message }, decision.headers), note: `${note}${decision.error ? ` (${decision.error})` : ''}` };
    }
    record.authorizer.values = decision.values;
    record.authorizer.claims = decision.claims;
    record.authorizer.principalId = decision.principalId;
    const auth: AuthorizerOutput = decision.output;
    if (auth.kind === 'iam') {
      record.identity = { userArn: String(auth.iam.userArn), accountId: String(auth.iam.accountId), caller: String(auth.iam.callerId), user: String(auth.iam.userId), accessKey: String(auth.iam.accessKey) };
      // The admin token is a credential: it goes no further than the gateway, as a SigV4 signature's secret would not.
      delete headers[ADMIN_TOKEN_HEADER];
    }

    const integration = route.target ? this.model.integrations.get(route.target.replace(/^integrations\//, '')) : undefined;
    const outcome = await integrate(this.options.lambda, integration, { record, req: incoming, pathParameters, stageVariables: stage.stageVariables, auth, resource: route.routeKey.split(' ')[1] ?? '/{proxy+}' });
    record.integration = { status: outcome.status, latency: outcome.latencyMs, error: outcome.error, requestId: record.requestId };
    if (outcome.error) record.error = { message: outcome.response.status === 503 ? 'Service Unavailable' : 'Internal Server Error', responseType: 'INTEGRATION_FAILURE' };
    return { response: outcome.response, note: `${note}${outcome.error ? ` (${outcome.error})` : ''}` };
  }

  private async authorize(
    route: RouteModel,
    record: RequestRecord,
    req: IncomingRequest,
    facts: Parameters<LambdaAuthorizers['authorize']>[1]['facts'],
    pathParameters: Record<string, string>,
    stage: StageModel,
    path: string,
  ): Promise<{ decision: Decision; note: string }> {
    const type = route.authorizationType ?? 'NONE';
    if (type === 'NONE') return { decision: { allow: true, output: { kind: 'none' }, values: {} }, note: '  NONE' };
    if (type === 'AWS_IAM') return { decision: authorizeIam(facts.headers, this.options.adminToken, this.options.iamPrincipal), note: '  AWS_IAM' };
    const authorizer = route.authorizerId ? this.model.authorizers.get(route.authorizerId) : undefined;
    if (!authorizer) return { decision: { ...INTERNAL_ERROR, error: `Route ${route.routeKey} names authorizer ${route.authorizerId ?? '(none)'}, which the template does not define` }, note: '' };
    if (type === 'JWT') return { decision: await this.jwtAuthorizers.authorize(authorizer, route.authorizationScopes, facts), note: `  JWT ${authorizer.name}` };
    const started = Date.now();
    const routeArn = `arn:${this.options.partition}:execute-api:${this.options.region}:${this.options.accountId}:${this.model.apiId}/${stage.name}/${record.httpMethod}${path}`;
    const result = await this.lambdaAuthorizers.authorize(authorizer, { record, req, facts, routeArn, pathParameters, stageVariables: stage.stageVariables, resource: route.routeKey.split(' ')[1] ?? '/' });
    record.authorizer.latency = Date.now() - started;
    record.authorizer.status = result.decision.allow ? 200 : result.decision.status;
    record.authorizer.requestId = record.requestId;
    return { decision: result.decision, note: `  CUSTOM ${authorizer.name}${result.cached ? ' (cached)' : ''}` };
  }
}
