import { arn, generatedName } from '../names';
import type { Provider } from './types';

/** AWS::DynamoDB::Table and ::GlobalTable: a table in the local DynamoDB with the template's keys and indexes. */
export const tableProvider: Provider = async ({ logicalId, props, services }) => {
  const name = typeof props.TableName === 'string' ? props.TableName : generatedName(services.env.stackName, logicalId, 255);
  await services.dynamodb.createTable(name, props);
  const tableArn = arn(services.env, 'dynamodb', `table/${name}`);
  const attributes: Record<string, unknown> = { Arn: tableArn, TableId: name };
  if ((props.StreamSpecification as { StreamViewType?: string } | undefined)?.StreamViewType) attributes.StreamArn = `${tableArn}/stream/1970-01-01T00:00:00.000`;
  return { physicalId: name, attributes };
};
