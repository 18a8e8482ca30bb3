import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { synthesize } from '../../local/synth';
import type { CfnTemplate } from '../../local/template';
import { call, freePort, ROOT, startServer, type StartedServer } from './server';

/**
 * The local server does what the template says, not what this project's routes are known to be: the
 * same assembly, changed only in its template JSON, serves differently.
 */
describe('npm start is wired by the template', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'npm-start-wiring-'));
  const assembly = path.join(work, 'cdk.out');
  const state = path.join(work, 'state');
  let template: CfnTemplate;
  let port: number;
  let server: StartedServer | undefined;
  let key: string;

  const routeKeyed = (t: CfnTemplate, routeKey: string) => Object.entries(t.Resources).find(([, r]) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties?.RouteKey === routeKey);
  const dynamo = (s: StartedServer) => {
    const endpoint = /DynamoDB (http:\/\/127\.0\.0\.1:\d+)/.exec(s.lines.find((l) => l.startsWith('Local services:'))!)![1];
    return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  };
  const requestLines = (s: StartedServer, what: string) => s.waitForCount((l) => l.startsWith(what), 2);

  beforeAll(async () => {
    await synthesize(ROOT, assembly, ['-c', 'authorizer=lambda']);
    template = JSON.parse(readFileSync(path.join(assembly, 'JwtApi.template.json'), 'utf8'));
    port = await freePort();
  }, 120_000);

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('serves the synthesized template as it is', async () => {
    server = await startServer(['--assembly', assembly, '--state', state, '--port', String(port)]);
    const { url, adminToken } = server;
    const minted = await call(`${url}/keys`, { method: 'POST', headers: { 'x-admin-token': adminToken, 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'u-1', company_id: 'c-1' }) });
    expect(minted.status).toBe(201);
    key = minted.body.apikey as string;

    for (let i = 0; i < 2; i++) expect((await call(`${url}/orders`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    // AuthorizerResultTtlInSeconds 300: the second call is answered from the authorizer cache.
    expect(await requestLines(server, 'GET /orders → 200')).toEqual([expect.not.stringContaining('(cached)'), expect.stringContaining('(cached)')]);
    expect((await call(`${url}/.well-known/jwks.json`)).status).toBe(200);
    expect((await call(`${url}/v2/jwks.json`)).status).toBe(401);
    await expect(dynamo(server).send(new DescribeTableCommand({ TableName: 'LocalWiringTable' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  }, 60_000);

  it('follows a changed template: a route removed, another renamed, the authorizer re-keyed without cache, a table added, a new log format', async () => {
    const changed: CfnTemplate = JSON.parse(JSON.stringify(template));
    delete changed.Resources[routeKeyed(changed, 'POST /keys')![0]];
    routeKeyed(changed, 'GET /.well-known/jwks.json')![1].Properties!.RouteKey = 'GET /v2/jwks.json';
    const authorizer = Object.values(changed.Resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Authorizer')!;
    authorizer.Properties!.IdentitySource = ['$request.header.X-Api-Key'];
    authorizer.Properties!.AuthorizerResultTtlInSeconds = 0;
    changed.Resources.LocalWiringTable = {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        TableName: 'LocalWiringTable',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'owner', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [{ IndexName: 'byOwner', KeySchema: [{ AttributeName: 'owner', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } }],
      },
    };
    const stage = Object.values(changed.Resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Stage')!;
    (stage.Properties!.AccessLogSettings as { Format: string }).Format = '{"rid":"$context.requestId","route":"$context.routeKey","who":"$context.authorizer.userId","status":"$context.status"}';
    const file = path.join(assembly, 'Changed.template.json');
    writeFileSync(file, JSON.stringify(changed));

    // Same state folder and port: the signing key (and so the key minted above) carries over.
    server = await startServer(['--template', file, '--state', state, '--port', String(port)]);
    const { url, adminToken } = server;

    // POST /keys is gone: the request falls to $default, whose authorizer finds no X-Api-Key.
    expect((await call(`${url}/keys`, { method: 'POST', headers: { 'x-admin-token': adminToken }, body: '{}' })).status).toBe(401);
    expect((await call(`${url}/orders`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
    for (let i = 0; i < 2; i++) {
      const ok = await call(`${url}/orders`, { headers: { 'x-api-key': `Bearer ${key}` } });
      expect(ok).toMatchObject({ status: 200, body: { identity: { userId: 'u-1', companyId: 'c-1' } } });
    }
    // TTL 0: the authorizer runs for every request.
    expect(await requestLines(server, 'GET /orders → 200')).toEqual([expect.not.stringContaining('(cached)'), expect.not.stringContaining('(cached)')]);
    expect((await call(`${url}/v2/jwks.json`)).body.keys).toBeDefined();
    expect((await call(`${url}/.well-known/jwks.json`)).status).toBe(401);

    const table = await dynamo(server).send(new DescribeTableCommand({ TableName: 'LocalWiringTable' }));
    expect(table.Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(table.Table?.GlobalSecondaryIndexes?.[0].IndexName).toBe('byOwner');

    const logs = path.join(state, 'logs');
    const lines = readdirSync(logs).flatMap((f) => readFileSync(path.join(logs, f), 'utf8').trim().split('\n'));
    expect(lines.map((l) => JSON.parse(l))).toEqual(expect.arrayContaining([{ rid: expect.any(String), route: 'GET /v2/jwks.json', who: '-', status: '200' }, { rid: expect.any(String), route: '$default', who: 'u-1', status: '200' }]));
  }, 60_000);
});
