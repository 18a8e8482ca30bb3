/** What API Gateway knows about one request: the source of `$context` variables and of the events it sends. */
export interface RequestRecord {
  requestId: string;
  apiId: string;
  accountId: string;
  domainName: string;
  domainPrefix: string;
  stage: string;
  routeKey?: string;
  httpMethod: string;
  path: string;
  protocol: string;
  sourceIp: string;
  userAgent?: string;
  /** `23/Nov/2026:01:00:00 +0000`. */
  requestTime: string;
  requestTimeEpoch: number;
  status?: number;
  responseLength?: number;
  responseLatency?: number;
  integration: { status?: number; latency?: number; error?: string; requestId?: string };
  authorizer: {
    /** The Lambda authorizer's context, or the JWT claims (as strings). */
    values: Record<string, string>;
    claims?: Record<string, string>;
    principalId?: string;
    error?: string;
    status?: number;
    latency?: number;
    requestId?: string;
  };
  identity: { userArn?: string; accountId?: string; caller?: string; user?: string; accessKey?: string };
  error?: { message: string; responseType: string };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's request time format (CLF): `23/Nov/2026:01:00:00 +0000`. */
export function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function str(v: number | string | undefined): string | undefined {
  return v === undefined ? undefined : String(v);
}

/**
 * The value of `$context.<name>` for a request, undefined when API Gateway would have none.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 */
export function contextVariable(r: RequestRecord, name: string): string | undefined {
  if (name.startsWith('authorizer.claims.')) return r.authorizer.claims?.[name.slice('authorizer.claims.'.length)];
  switch (name) {
    case 'requestId':
    case 'extendedRequestId':
    case 'awsEndpointRequestId':
      return r.requestId;
    case 'apiId':
      return r.apiId;
    case 'accountId':
      return r.accountId;
    case 'domainName':
      return r.domainName;
    case 'domainPrefix':
      return r.domainPrefix;
    case 'stage':
      return r.stage;
    case 'routeKey':
      return r.routeKey;
    case 'httpMethod':
      return r.httpMethod;
    case 'path':
      return r.path;
    case 'protocol':
      return r.protocol;
    case 'requestTime':
      return r.requestTime;
    case 'requestTimeEpoch':
      return String(r.requestTimeEpoch);
    case 'status':
      return str(r.status);
    case 'responseLength':
      return str(r.responseLength);
    case 'responseLatency':
      return str(r.responseLatency);
    case 'integrationLatency':
    case 'integration.latency':
      return str(r.integration.latency);
    case 'integrationStatus':
    case 'integration.integrationStatus':
    case 'integration.status':
      return str(r.integration.status);
    case 'integrationErrorMessage':
    case 'integration.error':
      return r.integration.error;
    case 'integration.requestId':
      return r.integration.requestId;
    case 'error.message':
      return r.error?.message;
    case 'error.messageString':
      return r.error ? JSON.stringify(r.error.message) : undefined;
    case 'error.responseType':
      return r.error?.responseType;
    case 'identity.sourceIp':
      return r.sourceIp;
    case 'identity.userAgent':
      return r.userAgent;
    case 'identity.userArn':
      return r.identity.userArn;
    case 'identity.accountId':
      return r.identity.accountId;
    case 'identity.caller':
      return r.identity.caller;
    case 'identity.user':
      return r.identity.user;
    case 'identity.accessKey':
      return r.identity.accessKey;
    case 'authorizer.error':
      return r.authorizer.error;
    case 'authorizer.principalId':
      return r.authorizer.principalId;
    case 'authorizer.status':
    case 'authorizer.integrationStatus':
      return str(r.authorizer.status);
    case 'authorizer.latency':
    case 'authorizer.integrationLatency':
      return str(r.authorizer.latency);
    case 'authorizer.requestId':
      return r.authorizer.requestId;
    default:
      if (name.startsWith('authorizer.')) return r.authorizer.values[name.slice('authorizer.'.length)];
      return undefined;
  }
}
