import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { contextVariable, type RequestRecord } from '../../local/api/context';
import { manage } from '../../local/api/management';
import { LambdaAuthorizers } from '../../local/api/lambda-authorizer';
import { newApi, type AuthorizerModel } from '../../local/api/model';
import { LocalLambda } from '../../local/functions';

// A real function in a worker: allows "good" tokens and counts its invocations in its own module scope.
const dir = mkdtempSync(path.join(tmpdir(), 'local-authorizer-'));
writeFileSync(
  path.join(dir, 'index.mjs'),
  `let calls = 0;
   export async function handler(event) {
     calls += 1;
     return { isAuthorized: event.identitySource[0] === 'good', context: { calls, who: process.env.WHO } };
   }`,
);
const lambda = new LocalLambda(dir, () => undefined);
lambda.register({ logicalId: 'Auth', label: 'Auth', name: 'auth', arn: 'arn:aws:lambda:us-east-1:123456789012:function:auth', codeDir: dir, handler: 'index.handler', environment: { WHO: 'authorizer-env' }, timeoutSeconds: 5, memoryMb: 128, logGroupName: '/aws/lambda/auth' });
afterAll(async () => {
  await lambda.stop();
  rmSync(dir, { recursive: true, force: true });
});

const api = newApi('Api', 'abc123', 'Api');
api.stages.set('$default', { logicalId: 'Stage', name: '$default', stageVariables: { generation: '1' }, createdDate: '', lastUpdatedDate: '' });
const authorizer: AuthorizerModel = {
  logicalId: 'A', id: 'a1', name: 'A', type: 'REQUEST', simpleResponses: true, payloadFormatVersion: '2.0', ttlSeconds: 300,
  identitySource: ['$request.header.Authorization', '$stageVariables.generation'],
  uri: 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:auth/invocations',
};

function request(authorization?: string) {
  const record = { requestId: 'r', routeKey: '$default', httpMethod: 'GET', path: '/x', stage: '$default', integration: {}, authorizer: { values: {} }, identity: {} } as unknown as RequestRecord;
  const stageVariables = api.stages.get('$default')!.stageVariables;
  const headers: Record<string, string> = authorization ? { authorization } : {};
  return {
    record,
    req: { method: 'GET', rawPath: '/x', rawQueryString: '', headers, body: Buffer.alloc(0) },
    facts: { headers, query: {}, stageVariables, context: (n: string) => contextVariable(record, n) },
    routeArn: 'arn:aws:execute-api:us-east-1:123456789012:abc123/$default/GET/x',
    pathParameters: {},
    stageVariables,
    resource: '/x',
  };
}

describe('LambdaAuthorizers (REQUEST authorizer, simple responses)', () => {
  const authorizers = new LambdaAuthorizers(lambda);

  it('answers 401 without calling the function when an identity source is missing', async () => {
    expect(await authorizers.authorize(authorizer, request())).toEqual({ decision: { allow: false, status: 401, message: 'Unauthorized' }, cached: false });
  });

  it('caches answers by the identity sources, so changing a stage variable asks the function again', async () => {
    const first = await authorizers.authorize(authorizer, request('good'));
    expect(first).toMatchObject({ cached: false, decision: { allow: true, values: { calls: '1', who: 'authorizer-env' } } });
    expect(await authorizers.authorize(authorizer, request('good'))).toMatchObject({ cached: true, decision: { values: { calls: '1' } } });
    expect(await authorizers.authorize(authorizer, request('bad'))).toMatchObject({ cached: false, decision: { allow: false, status: 403 } });

    // What a function does through UpdateStage (PATCH /v2/apis/{apiId}/stages/{stage}).
    expect(manage([api], 'PATCH', '/v2/apis/abc123/stages/%24default', JSON.stringify({ stageVariables: { generation: '2' } }))?.status).toBe(200);
    expect(await authorizers.authorize(authorizer, request('good'))).toMatchObject({ cached: false, decision: { values: { calls: '3' } } });
  });
});
