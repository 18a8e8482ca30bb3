import { randomBytes } from 'node:crypto';
import type { StateFolder } from './state';

export interface LocalEndpoints {
  region: string;
  /** The key id only the local services accept. */
  accessKeyId: string;
  awsUrl: string;
  dynamodbUrl: string;
  state: StateFolder;
}

/**
 * The variables Lambda's runtime sets for a function, added to the template's own: region, credentials
 * (local ones), the function's name and memory, and every AWS endpoint pointed at the local services.
 */
export function lambdaEnvironment(fn: { name: string; memoryMb: number; logGroupName: string; runtime?: string; codeDir?: string }, local: LocalEndpoints): Record<string, string> {
  return {
    AWS_REGION: local.region,
    AWS_DEFAULT_REGION: local.region,
    AWS_ACCESS_KEY_ID: local.accessKeyId,
    AWS_SECRET_ACCESS_KEY: randomBytes(20).toString('base64'),
    // Every AWS call goes to the local endpoint; DynamoDB to dynalite.
    AWS_ENDPOINT_URL: local.awsUrl,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: local.awsUrl,
    AWS_ENDPOINT_URL_APIGATEWAYV2: local.awsUrl,
    AWS_ENDPOINT_URL_LAMBDA: local.awsUrl,
    // Queue URLs name this endpoint too (the SDK calls a QueueUrl's host).
    AWS_ENDPOINT_URL_SQS: local.awsUrl,
    AWS_ENDPOINT_URL_DYNAMODB: local.dynamodbUrl,
    AWS_EC2_METADATA_DISABLED: 'true',
    // Keep the host's AWS profiles out of the functions.
    AWS_CONFIG_FILE: local.state.file('no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: local.state.file('no-aws-credentials'),
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: fn.logGroupName,
    AWS_LAMBDA_LOG_STREAM_NAME: 'local',
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime ?? 'nodejs'}`,
    AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
    // The functions run on this Node.js, not the template's runtime: the banner says so once.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    LAMBDA_TASK_ROOT: fn.codeDir ?? '',
    TZ: 'UTC',
    PATH: process.env.PATH ?? '/usr/bin:/bin',
  };
}
