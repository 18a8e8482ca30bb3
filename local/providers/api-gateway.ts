import { newApi, type HttpApiModel } from '../api/model';
import { apiGatewayId } from '../names';
import type { Provider, ProviderInput } from './types';

/** The local API a part belongs to, by its resolved ApiId. */
function apiOf({ props, logicalId, services }: ProviderInput): HttpApiModel {
  const api = services.apis.find((a) => a.model.apiId === props.ApiId);
  if (!api) throw new Error(`${logicalId} belongs to API ${String(props.ApiId)}, which is not an HTTP API of this template.`);
  return api.model;
}

function partId({ services, logicalId }: ProviderInput): string {
  return apiGatewayId(`${services.env.stackName}/${logicalId}`, 7);
}

/** AWS::ApiGatewayV2::Api (HTTP): served on 127.0.0.1; its ApiEndpoint is the local base URL. */
export const apiProvider: Provider = async (input) => {
  const { logicalId, props, services } = input;
  if (props.ProtocolType !== 'HTTP') throw new Error(`${logicalId} is a ${String(props.ProtocolType)} API: only HTTP APIs are emulated locally.`);
  for (const key of ['Body', 'BodyS3Location', 'Target', 'CorsConfiguration']) {
    if (props[key] !== undefined) services.print(`api: ${logicalId}.${key} is not emulated locally`);
  }
  const apiId = apiGatewayId(`${services.env.stackName}/${logicalId}`);
  const api = await services.serveApi(newApi(logicalId, apiId, String(props.Name ?? logicalId)));
  return { physicalId: apiId, attributes: { ApiId: apiId, ApiEndpoint: api.url } };
};

/** AWS::ApiGatewayV2::Stage: its stage variables and access-log format (throttling settings are not emulated). */
export const stageProvider: Provider = async (input) => {
  const api = apiOf(input);
  const { props, logicalId } = input;
  const name = String(props.StageName);
  const log = props.AccessLogSettings as { DestinationArn?: string; Format?: string } | undefined;
  const now = new Date().toISOString();
  api.stages.set(name, {
    logicalId,
    name,
    stageVariables: Object.fromEntries(Object.entries((props.StageVariables ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)])),
    accessLog:
      log?.DestinationArn && log.Format
        ? { destinationArn: log.DestinationArn, format: log.Format, logGroupName: /:log-group:([^:]+)/.exec(log.DestinationArn)?.[1] ?? log.DestinationArn }
        : undefined,
    description: props.Description as string | undefined,
    createdDate: now,
    lastUpdatedDate: now,
  });
  return { physicalId: name, attributes: {} };
};

export const routeProvider: Provider = async (input) => {
  const api = apiOf(input);
  const { props, logicalId } = input;
  const id = partId(input);
  api.routes.push({
    logicalId,
    id,
    routeKey: String(props.RouteKey),
    authorizationType: String(props.AuthorizationType ?? 'NONE'),
    authorizerId: props.AuthorizerId as string | undefined,
    authorizationScopes: (props.AuthorizationScopes as string[] | undefined) ?? [],
    target: props.Target as string | undefined,
  });
  return { physicalId: id, attributes: {} };
};

export const integrationProvider: Provider = async (input) => {
  const api = apiOf(input);
  const { props, logicalId } = input;
  const id = partId(input);
  api.integrations.set(id, {
    logicalId,
    id,
    type: String(props.IntegrationType),
    uri: props.IntegrationUri as string | undefined,
    method: props.IntegrationMethod as string | undefined,
    subtype: props.IntegrationSubtype as string | undefined,
    payloadFormatVersion: String(props.PayloadFormatVersion ?? '1.0'),
    timeoutMs: Number(props.TimeoutInMillis ?? 30_000),
  });
  return { physicalId: id, attributes: {} };
};

export const authorizerProvider: Provider = async (input) => {
  const api = apiOf(input);
  const { props, logicalId } = input;
  const id = partId(input);
  const jwt = props.JwtConfiguration as { Issuer?: string; Audience?: string[] } | undefined;
  api.authorizers.set(id, {
    logicalId,
    id,
    name: String(props.Name ?? logicalId),
    type: String(props.AuthorizerType),
    identitySource: [props.IdentitySource ?? []].flat().map(String),
    uri: props.AuthorizerUri as string | undefined,
    ttlSeconds: Number(props.AuthorizerResultTtlInSeconds ?? 0),
    simpleResponses: props.EnableSimpleResponses === true || props.EnableSimpleResponses === 'true',
    payloadFormatVersion: String(props.AuthorizerPayloadFormatVersion ?? '2.0'),
    jwt: jwt ? { issuer: String(jwt.Issuer ?? ''), audience: (jwt.Audience ?? []).map(String) } : undefined,
  });
  return { physicalId: id, attributes: { AuthorizerId: id } };
};
