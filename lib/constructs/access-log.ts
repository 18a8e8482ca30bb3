import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface AccessLogFieldsOptions {
  /** Where the caller's identity lives: JWT claims (native) or the Lambda authorizer's context. */
  readonly mode: 'native' | 'lambda';
  /** Claim holding the user id (native mode reads it from the claims). */
  readonly userIdField: string;
  /** Claim holding the company id. */
  readonly companyIdField: string;
}

/**
 * The access-log line: a flat JSON object whose every value is one `$context` variable, so the
 * Moesif forwarder (and its tests) can read lines built from this very format.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 */
export function accessLogFields(options: AccessLogFieldsOptions): Record<string, string> {
  const identity: Record<string, string> =
    options.mode === 'native'
      ? {
          userId: `$context.authorizer.claims.${options.userIdField}`,
          companyId: `$context.authorizer.claims.${options.companyIdField}`,
          keyId: '$context.authorizer.claims.jti',
        }
      : {
          userId: '$context.authorizer.userId',
          companyId: '$context.authorizer.companyId',
          keyId: '$context.authorizer.keyId',
          // Set for client applications' tokens (client-signed or from a trusted identity provider).
          clientId: '$context.authorizer.clientId',
          planId: '$context.authorizer.planId',
        };
  return {
    requestId: '$context.requestId',
    ip: '$context.identity.sourceIp',
    requestTime: '$context.requestTime',
    requestTimeEpoch: '$context.requestTimeEpoch',
    httpMethod: '$context.httpMethod',
    routeKey: '$context.routeKey',
    path: '$context.path',
    domainName: '$context.domainName',
    stage: '$context.stage',
    apiId: '$context.apiId',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
    userAgent: '$context.identity.userAgent',
    ...identity,
    authorizerError: '$context.authorizer.error',
    integrationError: '$context.integrationErrorMessage',
  };
}

export interface AccessLogProps extends AccessLogFieldsOptions {
  /** @default RetentionDays.ONE_MONTH */
  readonly retention?: RetentionDays;
}

/** The stage's access-log group and its JSON line format. */
export class AccessLog extends Construct {
  public readonly logGroup: LogGroup;
  public readonly fields: Record<string, string>;
  public readonly format: AccessLogFormat;

  constructor(scope: Construct, id: string, props: AccessLogProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.retention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.fields = accessLogFields(props);
    this.format = AccessLogFormat.custom(JSON.stringify(this.fields));
  }
}
