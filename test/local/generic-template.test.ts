import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readTemplateFile } from '../../local/assembly';
import { startLocal, type RunningStack } from '../../local/runtime';
import type { CfnTemplate } from '../../local/template';
import { ROOT } from './server';

/** A template that is not this project's: nothing in the runtime knows its routes, names or functions. */
const dir = mkdtempSync(path.join(tmpdir(), 'local-generic-'));
let backend: Server;
const backendSeen: string[] = [];
let running: RunningStack;
const printed: string[] = [];

function template(backendUrl: string): CfnTemplate {
  const api = { Ref: 'Api' };
  const fn = (id: string) => ({ Type: 'AWS::ApiGatewayV2::Integration', Properties: { ApiId: api, IntegrationType: 'AWS_PROXY', IntegrationUri: { 'Fn::GetAtt': [id, 'Arn'] }, PayloadFormatVersion: '2.0' } });
  const route = (key: string, integration: string) => ({ Type: 'AWS::ApiGatewayV2::Route', Properties: { ApiId: api, RouteKey: key, AuthorizationType: 'NONE', Target: { 'Fn::Join': ['', ['integrations/', { Ref: integration }]] } } });
  return {
    Resources: {
      Api: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'Shop', ProtocolType: 'HTTP' } },
      Logs: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: 'shop-access' } },
      Stage: {
        Type: 'AWS::ApiGatewayV2::Stage',
        Properties: { ApiId: api, StageName: 'prod', StageVariables: { color: 'blue' }, AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': ['Logs', 'Arn'] }, Format: '$context.routeKey $context.status $context.integrationErrorMessage' } },
      },
      Items: {
        Type: 'AWS::Lambda::Function',
        Metadata: { 'aws:asset:path': 'asset.items' },
        Properties: {
          Handler: 'app.main',
          Runtime: 'nodejs22.x',
          Timeout: 5,
          Environment: { Variables: { SELF: { 'Fn::Join': ['', ['https://', api, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/prod']] }, TABLE: { Ref: 'Table' }, QUEUE: { Ref: 'Queue' } } },
        },
      },
      Table: { Type: 'AWS::DynamoDB::Table', Properties: { KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' } },
      ItemsIntegration: fn('Items'),
      SlowIntegration: { ...fn('Items'), Properties: { ...fn('Items').Properties, TimeoutInMillis: 100 } },
      ProxyIntegration: { Type: 'AWS::ApiGatewayV2::Integration', Properties: { ApiId: api, IntegrationType: 'HTTP_PROXY', IntegrationMethod: 'ANY', IntegrationUri: `${backendUrl}/base/{proxy}`, PayloadFormatVersion: '1.0' } },
      ItemRoute: route('GET /items/{id}', 'ItemsIntegration'),
      SlowRoute: route('GET /slow', 'SlowIntegration'),
      ProxyRoute: route('ANY /proxy/{proxy+}', 'ProxyIntegration'),
      JobsRoute: route('POST /jobs', 'ItemsIntegration'),
      Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 10, RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['DeadLetters', 'Arn'] }, maxReceiveCount: 3 } } },
      DeadLetters: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'shop-dead-letters' } },
      Worker: { Type: 'AWS::Lambda::Function', Metadata: { 'aws:asset:path': 'asset.worker' }, Properties: { Handler: 'worker.main', Runtime: 'nodejs22.x', Timeout: 5 } },
      WorkerSource: { Type: 'AWS::Lambda::EventSourceMapping', Properties: { EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] }, FunctionName: { Ref: 'Worker' }, BatchSize: 5 } },
    },
  };
}

beforeAll(async () => {
  backend = createServer((req, res) => {
    backendSeen.push(`${req.method} ${req.url} ${req.headers['x-forwarded-for']}`);
    res.writeHead(418, { 'content-type': 'text/plain', 'x-backend': 'yes' }).end('teapot');
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  mkdirSync(path.join(dir, 'asset.items'));
  writeFileSync(
    path.join(dir, 'asset.items', 'app.mjs'),
    `import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
     export async function main(event) {
       if (event.rawPath.endsWith('/slow')) await new Promise((r) => setTimeout(r, 1000));
       if (event.rawPath.endsWith('/jobs')) {
         const sent = await new SQSClient({}).send(new SendMessageCommand({ QueueUrl: process.env.QUEUE, MessageBody: event.body }));
         return { statusCode: 202, body: JSON.stringify({ messageId: sent.MessageId, queue: process.env.QUEUE }) };
       }
       return { statusCode: 200, headers: { 'x-fn': 'items' }, body: JSON.stringify({ event, self: process.env.SELF, table: process.env.TABLE }) };
     }`,
  );
  mkdirSync(path.join(dir, 'asset.worker'));
  writeFileSync(path.join(dir, 'asset.worker', 'worker.mjs'), 'export async function main(event) { for (const r of event.Records) console.log(JSON.stringify(r)); }');
  const file = path.join(dir, 'Shop.template.json');
  writeFileSync(file, JSON.stringify(template(`http://127.0.0.1:${(backend.address() as AddressInfo).port}`)));
  running = await startLocal({ projectRoot: ROOT, stack: readTemplateFile(file), port: 0, stateDir: path.join(dir, 'state'), print: (l) => printed.push(l), printEvent: () => undefined });
});
afterAll(async () => {
  await running?.stop();
  await new Promise((r) => backend.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('startLocal on a template that is not this project', () => {
  it('serves a named stage with path parameters, stage variables and the payload 2.0 event', async () => {
    const res = await fetch(`${running.url}/prod/items/42?x=1&x=2`, { headers: { cookie: 'a=1; b=2' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-fn')).toBe('items');
    const { event, self, table } = (await res.json()) as { event: unknown; self: string; table: string };
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /items/{id}',
      rawPath: '/prod/items/42',
      rawQueryString: 'x=1&x=2',
      cookies: ['a=1', 'b=2'],
      queryStringParameters: { x: '1,2' },
      pathParameters: { id: '42' },
      stageVariables: { color: 'blue' },
      requestContext: { stage: 'prod', routeKey: 'GET /items/{id}', http: { method: 'GET', path: '/prod/items/42' } },
    });
    expect(self).toBe(`${running.url}/prod`);
    expect(table).toMatch(/^Shop-Table-/);
    expect((await fetch(`${running.url}/items/42`)).status).toBe(404);
  });

  it('forwards HTTP_PROXY routes with the greedy path filled in', async () => {
    const res = await fetch(`${running.url}/prod/proxy/a/b?q=1`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(418);
    expect(await res.text()).toBe('teapot');
    expect(backendSeen).toEqual(['POST /base/a/b?q=1 127.0.0.1']);
  });

  it("answers 503 when a function outlasts its integration's timeout, and logs it in the stage's format", async () => {
    const res = await fetch(`${running.url}/prod/slow`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ message: 'Service Unavailable' });
    const logs = path.join(dir, 'state', 'logs');
    const lines = readdirSync(logs).flatMap((f) => readFileSync(path.join(logs, f), 'utf8').trim().split('\n'));
    expect(lines).toEqual(expect.arrayContaining(['GET /items/{id} 200 -', 'GET /slow 503 The integration timed out after 100 ms']));
  });

  it("queues a function's message at its queue's Ref URL, and the event source mapping hands it to the worker", async () => {
    const res = await fetch(`${running.url}/prod/jobs`, { method: 'POST', body: 'job-7' });
    expect(res.status).toBe(202);
    const { messageId, queue } = (await res.json()) as { messageId: string; queue: string };
    expect(queue).toMatch(new RegExp(`^${running.awsEndpointUrl}/123456789012/Shop-Queue-`));
    const deadline = Date.now() + 5000;
    let line: string | undefined;
    while (!(line = printed.find((l) => l.startsWith('  [Worker] {') && l.includes(messageId))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(JSON.parse(line!.slice('  [Worker] '.length))).toMatchObject({ messageId, body: 'job-7', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:' + queue.split('/').pop(), awsRegion: 'us-east-1' });
    expect(running.sqs.byUrl(queue).settings.redrive).toEqual({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:123456789012:shop-dead-letters', maxReceiveCount: 3 });
  });

  it('lists what it does not emulate', () => {
    expect(running.notEmulated).toEqual([]);
    expect(running.banner).toEqual(expect.arrayContaining(['Event sources:', '  Queue → Worker (batch 5)']));
  });
});
