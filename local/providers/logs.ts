import { arn, generatedName } from '../names';
import type { Provider } from './types';

/** AWS::Logs::LogGroup: a file of its lines in the state folder. */
export const logGroupProvider: Provider = async ({ logicalId, props, services }) => {
  const name = typeof props.LogGroupName === 'string' ? props.LogGroupName : generatedName(services.env.stackName, logicalId, 512);
  services.logs.group(name);
  return { physicalId: name, attributes: { Arn: arn(services.env, 'logs', `log-group:${name}:*`) } };
};

/** AWS::Logs::SubscriptionFilter with a Lambda destination: the group's lines are delivered to the function. */
export const subscriptionFilterProvider: Provider = async ({ logicalId, props, services }) => {
  const filterName = typeof props.FilterName === 'string' ? props.FilterName : generatedName(services.env.stackName, logicalId, 512);
  const destinationArn = String(props.DestinationArn ?? '');
  if (!services.lambda.find(destinationArn)) {
    services.print(`logs: subscription ${filterName} delivers to ${destinationArn}, which is not a local function: not emulated`);
  } else {
    services.logs.subscribe(String(props.LogGroupName), { filterName, pattern: String(props.FilterPattern ?? ''), destinationArn });
  }
  return { physicalId: filterName, attributes: {} };
};
