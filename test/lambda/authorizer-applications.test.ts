/**
 * Client applications through the real functions: applications, keys, plans and subscriptions made with the
 * key-admin function's admin routes (IAM events), tokens signed with jose (a client's own key, or a local
 * OpenID provider's), decided by the authorizer handler (payload 2.0 events) on one local DynamoDB table.
 * DynamoDB calls are counted by a proxy in front of dynalite, JWKS and secret fetches by their local servers.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { SignJWT, type JWTPayload } from 'jose';
import { generateJwk } from '../../lambda/jwt/jwk-set';
import { authorizerEvent, issueEvent } from '../support/events';
import { loadFunctions, localRegistry, type Functions } from '../support/functions';
import { idpKey, LocalIdp, signWith, type IdpKey } from '../support/idp-server';
import { LocalHttpServer } from '../support/local-server';
import { LocalSecretsManager, useLocalAws } from '../support/secrets-server';
import { captureOutput } from '../support/output';
import { keyPair, publicJwk, type ClientKeyPair } from './registry/application-fixture';

/** Forwards every DynamoDB call to dynalite, counting them by operation (X-Amz-Target). */
class CountingDynamoDbProxy extends LocalHttpServer {
  target = '';
  readonly calls: string[] = [];
  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.calls.push(String(req.headers['x-amz-target'] ?? '').replace(/^DynamoDB_\d+\./, ''));
    const upstream = httpRequest(`${this.target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  }
}

const registry = localRegistry();
const sm = new LocalSecretsManager();
const idp = new LocalIdp();
const dynamo = new CountingDynamoDbProxy();
let idpSigning: IdpKey;

beforeAll(async () => {
  useLocalAws('SECRETS_MANAGER', await sm.start());
  // localRegistry's beforeAll ran first and pointed the SDK at dynalite: the proxy goes in between.
  dynamo.target = process.env.AWS_ENDPOINT_URL_DYNAMODB!;
  await Promise.all([dynamo.start(), idp.start()]);
  idpSigning = await idpKey('RS256');
  idp.keys = [idpSigning.jwk];
});
afterAll(() => Promise.all([sm.stop(), idp.stop(), dynamo.stop()]));

/** Everything the functions write to stdout and stderr during a test, and the JSON lines among it. */
const output = captureOutput();
const logLines = output.logLines;
const decisions = () => logLines().filter((l) => l.message === 'token accepted' || l.message === 'token refused');

const REFRESH_SECONDS = 1;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** One refresh interval and a little: every authorizer has read the change feed since. */
const pastRefresh = () => sleep(REFRESH_SECONDS * 1000 + 100);

async function load(env: Record<string, string> = {}) {
  const secrets = await sm.putKeySet(`apps-${Math.random()}`, JSON.stringify({ keys: [await generateJwk('ES256')] }), 'ES256');
  const functions = loadFunctions({
    ...secrets.env,
    KEY_REGISTRY_TABLE: await registry.table(),
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    JWT_ALGORITHM: 'ES256',
    REVOCATION_REFRESH_SECONDS: String(REFRESH_SECONDS),
    CLIENT_TOKEN_MAX_LIFETIME_SECONDS: '300',
    TRUSTED_ISSUERS: JSON.stringify([{ issuer: idp.issuer, audience: 'jwt-api', companyIdClaim: 'org' }]),
    ROUTE_RESTRICTED_PLANS: 'false',
    METRICS_NAMESPACE: 'JwtApi/test',
    ...env,
  });
  return { ...functions, admin: adminOf(functions), secrets };
}

/** An admin route called as API Gateway calls key-admin after IAM authorization; answers status and body. */
function adminOf({ issue }: Functions) {
  return async (routeKey: string, options: { params?: Record<string, string>; body?: unknown } = {}) => {
    const base = issueEvent(options.body ?? '');
    const event = { ...base, routeKey, body: options.body === undefined ? undefined : base.body, pathParameters: options.params, requestContext: { ...base.requestContext, routeKey } };
    const res = await issue(event as APIGatewayProxyEventV2);
    return { status: res.statusCode, body: JSON.parse(res.body ?? 'null') };
  };
}
type Admin = ReturnType<typeof adminOf>;

/** An application with a registered key, subscribed (accepted) to a published plan. */
async function subscribedApp(admin: Admin, options: { clientId?: string; companyId?: string; routes?: string[]; withKey?: boolean } = {}) {
  const clientId = options.clientId ?? 'billing-app';
  const params = { clientId };
  expect(await admin('POST /applications', { body: { name: 'billing', company_id: options.companyId ?? 'acme', client_id: clientId } })).toMatchObject({ status: 201 });
  const pair = keyPair('ES256');
  let kid = '';
  if (options.withKey !== false) {
    const key = await admin('POST /applications/{clientId}/keys', { params, body: { jwk: publicJwk(pair) } });
    expect(key).toMatchObject({ status: 201 });
    kid = key.body.kid;
  }
  const plan = await admin('POST /plans', { body: { name: 'gold', auto_validate: false, ...(options.routes ? { routes: options.routes } : {}) } });
  expect(plan).toMatchObject({ status: 201 });
  const planId: string = plan.body.plan_id;
  expect(await admin('POST /plans/{planId}/publish', { params: { planId } })).toMatchObject({ status: 200 });
  const sub = await admin('POST /applications/{clientId}/subscriptions', { params, body: { plan_id: planId } });
  expect(sub).toMatchObject({ status: 201, body: { status: 'pending' } });
  expect(await admin('POST /subscriptions/{id}/accept', { params: { id: sub.body.subscription_id } })).toMatchObject({ status: 200, body: { status: 'accepted' } });
  return { clientId, pair, kid, planId };
}

/** Every token a test makes: none may reach a log line. */
let tokens: string[] = [];
beforeEach(() => {
  tokens = [];
});
async function clientToken(pair: ClientKeyPair, kid: string, clientId: string, claims: JWTPayload = {}): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ iss: clientId, sub: clientId, aud: 'jwt-api', iat, exp: iat + 300, ...claims }).setProtectedHeader({ alg: pair.alg, kid, typ: 'JWT' }).sign(pair.privateKey);
  tokens.push(token);
  return token;
}
async function idpToken(clientId: string, claims: JWTPayload = {}): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const token = await signWith(idpSigning, { iss: idp.issuer, aud: 'jwt-api', sub: 'user-7', client_id: clientId, iat, exp: iat + 3600, jti: 'idp-tok-1', ...claims });
  tokens.push(token);
  return token;
}

/**
 * A request as API Gateway hands it to the authorizer: on a named stage `rawPath` starts with the stage's
 * name; the backend routes are proxies, so the route key says nothing of the path.
 */
function requestFor(token: string, options: { method?: string; path?: string; stage?: string; routeKey?: string } = {}): APIGatewayRequestAuthorizerEventV2 {
  const base = authorizerEvent(`Bearer ${token}`);
  const method = options.method ?? 'GET';
  const stage = options.stage ?? '$default';
  const rawPath = stage === '$default' ? (options.path ?? '/orders/42') : `/${stage}${options.path ?? '/orders/42'}`;
  const routeKey = options.routeKey ?? 'ANY /{proxy+}';
  return { ...base, routeKey, rawPath, requestContext: { ...base.requestContext, routeKey, stage, http: { ...base.requestContext.http, method, path: rawPath } } };
}

/** What the authorizer answered for the last request, and the reason it logged. */
function lastDecision() {
  const all = decisions();
  return all[all.length - 1];
}

describe('client-signed tokens through the authorizer', () => {
  it('allows a subscribed application’s token with its identity, reading DynamoDB only on the first request and no own-key secret', async () => {
    const { authorize, admin, secrets } = await load();
    const app = await subscribedApp(admin);
    const token = await clientToken(app.pair, app.kid, app.clientId, { jti: 'call-1' });
    const before = dynamo.calls.length;
    expect(await authorize(requestFor(token))).toEqual({
      isAuthorized: true,
      context: { userId: app.clientId, companyId: 'acme', keyId: 'call-1', clientId: app.clientId, planId: app.planId },
    });
    // Cold: the change feed, then the key, the application, its accepted subscriptions and the plan.
    expect(dynamo.calls.slice(before).sort()).toEqual(['GetItem', 'GetItem', 'GetItem', 'Query', 'Query']);
    const warm = dynamo.calls.length;
    for (let i = 0; i < 10; i++) expect(await authorize(requestFor(token))).toMatchObject({ isAuthorized: true });
    expect(dynamo.calls.length).toBe(warm);
    // A client token never needs this stack's keys.
    expect(sm.reads[secrets.publicArn] ?? 0).toBe(0);
    expect(lastDecision()).toMatchObject({ message: 'token accepted', kind: 'client', Outcome: 'allow', Reason: 'ok' });
  });

  it('refuses a suspended application’s tokens after one refresh interval, and allows them again after resume', async () => {
    const { authorize, admin } = await load();
    const app = await subscribedApp(admin);
    const token = await clientToken(app.pair, app.kid, app.clientId);
    expect(await authorize(requestFor(token))).toMatchObject({ isAuthorized: true });
    expect(await admin('POST /applications/{clientId}/suspend', { params: { clientId: app.clientId } })).toMatchObject({ status: 200, body: { status: 'suspended' } });
    await pastRefresh();
    expect(await authorize(requestFor(token))).toEqual({ isAuthorized: false });
    expect(lastDecision()).toMatchObject({ message: 'token refused', kind: 'client', reason: 'application_suspended', Outcome: 'deny', Reason: 'application_suspended' });
    // The refresh is one feed query per interval, not one per request.
    const feedQueries = dynamo.calls.length;
    for (let i = 0; i < 5; i++) expect(await authorize(requestFor(token))).toEqual({ isAuthorized: false });
    expect(dynamo.calls.length).toBe(feedQueries);
    expect(await admin('POST /applications/{clientId}/resume', { params: { clientId: app.clientId } })).toMatchObject({ status: 200 });
    await pastRefresh();
    expect(await authorize(requestFor(token))).toMatchObject({ isAuthorized: true });
  });

  it('refuses a removed key and a closed subscription with their reason codes', async () => {
    const { authorize, admin } = await load();
    const app = await subscribedApp(admin);
    const second = keyPair('RS256');
    const secondKid = (await admin('POST /applications/{clientId}/keys', { params: { clientId: app.clientId }, body: { jwk: publicJwk(second) } })).body.kid;
    expect(await admin('DELETE /applications/{clientId}/keys/{kid}', { params: { clientId: app.clientId, kid: app.kid } })).toMatchObject({ status: 200 });
    await pastRefresh();
    expect(await authorize(requestFor(await clientToken(app.pair, app.kid, app.clientId)))).toEqual({ isAuthorized: false });
    expect(lastDecision()).toMatchObject({ reason: 'unknown_kid' });
    expect(await authorize(requestFor(await clientToken(second, secondKid, app.clientId)))).toMatchObject({ isAuthorized: true });
    const subscriptionId = (await admin('GET /applications/{clientId}', { params: { clientId: app.clientId } })).body.subscriptions[0].subscription_id;
    expect(await admin('POST /subscriptions/{id}/close', { params: { id: subscriptionId } })).toMatchObject({ status: 200 });
    await pastRefresh();
    expect(await authorize(requestFor(await clientToken(second, secondKid, app.clientId)))).toEqual({ isAuthorized: false });
    expect(lastDecision()).toMatchObject({ reason: 'no_subscription', detail: app.clientId });
  });

  it('without ROUTE_RESTRICTED_PLANS, a plan without routes allows whatever route key the request has', async () => {
    const { authorize, admin } = await load();
    const app = await subscribedApp(admin);
    const token = await clientToken(app.pair, app.kid, app.clientId);
    for (const routeKey of ['ANY /{proxy+}', '$default', 'DELETE /orders/{id}']) {
      expect(await authorize(requestFor(token, { routeKey, method: 'DELETE' }))).toMatchObject({ isAuthorized: true });
    }
    // Plans cannot restrict routes on such a deployment (the cache key holds no route).
    expect(await admin('POST /plans', { body: { name: 'narrow', routes: ['GET /orders'] } })).toMatchObject({ status: 409 });
  });
});

describe('route-restricted plans (ROUTE_RESTRICTED_PLANS=true): the request’s method and path decide', () => {
  it('matches method and path without the stage’s name, and refuses other methods, other paths and unsafe paths', async () => {
    const { authorize, admin } = await load({ ROUTE_RESTRICTED_PLANS: 'true' });
    const app = await subscribedApp(admin, { routes: ['GET /orders', 'GET /orders/*'] });
    const token = await clientToken(app.pair, app.kid, app.clientId);
    const verdict = async (method: string, path: string, stage = 'prod') => {
      const answer = await authorize(requestFor(token, { method, path, stage }));
      return answer.isAuthorized ? 'allow' : (lastDecision().reason as string);
    };
    expect({
      'GET /prod/orders/42': await verdict('GET', '/orders/42'),
      'GET /prod/orders': await verdict('GET', '/orders'),
      'GET /orders/42 ($default)': await verdict('GET', '/orders/42', '$default'),
      'DELETE /prod/orders/42': await verdict('DELETE', '/orders/42'),
      'GET /prod/orders/42/items': await verdict('GET', '/orders/42/items'),
      'GET /prod/admin': await verdict('GET', '/admin'),
      // The stage's name is stripped only on that stage: on $default it is a path segment like any other.
      'GET /prod/orders/42 ($default)': await verdict('GET', '/prod/orders/42', '$default'),
    }).toEqual({
      'GET /prod/orders/42': 'allow',
      'GET /prod/orders': 'allow',
      'GET /orders/42 ($default)': 'allow',
      'DELETE /prod/orders/42': 'route_not_allowed',
      'GET /prod/orders/42/items': 'route_not_allowed',
      'GET /prod/admin': 'route_not_allowed',
      'GET /prod/orders/42 ($default)': 'route_not_allowed',
    });
    // Paths a backend could read as another one match no route.
    for (const path of ['/orders/../admin', '/orders/%2E%2E/admin', '/orders/a%2Fb', '/orders%2F42', '/orders/42%252F', '/orders//42', '/orders/a%5Cb']) {
      expect([path, await verdict('GET', path)]).toEqual([path, 'route_not_allowed']);
    }
  });

  it('takes a named stage’s root as "/", not as a path named like the stage', async () => {
    const { authorize, admin } = await load({ ROUTE_RESTRICTED_PLANS: 'true' });
    const root = await subscribedApp(admin, { clientId: 'root-app', routes: ['GET /'] });
    const named = await subscribedApp(admin, { clientId: 'prod-app', routes: ['GET /prod'] });
    const rootToken = await clientToken(root.pair, root.kid, root.clientId);
    const namedToken = await clientToken(named.pair, named.kid, named.clientId);
    const stageRoot = (token: string) => ({ ...requestFor(token, { stage: 'prod', path: '' }) });
    expect(stageRoot(rootToken).rawPath).toBe('/prod');
    expect(await authorize(stageRoot(rootToken))).toMatchObject({ isAuthorized: true });
    expect(await authorize(stageRoot(namedToken))).toEqual({ isAuthorized: false });
    // ...while /prod/prod is the path /prod.
    expect(await authorize(requestFor(namedToken, { stage: 'prod', path: '/prod' }))).toMatchObject({ isAuthorized: true });
  });

  it('refuses an unsafe path also to an application whose plan restricts no route', async () => {
    const { authorize, admin } = await load({ ROUTE_RESTRICTED_PLANS: 'true' });
    const app = await subscribedApp(admin);
    const token = await clientToken(app.pair, app.kid, app.clientId);
    expect(await authorize(requestFor(token, { path: '/orders/42', stage: 'prod' }))).toMatchObject({ isAuthorized: true });
    expect(await authorize(requestFor(token, { path: '/orders/../admin', stage: 'prod' }))).toEqual({ isAuthorized: false });
    expect(lastDecision()).toMatchObject({ message: 'token refused', Outcome: 'deny' });
  });
});

describe('outside identity provider tokens through the authorizer', () => {
  it('maps the token to its application by the client id claim, with the company from the token or the application', async () => {
    const { authorize, admin, secrets } = await load();
    const app = await subscribedApp(admin, { clientId: 'idp-client-1', withKey: false });
    const before = { discovery: idp.count('/.well-known/openid-configuration'), jwks: idp.count('/jwks') };
    expect(await authorize(requestFor(await idpToken(app.clientId, { org: 'globex' })))).toEqual({
      isAuthorized: true,
      context: { userId: 'user-7', companyId: 'globex', keyId: 'idp-tok-1', clientId: app.clientId, planId: app.planId },
    });
    expect(await authorize(requestFor(await idpToken(app.clientId)))).toEqual({
      isAuthorized: true,
      context: { userId: 'user-7', companyId: 'acme', keyId: 'idp-tok-1', clientId: app.clientId, planId: app.planId },
    });
    expect(lastDecision()).toMatchObject({ message: 'token accepted', kind: 'outside', Reason: 'ok' });
    // Discovery and the JWK Set once per container, whatever the number of tokens.
    expect({ discovery: idp.count('/.well-known/openid-configuration') - before.discovery, jwks: idp.count('/jwks') - before.jwks }).toEqual({ discovery: 1, jwks: 1 });
    expect(sm.reads[secrets.publicArn] ?? 0).toBe(0);

    expect(await authorize(requestFor(await idpToken('nobody')))).toEqual({ isAuthorized: false });
    expect(lastDecision()).toMatchObject({ kind: 'outside', reason: 'unknown_application', detail: 'nobody' });
    expect(await admin('POST /applications/{clientId}/suspend', { params: { clientId: app.clientId } })).toMatchObject({ status: 200 });
    await pastRefresh();
    expect(await authorize(requestFor(await idpToken(app.clientId)))).toEqual({ isAuthorized: false });
    expect(lastDecision()).toMatchObject({ kind: 'outside', reason: 'application_suspended' });
  });

  it('refuses a token for the IdP signed by a key its JWK Set does not hold', async () => {
    const { authorize, admin } = await load();
    const app = await subscribedApp(admin, { clientId: 'idp-client-2', withKey: false });
    const stranger = await idpKey('RS256');
    const iat = Math.floor(Date.now() / 1000);
    const forged = await signWith(stranger, { iss: idp.issuer, aud: 'jwt-api', sub: 'user-7', client_id: app.clientId, iat, exp: iat + 600 });
    tokens.push(forged);
    expect(await authorize(requestFor(forged))).toEqual({ isAuthorized: false });
    expect(lastDecision()).toMatchObject({ kind: 'outside', reason: 'unknown_kid' });
  });
});

describe('decision logs', () => {
  it('never hold a token, and every decision carries a reason code', async () => {
    const { authorize, admin, issue } = await load({ ROUTE_RESTRICTED_PLANS: 'true' });
    const app = await subscribedApp(admin, { routes: ['GET /orders/*'] });
    const idpApp = await subscribedApp(admin, { clientId: 'idp-client-3', withKey: false });
    const minted = JSON.parse((await issue(issueEvent({ user_id: 'u-1', company_id: 'c-1' }))).body as string).apikey as string;
    tokens.push(minted);
    const cases: [APIGatewayRequestAuthorizerEventV2, boolean][] = [
      [requestFor(await clientToken(app.pair, app.kid, app.clientId)), true],
      [requestFor(await clientToken(app.pair, app.kid, app.clientId), { method: 'POST' }), false],
      [requestFor(await clientToken(app.pair, app.kid, app.clientId, { aud: 'elsewhere' })), false],
      // The application's key, another client id: the key vouches for its own application only.
      [requestFor(await clientToken(app.pair, app.kid, app.clientId, { iss: 'unregistered', sub: 'unregistered' })), false],
      [requestFor(await idpToken(idpApp.clientId)), true],
      [requestFor(await idpToken('nobody')), false],
      [requestFor(minted), true],
      [requestFor(`${minted.slice(0, -4)}AAAA`), false],
      [requestFor('not-a-token'), false],
    ];
    tokens.push(`${minted.slice(0, -4)}AAAA`);
    for (const [event, allowed] of cases) expect((await authorize(event)).isAuthorized).toBe(allowed);

    const logged = decisions();
    expect(logged).toHaveLength(cases.length);
    for (const line of logged) {
      expect(line).toMatchObject({ Outcome: expect.stringMatching(/^(allow|deny)$/), Reason: expect.stringMatching(/^[a-z_]+$/) });
      if (line.message === 'token refused') expect(line.Reason).toBe(line.reason);
    }
    expect(logged.map((l) => l.Reason)).toEqual(['ok', 'route_not_allowed', 'wrong_audience', 'wrong_issuer', 'ok', 'unknown_application', 'ok', 'bad_signature', 'malformed']);
    const everything = output.text();
    for (const token of tokens) {
      expect(everything).not.toContain(token);
      // Not even a token's signature or payload alone.
      for (const part of token.split('.').slice(1)) expect(everything).not.toContain(part);
    }
  });
});
