import { GetStageCommand, UpdateStageCommand, type ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/**
 * Invalidating API Gateway's authorizer cache after a revocation. The cache key includes the stage
 * variable `revocationVersion`; changing it makes every cached answer unreachable. It must change only
 * once every authorizer container knows the revocation (otherwise a container with stale state would
 * re-cache an allow), i.e. `revocationRefreshSeconds` after the revocation takes effect, plus a margin for
 * the change feed's index lag. The key-admin function schedules it through a delayed SQS message; the
 * stage-bump function does it.
 */
export const STAGE_VARIABLE = 'revocationVersion';
/** Index lag of the change feed and clock differences between functions. */
export const BUMP_MARGIN_SECONDS = 3;
/** SQS's longest DelaySeconds. A later `due` is reached by re-sending the message (see processBumps). */
export const MAX_DELAY_SECONDS = 900;

/** When every authorizer has seen a revocation that takes effect at `effectiveAtMs`. */
export function bumpDue(effectiveAtMs: number, refreshSeconds: number): number {
  return effectiveAtMs + (refreshSeconds + BUMP_MARGIN_SECONDS) * 1000;
}

export function delaySeconds(dueMs: number, nowMs: number): number {
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((dueMs - nowMs) / 1000)));
}

/** Sends `{"due": <ms>}` to the stage-bump queue, delayed until `due` (or by 15 minutes, the most SQS allows). */
export async function scheduleBump(sqs: Pick<SQSClient, 'send'>, queueUrl: string, dueMs: number, nowMs: number): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ due: dueMs }), DelaySeconds: delaySeconds(dueMs, nowMs) }));
}

export interface BumpMessage {
  messageId: string;
  body: string;
}

export interface BumpDeps {
  apiGateway: Pick<ApiGatewayV2Client, 'send'>;
  sqs: Pick<SQSClient, 'send'>;
  apiId: string;
  stageName: string;
  queueUrl: string;
  now?: () => number;
  log?: (level: 'INFO' | 'WARN' | 'ERROR', message: string, fields: Record<string, unknown>) => void;
}

export interface BumpOutcome {
  /** Message ids SQS should deliver again. */
  failures: string[];
  /** Whether UpdateStage was called. */
  bumped: boolean;
  /** Messages sent again because their `due` is later than now. */
  deferred: number;
}

function dueOf(body: string): number | undefined {
  try {
    const due = (JSON.parse(body) as { due?: unknown }).due;
    return typeof due === 'number' && Number.isSafeInteger(due) && due > 0 ? due : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One batch: the messages due now cost at most one GetStage and one UpdateStage together, skipped when
 * the stage was bumped at or after the latest of them; messages not due yet (a roll's grace longer than
 * SQS's 15-minute delay) go back to the queue with the remaining delay. Unreadable bodies are dropped
 * (logged): retrying them cannot help.
 */
export async function processBumps(messages: BumpMessage[], deps: BumpDeps): Promise<BumpOutcome> {
  const now = deps.now ?? Date.now;
  const started = now();
  const ready: { id: string; due: number }[] = [];
  const failures: string[] = [];
  let deferred = 0;
  for (const message of messages) {
    const due = dueOf(message.body);
    if (due === undefined) {
      deps.log?.('ERROR', 'stage bump message dropped: its body is not {"due": <epoch ms>}', { messageId: message.messageId });
    } else if (due <= started) {
      ready.push({ id: message.messageId, due });
    } else {
      try {
        await scheduleBump(deps.sqs, deps.queueUrl, due, started);
        deferred++;
      } catch (err) {
        deps.log?.('WARN', 'stage bump could not be deferred', { messageId: message.messageId, error: (err as Error).name });
        failures.push(message.messageId);
      }
    }
  }
  let bumped = false;
  if (ready.length > 0) {
    const due = Math.max(...ready.map((r) => r.due));
    try {
      const stage = await deps.apiGateway.send(new GetStageCommand({ ApiId: deps.apiId, StageName: deps.stageName }));
      const variables = stage.StageVariables ?? {};
      const current = Number(variables[STAGE_VARIABLE]);
      if (Number.isFinite(current) && current >= due) {
        deps.log?.('INFO', 'stage already bumped', { revocationVersion: variables[STAGE_VARIABLE], due, messages: ready.length });
      } else {
        const version = String(Math.max(now(), due));
        await deps.apiGateway.send(
          new UpdateStageCommand({ ApiId: deps.apiId, StageName: deps.stageName, StageVariables: { ...variables, [STAGE_VARIABLE]: version } }),
        );
        bumped = true;
        deps.log?.('INFO', 'stage bumped: authorizer cache invalidated', { revocationVersion: version, due, messages: ready.length });
      }
    } catch (err) {
      deps.log?.('ERROR', 'stage bump failed', { error: (err as Error).name, errorMessage: (err as Error).message, messages: ready.length });
      failures.push(...ready.map((r) => r.id));
    }
  }
  return { failures, bumped, deferred };
}
