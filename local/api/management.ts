import type { HttpApiModel, StageModel } from './model';

export interface ManagementReply {
  status: number;
  body: unknown;
}

function stageBody(stage: StageModel): Record<string, unknown> {
  return {
    stageName: stage.name,
    stageVariables: stage.stageVariables,
    autoDeploy: true,
    description: stage.description,
    createdDate: stage.createdDate || undefined,
    lastUpdatedDate: stage.lastUpdatedDate || undefined,
    accessLogSettings: stage.accessLog ? { destinationArn: stage.accessLog.destinationArn, format: stage.accessLog.format } : undefined,
  };
}

function notFound(what: string): ManagementReply {
  return { status: 404, body: { message: `Invalid ${what} identifier specified` } };
}

/**
 * The API Gateway v2 management calls a function may make on its own API (REST JSON at /v2/apis/...):
 * GetApi, GetStage and UpdateStage. Stage variables set here take effect at once, including in the
 * authorizer cache keys that read them.
 */
export function manage(apis: HttpApiModel[], method: string, path: string, body: string): ManagementReply | undefined {
  const m = /^\/v2\/apis\/([^/]+)(?:\/stages\/([^/]+))?\/?$/.exec(path);
  if (!m) return undefined;
  const api = apis.find((a) => a.apiId === m[1]);
  if (!api) return notFound('API');
  if (!m[2]) {
    if (method !== 'GET') return { status: 405, body: { message: `${method} on an API is not emulated locally` } };
    return { status: 200, body: { apiId: api.apiId, name: api.name, protocolType: 'HTTP' } };
  }
  const stage = api.stages.get(decodeURIComponent(m[2]));
  if (!stage) return notFound('stage');
  if (method === 'GET') return { status: 200, body: stageBody(stage) };
  if (method !== 'PATCH') return { status: 405, body: { message: `${method} on a stage is not emulated locally` } };
  let input: { stageVariables?: Record<string, string>; description?: string };
  try {
    input = JSON.parse(body || '{}');
  } catch {
    return { status: 400, body: { message: 'The request body is not JSON' } };
  }
  if (input.stageVariables) {
    for (const [k, v] of Object.entries(input.stageVariables)) {
      if (!/^[A-Za-z0-9_]+$/.test(k)) return { status: 400, body: { message: `Stage variable name ${k} must be alphanumeric or underscores` } };
      stage.stageVariables[k] = String(v);
    }
  }
  if (input.description !== undefined) stage.description = input.description;
  stage.lastUpdatedDate = new Date().toISOString();
  return { status: 200, body: stageBody(stage) };
}
