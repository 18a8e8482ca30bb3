import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { readJwtEnv, type JwtEnv } from './shared/env';
import { InputError, issueRequestFrom, parseObject } from './jwt/issue';
import { signerAt, type KeyRing } from './jwt/jwk-set';
import { KeySourceUnavailableError, signingKeys, type KeySource } from './jwt/key-source';
import { errorFields, log } from './shared/log';
import { METRIC, metricFields } from './shared/metrics';
import { isAllowedMinter } from './shared/minters';
import { json } from './shared/http';
import { parseTrustedIssuers } from './jwt/trusted-issuers';
import { APPLICATION_HANDLERS, APPLICATION_WRITES } from './registry/application-routes';
import { createApplicationService, type ApplicationService } from './registry/application-service';
import { createApplicationStore } from './registry/application-store';
import { scheduleBump } from './registry/bump';
import { sqsClient } from './registry/bump-clients';
import { dynamoClient } from './registry/clients';
import { readRegistryEnv } from './registry/env';
import { parseKeyId, parseKeyName, parseListQuery, parseRevocationRequest, parseRollRequest } from './registry/requests';
import { ConflictError, createRegistryService, NotFoundError, type Caller, type RegistryService } from './registry/service';
import { createRegistryStore, RegistryUnavailableError } from './registry/store';

interface State {
  env: JwtEnv;
  minters: string[];
  enforced: boolean;
  registry: RegistryService;
  applications: ApplicationService;
}
let state: State | undefined;

/** The key that signs now; a cached set may predate a rotation's hand-over, so re-read it once. */
async function currentSigner(keys: KeySource<KeyRing>, env: JwtEnv) {
  const now = () => Math.floor(Date.now() / 1000);
  const signer = signerAt(await keys.get(), env.algorithm, now()) ?? ((await keys.refresh()) ? signerAt(await keys.get(), env.algorithm, now()) : undefined);
  if (!signer) throw new KeySourceUnavailableError(`No ${env.algorithm} key signs now.`);
  return signer;
}

function init(): State {
  if (!state) {
    const env = readJwtEnv();
    const registryEnv = readRegistryEnv();
    const keys = signingKeys(env);
    const queueUrl = registryEnv.stageBumpQueueUrl;
    const bump = queueUrl ? (due: number, now: number) => scheduleBump(sqsClient(), queueUrl, due, now) : undefined;
    const onWarning = (message: string, fields: Record<string, unknown>) => log('ERROR', message, fields);
    state = {
      env,
      minters: (process.env.KEY_MINTER_ROLE_ARNS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      enforced: registryEnv.enforced,
      registry: createRegistryService({
        store: createRegistryStore(dynamoClient(), registryEnv.tableName),
        jwt: env,
        signer: () => currentSigner(keys, env),
        refreshSeconds: registryEnv.refreshSeconds,
        scheduleBump: bump,
        onWarning,
      }),
      applications: createApplicationService({
        store: createApplicationStore(dynamoClient(), registryEnv.tableName),
        refreshSeconds: registryEnv.refreshSeconds,
        scheduleBump: bump,
        onWarning,
        // A client's tokens carry its client id as `iss`: these issuers' tokens go to other verifiers.
        reservedClientIds: new Set([env.issuer, ...parseTrustedIssuers(process.env.TRUSTED_ISSUERS).map((i) => i.issuer)]),
        routeRestrictedPlans: process.env.ROUTE_RESTRICTED_PLANS === 'true',
      }),
    };
  }
  return state;
}

function decodeBody(event: APIGatewayProxyEventV2): string | undefined {
  if (event.body === undefined) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

const NATIVE_MODE_MESSAGE =
  "Revocation is not enforced: this stack uses API Gateway's native JWT authorizer, which cannot consult the key registry. " +
  'Deploy with -c authorizer=lambda to revoke keys, or keep key lifetimes (JWT_EXPIRES_IN) short.';

type Route = (event: APIGatewayProxyEventV2, caller: Caller, s: State) => Promise<APIGatewayProxyStructuredResultV2>;

const REVOKING = new Set(['DELETE /keys/{keyId}', 'POST /keys/{keyId}/roll', 'POST /revocations']);

const NATIVE_APPLICATIONS_MESSAGE =
  "Client applications are not enforced: this stack uses API Gateway's native JWT authorizer, which accepts only this API's own keys " +
  'and cannot consult the key registry. Deploy with -c authorizer=lambda to use client applications, plans and subscriptions.';

/** The application routes, on the same front door: decoded body, path parameters, the 201/200 they answer. */
const applicationRoutes: Record<string, Route> = Object.fromEntries(
  Object.entries(APPLICATION_HANDLERS).map(([routeKey, run]) => [
    routeKey,
    (async (event, caller, { applications }) => {
      const { status, body } = await run({ body: decodeBody(event), pathParameters: event.pathParameters, requestId: event.requestContext?.requestId }, caller, applications);
      return json(status, body);
    }) satisfies Route,
  ]),
);

/** Exported for the test that holds it equal to the routes the CDK creates (lambda/registry/routes.ts). */
export const ROUTES: Record<string, Route> = {
  ...applicationRoutes,
  'POST /keys': async (event, caller, { env, registry }) => {
    const body = parseObject(decodeBody(event));
    const request = issueRequestFrom(body, env.maxLifetimeSeconds);
    const name = parseKeyName(body);
    const { issued, record } = await registry.mint(request, name, caller);
    // The log names the key, its owner and its minter; never the token.
    log('INFO', 'key issued', { keyId: record.key_id, kid: record.kid, userId: record.user_id, companyId: record.company_id, caller: caller.arn, expiresAt: record.expires_at, requestId: event.requestContext?.requestId, ...metricFields({ [METRIC.keysMinted]: 1 }) });
    return json(201, issued);
  },
  'GET /keys': async (event, _caller, { registry }) => json(200, await registry.list(parseListQuery(event.queryStringParameters))),
  'GET /keys/{keyId}': async (event, _caller, { registry }) => json(200, await registry.get(parseKeyId(event.pathParameters))),
  'DELETE /keys/{keyId}': async (event, caller, { registry }) => {
    const { key, changed, warning } = await registry.revoke(parseKeyId(event.pathParameters), caller);
    if (changed) log('INFO', 'key revoked', { keyId: key.key_id, userId: key.user_id, companyId: key.company_id, caller: caller.arn, revokedAt: key.revoked_at, requestId: event.requestContext?.requestId, ...metricFields({ [METRIC.keysRevoked]: 1 }) });
    return json(200, warning ? { ...key, warning } : key);
  },
  'POST /keys/{keyId}/roll': async (event, caller, { env, registry }) => {
    const keyId = parseKeyId(event.pathParameters);
    const { graceSeconds } = parseRollRequest(decodeBody(event), env.maxLifetimeSeconds);
    const { issued, warning } = await registry.roll(keyId, graceSeconds, caller);
    // A new key, and the old one revoked (at the end of the grace period): both counted now, when decided.
    log('INFO', 'key rolled', { keyId: issued.key_id, replaces: keyId, graceSeconds, caller: caller.arn, expiresAt: issued.expires_at, requestId: event.requestContext?.requestId, ...metricFields({ [METRIC.keysMinted]: 1, [METRIC.keysRevoked]: 1 }) });
    return json(201, warning ? { ...issued, warning } : issued);
  },
  'POST /revocations': async (event, caller, { registry }) => {
    const { scope, id } = parseRevocationRequest(decodeBody(event));
    const { notBefore, revokedKeys, warning } = await registry.revokeIssuedBefore(scope, id, caller);
    const field = scope === 'user' ? 'user_id' : 'company_id';
    log('INFO', 'keys issued before now revoked', { [field]: id, notBefore, revokedKeys, caller: caller.arn, requestId: event.requestContext?.requestId, ...metricFields({ [METRIC.keysRevoked]: revokedKeys }) });
    return json(200, { [field]: id, not_before: notBefore, ...(warning ? { warning } : {}) });
  },
};

/**
 * Every key route (IAM-authorized): POST /keys mints and records a key; GET /keys lists, GET /keys/{keyId}
 * reads, DELETE /keys/{keyId} revokes, POST /keys/{keyId}/roll replaces, POST /revocations revokes every
 * key a user or company was issued before now. And the client application routes (registry/application-routes.ts):
 * applications, their public keys, plans and subscriptions.
 */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const requestId = event.requestContext?.requestId;
  try {
    const s = init();
    const arn = (event.requestContext as { authorizer?: { iam?: { userArn?: string } } }).authorizer?.iam?.userArn;
    // Defence in depth: IAM already checked the route's policy; this pins callers to the portal's roles.
    if (!isAllowedMinter(arn, s.minters)) {
      log('WARN', 'key route refused for caller', { caller: arn, routeKey: event.routeKey, requestId });
      return json(403, { error: 'forbidden', message: 'This caller may not manage keys.' });
    }
    const route = ROUTES[event.routeKey];
    if (!route) return json(404, { error: 'not_found', message: `No route ${event.routeKey}.` });
    if (!s.enforced && REVOKING.has(event.routeKey)) return json(409, { error: 'conflict', message: NATIVE_MODE_MESSAGE });
    if (!s.enforced && APPLICATION_WRITES.has(event.routeKey)) return json(409, { error: 'conflict', message: NATIVE_APPLICATIONS_MESSAGE });
    return await route(event, { arn: arn ?? '' }, s);
  } catch (err) {
    if (err instanceof InputError) return json(400, { error: 'invalid_request', field: err.field, message: err.message });
    if (err instanceof NotFoundError) return json(404, { error: 'not_found', message: err.message });
    if (err instanceof ConflictError) return json(409, { error: 'conflict', message: err.message, ...(err.state !== undefined ? { state: err.state } : {}) });
    if (err instanceof KeySourceUnavailableError || err instanceof RegistryUnavailableError) {
      const registry = err instanceof RegistryUnavailableError;
      log('ERROR', registry ? 'key registry unavailable' : 'signing key unavailable', { ...errorFields(err), routeKey: event.routeKey, requestId });
      const message = registry ? 'The key registry cannot be reached right now; retry later.' : 'The signing key cannot be read right now; retry later.';
      return json(503, { error: 'unavailable', message }, { 'retry-after': '5' });
    }
    log('ERROR', 'key route failed', { ...errorFields(err), routeKey: event.routeKey, requestId });
    const message = event.routeKey === 'POST /keys' ? 'The key could not be issued.' : 'The request could not be completed.';
    return json(500, { error: 'internal_error', message, requestId });
  }
}
