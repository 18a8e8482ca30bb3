import { randomUUID } from 'node:crypto';
import { arn } from '../names';
import type { Provider } from './types';

interface Recorded {
  properties: Record<string, unknown>;
  physicalId: string;
  data: Record<string, unknown>;
}

const FILE = 'custom-resources.json';
const POLL_MS = 1000;
const MAX_POLLS = 120;

/**
 * Custom resources backed by the CDK Provider framework: the framework function's environment names the
 * user's onEvent (and isComplete) function, which is invoked with the CloudFormation event. As with a
 * deployed stack, a resource whose properties did not change since the last start is not called again;
 * changed properties send an Update with the old ones.
 */
export const customResourceProvider: Provider = async ({ logicalId, resource, props, services }) => {
  const { env, lambda, state } = services;
  const serviceToken = String(props.ServiceToken ?? '');
  const framework = lambda.find(serviceToken);
  const onEvent = framework?.environment.USER_ON_EVENT_FUNCTION_ARN;
  if (!onEvent) {
    services.print(`custom resource ${logicalId} (${resource.Type}) is not backed by the CDK Provider framework: not emulated`);
    return { physicalId: logicalId, attributes: {} };
  }
  const records = state.readJson<Record<string, Record<string, Recorded>>>(FILE) ?? {};
  const mine = (records[env.stackName] ??= {});
  const previous = mine[logicalId];
  if (previous && JSON.stringify(previous.properties) === JSON.stringify(props)) {
    return { physicalId: previous.physicalId, attributes: previous.data };
  }

  const event: Record<string, unknown> = {
    RequestType: previous ? 'Update' : 'Create',
    ServiceToken: serviceToken,
    ResponseURL: 'http://127.0.0.1/not-used-by-the-provider-framework',
    StackId: arn(env, 'cloudformation', `stack/${env.stackName}/local`),
    RequestId: randomUUID(),
    LogicalResourceId: logicalId,
    ResourceType: resource.Type,
    ResourceProperties: props,
    ...(previous ? { PhysicalResourceId: previous.physicalId, OldResourceProperties: previous.properties } : {}),
  };
  const fail = (what: string) => new Error(`Custom resource ${logicalId} (${resource.Type}) failed: ${what}`);
  const result = await lambda.invoke(onEvent, event);
  if (!result.ok) throw fail(`${result.error.errorType}: ${result.error.errorMessage}`);
  const answer = (result.payload ?? {}) as { PhysicalResourceId?: string; Data?: Record<string, unknown> };
  let physicalId = answer.PhysicalResourceId ?? (previous?.physicalId as string | undefined) ?? String(event.RequestId);
  let data = answer.Data ?? {};

  const isComplete = framework.environment.USER_IS_COMPLETE_FUNCTION_ARN;
  for (let i = 0; isComplete && i <= MAX_POLLS; i++) {
    if (i === MAX_POLLS) throw fail('isComplete never answered IsComplete: true');
    const poll = await lambda.invoke(isComplete, { ...event, PhysicalResourceId: physicalId, Data: data });
    if (!poll.ok) throw fail(`isComplete: ${poll.error.errorType}: ${poll.error.errorMessage}`);
    const p = (poll.payload ?? {}) as { IsComplete?: boolean; Data?: Record<string, unknown>; PhysicalResourceId?: string };
    if (p.IsComplete) {
      data = { ...data, ...(p.Data ?? {}) };
      physicalId = p.PhysicalResourceId ?? physicalId;
      break;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }

  mine[logicalId] = { properties: props, physicalId, data };
  state.writeJson(FILE, records);
  return { physicalId, attributes: data };
};
