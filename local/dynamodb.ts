import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

type Props = Record<string, unknown>;

/** CreateTable input from an AWS::DynamoDB::Table or AWS::DynamoDB::GlobalTable's properties. */
export function createTableInput(tableName: string, props: Props): CreateTableCommandInput {
  const payPerRequest = props.BillingMode === 'PAY_PER_REQUEST' || (props.BillingMode === undefined && props.Replicas !== undefined);
  // A GlobalTable states capacity per replica; a local table needs one number.
  const throughput = (p: Props | undefined) => (payPerRequest ? undefined : ((p?.ProvisionedThroughput as Props | undefined) ?? { ReadCapacityUnits: 5, WriteCapacityUnits: 5 }));
  const gsis = props.GlobalSecondaryIndexes as Props[] | undefined;
  const lsis = props.LocalSecondaryIndexes as Props[] | undefined;
  const stream = props.StreamSpecification as { StreamViewType?: string } | undefined;
  return {
    TableName: tableName,
    KeySchema: props.KeySchema as CreateTableCommandInput['KeySchema'],
    AttributeDefinitions: props.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    BillingMode: payPerRequest ? 'PAY_PER_REQUEST' : 'PROVISIONED',
    ProvisionedThroughput: throughput(props) as CreateTableCommandInput['ProvisionedThroughput'],
    GlobalSecondaryIndexes: gsis?.map((g) => ({ IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection, ProvisionedThroughput: throughput(g) })) as CreateTableCommandInput['GlobalSecondaryIndexes'],
    LocalSecondaryIndexes: lsis?.map((l) => ({ IndexName: l.IndexName, KeySchema: l.KeySchema, Projection: l.Projection })) as CreateTableCommandInput['LocalSecondaryIndexes'],
    StreamSpecification: stream?.StreamViewType ? { StreamEnabled: true, StreamViewType: stream.StreamViewType as 'NEW_IMAGE' } : undefined,
  };
}

/** DynamoDB on 127.0.0.1: dynalite, in memory or kept in a folder of the local state. */
export class LocalDynamoDb {
  private server?: Server;
  private client?: DynamoDBClient;

  async start(dataDir?: string): Promise<string> {
    // dynalite has no types; it is a plain CommonJS factory of an http.Server.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;
    this.server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(dataDir ? { path: dataDir } : {}) });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', () => resolve());
    });
    this.client = new DynamoDBClient({ endpoint: this.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** Creates the table unless it is there from an earlier start; returns whether it was created. */
  async createTable(tableName: string, props: Props): Promise<boolean> {
    try {
      await this.client!.send(new CreateTableCommand(createTableInput(tableName, props)));
      return true;
    } catch (err) {
      if (err instanceof ResourceInUseException) return false;
      throw new Error(`DynamoDB table ${tableName} could not be created locally: ${(err as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    this.client?.destroy();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
