import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface KeyRegistryProps {
  /**
   * What happens to the table when the stack is deleted: the registry is the only record of who holds which
   * key and which keys are revoked.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The index names, for the functions' Query calls (lambda/registry/ uses the same names). */
export const REGISTRY_INDEXES = {
  /** Keys by user (`gsi1pk = USER#<id>`). */
  byUser: 'gsi1',
  /** Keys by company (`gsi2pk = COMPANY#<id>`). */
  byCompany: 'gsi2',
  /** The change feed the authorizers read incrementally (`gsi3pk = CHANGES`, sorted by time). */
  changes: 'gsi3',
} as const;

/**
 * The key registry: one DynamoDB table holding a record per minted key (never the token), the revocation
 * watermarks and the change feed the Lambda authorizers refresh from. On-demand, point-in-time recovery,
 * deletion protection and retained; records expire through the `ttl` attribute a day after their key.
 */
export class KeyRegistry extends Construct {
  public readonly table: TableV2;

  constructor(scope: Construct, id: string, props: KeyRegistryProps = {}) {
    super(scope, id);
    const key = (name: string) => ({ name, type: AttributeType.STRING });
    this.table = new TableV2(this, 'Table', {
      partitionKey: key('pk'),
      sortKey: key('sk'),
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      timeToLiveAttribute: 'ttl',
      // KMS at rest (CT.DYNAMODB.PR.2), with the AWS-managed key: no key policy to keep.
      encryption: TableEncryptionV2.awsManagedKey(),
      globalSecondaryIndexes: Object.values(REGISTRY_INDEXES).map((indexName) => ({ indexName, partitionKey: key(`${indexName}pk`), sortKey: key(`${indexName}sk`) })),
    });
  }

  /** Binds a function that reads the registry (the authorizer): KEY_REGISTRY_TABLE, GetItem and Query. */
  public bindReader(fn: LambdaFunction): void {
    this.table.grant(fn, 'dynamodb:GetItem', 'dynamodb:Query');
    fn.addEnvironment('KEY_REGISTRY_TABLE', this.table.tableName);
  }

  /** Binds the one function that writes it (the key admin): reads, puts and conditional updates. */
  public bindWriter(fn: LambdaFunction): void {
    this.table.grant(fn, 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    fn.addEnvironment('KEY_REGISTRY_TABLE', this.table.tableName);
  }

  /** Grants other read access by hand (e.g. an operator role). */
  public grantRead(grantee: IGrantable): void {
    this.table.grantReadData(grantee);
  }
}
