import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { CHANGES, LIST_INDEX, TABLE } from '../../lambda/registry/schema';

/** The index the authorizer reads an application's subscriptions through (lambda/registry/application-directory.ts). */
const APPLICATION_SUBSCRIPTIONS_INDEX = 'gsi1';

export interface KeyRegistryProps {
  /**
   * What happens to the table when the stack is deleted: the registry is the only record of who holds which
   * key and which keys are revoked.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The key registry: one DynamoDB table holding a record per minted key (never the token), the revocation
 * watermarks, and the change feed the Lambda authorizers refresh from (names in lambda/registry/schema.ts).
 * On-demand, point-in-time recovery, deletion protection, retained, KMS-encrypted; a record expires through
 * the `ttl` attribute a day after its key.
 */
export class KeyRegistry extends Construct {
  public readonly table: Table;

  constructor(scope: Construct, id: string, props: KeyRegistryProps = {}) {
    super(scope, id);
    const key = (name: string) => ({ name, type: AttributeType.STRING });
    this.table = new Table(this, 'Table', {
      partitionKey: key(TABLE.partitionKey),
      sortKey: key(TABLE.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      timeToLiveAttribute: TABLE.ttlAttribute,
      // KMS at rest (CT.DYNAMODB.PR.2), with the AWS-managed key: no key policy to keep.
      encryption: TableEncryption.AWS_MANAGED,
    });
    for (const index of TABLE.indexes) {
      this.table.addGlobalSecondaryIndex({ indexName: index.name, partitionKey: key(index.partitionKey), sortKey: key(index.sortKey), projectionType: ProjectionType.ALL });
    }
  }

  private indexArn(name: string): string {
    return Stack.of(this).formatArn({ service: 'dynamodb', resource: 'table', resourceName: `${this.table.tableName}/index/${name}` });
  }

  /**
   * Binds the authorizer, read-only: KEY_REGISTRY_TABLE; Query on the change feed (revocations, and what
   * changed about applications) and on an application's subscriptions; GetItem for applications, their keys
   * and plans. Never the listing indexes of keys.
   */
  public bindAuthorizer(fn: LambdaFunction): void {
    fn.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [this.indexArn(CHANGES.name), this.indexArn(APPLICATION_SUBSCRIPTIONS_INDEX)] }));
    fn.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [this.table.tableArn] }));
    fn.addEnvironment('KEY_REGISTRY_TABLE', this.table.tableName);
  }

  /** Binds the one function that writes it (the key admin): the table's items, and the listing indexes. */
  public bindWriter(fn: LambdaFunction): void {
    fn.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'], resources: [this.table.tableArn] }));
    fn.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: Object.values(LIST_INDEX).map((i) => this.indexArn(i.name)) }));
    fn.addEnvironment('KEY_REGISTRY_TABLE', this.table.tableName);
  }
}
