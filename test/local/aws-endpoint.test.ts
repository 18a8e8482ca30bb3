import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ApiGatewayV2Client, GetStageCommand, UpdateStageCommand } from '@aws-sdk/client-apigatewayv2';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { newApi } from '../../local/api/model';
import { LocalAwsEndpoint } from '../../local/aws-endpoint';
import { LocalLambda } from '../../local/functions';
import { LocalSecretsManager } from '../../local/secrets-manager';
import { StateFolder } from '../../local/state';

const dir = mkdtempSync(path.join(tmpdir(), 'local-aws-'));
writeFileSync(path.join(dir, 'index.mjs'), 'export const handler = async (event) => ({ echoed: event, region: process.env.AWS_REGION });');
const lambda = new LocalLambda(dir, () => undefined);
lambda.register({ logicalId: 'Echo', label: 'Echo', name: 'echo', arn: 'arn:aws:lambda:eu-west-1:123456789012:function:echo', codeDir: dir, handler: 'index.handler', environment: { AWS_REGION: 'eu-west-1' }, timeoutSeconds: 5, memoryMb: 128, logGroupName: '/aws/lambda/echo' });
const api = newApi('Api', 'abc123', 'Api');
api.stages.set('$default', { logicalId: 'Stage', name: '$default', stageVariables: { a: '1' }, createdDate: '', lastUpdatedDate: '' });
const printed: string[] = [];
const endpoint = new LocalAwsEndpoint({ secrets: new LocalSecretsManager(new StateFolder(dir), 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:'), lambda, apis: () => [api], accessKeyId: 'AKIALOCALTEST', print: (l) => printed.push(l) });
const config = () => ({ endpoint: endpoint.url, region: 'eu-west-1', credentials: { accessKeyId: 'AKIALOCALTEST', secretAccessKey: 'x' }, maxAttempts: 1 });

beforeAll(() => endpoint.start());
afterAll(async () => {
  await endpoint.stop();
  await lambda.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the local AWS endpoint, through the real SDK clients', () => {
  it('updates stage variables (UpdateStage on $default) and reads them back', async () => {
    const client = new ApiGatewayV2Client(config());
    const updated = await client.send(new UpdateStageCommand({ ApiId: 'abc123', StageName: '$default', StageVariables: { b: '2' } }));
    expect(updated.StageVariables).toEqual({ a: '1', b: '2' });
    expect((await client.send(new GetStageCommand({ ApiId: 'abc123', StageName: '$default' }))).StageVariables).toEqual({ a: '1', b: '2' });
    expect(api.stages.get('$default')!.stageVariables.b).toBe('2');
    client.destroy();
  });

  it('invokes a local function (Lambda Invoke)', async () => {
    const client = new LambdaClient(config());
    const out = await client.send(new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from(JSON.stringify({ n: 1 })) }));
    expect(JSON.parse(Buffer.from(out.Payload!).toString())).toEqual({ echoed: { n: 1 }, region: 'eu-west-1' });
    client.destroy();
  });

  it('answers a service it does not emulate with an error that says so', async () => {
    const client = new CloudFormationClient(config());
    await expect(client.send(new DescribeStacksCommand({}))).rejects.toThrow();
    expect(printed.join('\n')).toMatch(/cloudformation .* is not emulated locally/);
    client.destroy();
  });
});
