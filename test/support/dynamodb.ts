import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTableInput } from '../../lambda/registry/schema';
import { LocalDynamoDb as Dynalite } from '../../local/dynamodb';
import { useLocalAws } from './secrets-server';

/**
 * dynalite (DynamoDB in memory) on 127.0.0.1 (the same server `npm start` runs, local/dynamodb.ts), reached by
 * the real SDK client through AWS_ENDPOINT_URL_DYNAMODB. `createTable` makes a fresh registry table (the schema
 * of lambda/registry/schema.ts), so each test can start empty. dynalite enforces no TTL: tests move a clock.
 */
export class LocalDynamoDb {
  private readonly dynalite = new Dynalite();
  client!: DynamoDBClient;
  private tables = 0;

  async start(): Promise<string> {
    const url = await this.dynalite.start();
    useLocalAws('DYNAMODB', url);
    this.client = new DynamoDBClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    return url;
  }

  get url(): string {
    return this.dynalite.url;
  }

  /** A new, empty registry table; returns its name. */
  async createTable(name = `key-registry-${++this.tables}`): Promise<string> {
    await this.client.send(new CreateTableCommand(createTableInput(name)));
    return name;
  }

  async stop(): Promise<void> {
    this.client?.destroy();
    await this.dynalite.stop();
  }
}

/** A client whose calls are counted (by command name) before they reach the real one. */
export function countingClient(client: DynamoDBClient) {
  const calls: string[] = [];
  const inputs: Record<string, unknown>[] = [];
  return {
    calls,
    inputs,
    send: ((command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      calls.push(command.constructor.name.replace(/Command$/, ''));
      inputs.push(command.input);
      return client.send(command as never);
    }) as DynamoDBClient['send'],
  };
}

/** A URL on 127.0.0.1 where nothing listens (a port taken and released): "DynamoDB unreachable". */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
