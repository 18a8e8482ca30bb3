import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpServer } from './local-server';

/**
 * API Gateway's management API (v2, REST JSON) on 127.0.0.1, for the real SDK client through
 * AWS_ENDPOINT_URL_APIGATEWAYV2: GetStage (`GET /v2/apis/{apiId}/stages/{stageName}`) and UpdateStage
 * (`PATCH` on the same path). An update replaces the stage variables with the map it sends, so a caller
 * that forgets to merge loses variables, as a test should notice.
 */
export class LocalApiGateway extends LocalHttpServer {
  private readonly stages = new Map<string, { stageVariables: Record<string, string> }>();
  /** Calls received, by operation. */
  public readonly calls: { GetStage: number; UpdateStage: number } = { GetStage: 0, UpdateStage: 0 };
  /** When set, every call answers with this HTTP status. */
  public failWith?: number;

  putStage(apiId: string, stageName: string, stageVariables: Record<string, string> = {}): void {
    this.stages.set(`${apiId}/${stageName}`, { stageVariables: { ...stageVariables } });
  }

  variables(apiId: string, stageName: string): Record<string, string> | undefined {
    return this.stages.get(`${apiId}/${stageName}`)?.stageVariables;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', ...(status >= 400 ? { 'x-amzn-errortype': (body as { __type: string }).__type } : {}) });
      res.end(JSON.stringify(body));
    };
    const match = /^\/v2\/apis\/([^/]+)\/stages\/([^/?]+)$/.exec(req.url ?? '');
    const op = req.method === 'GET' ? 'GetStage' : req.method === 'PATCH' ? 'UpdateStage' : undefined;
    if (!match || !op) return send(404, { __type: 'NotFoundException', message: `no route ${req.method} ${req.url}` });
    this.calls[op]++;
    if (this.failWith) return send(this.failWith, { __type: 'TooManyRequestsException', message: 'injected failure' });
    const stageName = decodeURIComponent(match[2]);
    const stage = this.stages.get(`${match[1]}/${stageName}`);
    if (!stage) return send(404, { __type: 'NotFoundException', message: 'Invalid stage identifier specified' });
    if (op === 'UpdateStage') {
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      if (input.stageVariables) stage.stageVariables = { ...input.stageVariables };
    }
    send(200, { stageName, stageVariables: stage.stageVariables, autoDeploy: true });
  }
}
