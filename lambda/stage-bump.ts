import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { requireEnv } from './shared/env';
import { errorFields, log } from './shared/log';
import { processBumps } from './registry/bump';
import { apiGatewayClient, sqsClient } from './registry/bump-clients';

/**
 * SQS consumer (ReportBatchItemFailures): bumps the stage variable `revocationVersion` once every
 * authorizer knows a revocation, so API Gateway's authorizer cache stops serving allows for revoked
 * keys. A batch costs at most one GetStage and one UpdateStage; only failed messages are retried.
 */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const messages = (event.Records ?? []).map((r) => ({ messageId: r.messageId, body: r.body }));
  try {
    const { failures } = await processBumps(messages, {
      apiGateway: apiGatewayClient(),
      sqs: sqsClient(),
      apiId: requireEnv(process.env, 'API_ID'),
      stageName: requireEnv(process.env, 'STAGE_NAME'),
      queueUrl: requireEnv(process.env, 'STAGE_BUMP_QUEUE_URL'),
      log,
    });
    return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
  } catch (err) {
    // A broken environment: every message is retried (and ends in the dead-letter queue if it stays broken).
    log('ERROR', 'stage bump failed', errorFields(err));
    return { batchItemFailures: messages.map((m) => ({ itemIdentifier: m.messageId })) };
  }
}
