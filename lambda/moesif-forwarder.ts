import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudWatchLogsEvent, Context } from 'aws-lambda';
import { secretsClient } from './shared/clients';
import { requireEnv } from './shared/env';
import { errorFields, log } from './shared/log';
import { METRIC, metricFields } from './shared/metrics';
import { MoesifConfigError, MoesifDeliveryError, parseApplicationIdSecret, postBatches, type PostBatchesOptions } from './moesif/client';
import { decodeSubscription, toMoesifEvents } from './moesif/event';
import { applySampling } from './moesif/sampling';
import { createSamplingSource, type SamplingSource, type SamplingSourceOptions } from './moesif/sampling-source';

export interface ForwardSummary {
  received: number;
  sent: number;
  skipped: number;
  /** Events Moesif's sample rates left out (never because its config could not be read). */
  sampledOut: number;
}

/** What tests (and only tests) swap: the clock, the sleep between retries, the HTTP and AWS clients. */
export interface ForwarderDeps extends Pick<PostBatchesOptions, 'fetch' | 'sleep' | 'random' | 'maxEvents' | 'maxBytes' | 'maxAttempts'> {
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  secrets?: () => Pick<SecretsManagerClient, 'send'>;
  /** How long a fetched Application Id is reused. @default 300000 */
  appIdTtlMs?: number;
  /** The /v1/config cache behind sampling (see createSamplingSource): TTL, retry after a failure, timeout. */
  sampling?: Pick<SamplingSourceOptions, 'ttlMs' | 'retryMs' | 'timeoutMs'>;
}

// Retries stop this long before the Lambda deadline, so the failure is ours (logged), not a timeout.
const DEADLINE_MARGIN_MS = 3000;

/**
 * The CloudWatch Logs subscription target of the stage's access log: decodes a delivery, maps each
 * line to a Moesif event and POSTs them in batches. It throws when Moesif does not take a batch,
 * so Lambda's asynchronous retries and then the on-failure destination (the DLQ) keep the payload.
 */
export function createHandler(deps: ForwarderDeps = {}) {
  const { env = process.env, now = Date.now, secrets = secretsClient, appIdTtlMs = 300_000, sampling: samplingOptions, ...delivery } = deps;
  // The namespace comes from the same environment as every other setting.
  const metrics = (values: Parameters<typeof metricFields>[0]) => metricFields(values, {}, { env });
  let settings: { secretArn: string; baseUrl: string; sampling: SamplingSource } | undefined;
  let appId: { value: string; at: number } | undefined;

  function init() {
    if (!settings) {
      const baseUrl = env.MOESIF_BASE_URL || 'https://api.moesif.net';
      settings = {
        secretArn: requireEnv(env, 'MOESIF_APPLICATION_ID_SECRET_ARN'),
        baseUrl,
        sampling: createSamplingSource({ ...samplingOptions, baseUrl, fetch: delivery.fetch, now }),
      };
    }
    return settings;
  }

  /** The Application Id, cached per container. Only a usable value is cached: a filled-in placeholder is seen at once. */
  async function applicationId(secretArn: string): Promise<string> {
    if (appId && now() - appId.at < appIdTtlMs) return appId.value;
    let secretString: string | undefined;
    try {
      secretString = (await secrets().send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
    } catch (err) {
      if (appId) {
        log('WARN', 'moesif application id refresh failed, using the cached one', { ...errorFields(err), secretArn });
        return appId.value;
      }
      throw err;
    }
    const value = parseApplicationIdSecret(secretString);
    appId = { value, at: now() };
    return value;
  }

  return async function handler(event: CloudWatchLogsEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<ForwardSummary> {
    const { secretArn, baseUrl, sampling } = init();
    let data;
    try {
      data = decodeSubscription(event?.awslogs?.data ?? '');
    } catch (err) {
      // Retrying cannot fix it, but failing keeps the payload in the DLQ for a look.
      log('ERROR', 'undecodable subscription payload', errorFields(err));
      throw err;
    }
    if (data.messageType !== 'DATA_MESSAGE') {
      // CloudWatch Logs sends a CONTROL_MESSAGE to check that the destination is reachable.
      log('INFO', 'control message ignored', { messageType: data.messageType, logGroup: data.logGroup });
      return { received: 0, sent: 0, skipped: 0, sampledOut: 0 };
    }

    const mapped = toMoesifEvents(data.logEvents);
    const { skipped, skippedReasons } = mapped;
    const counts = { logGroup: data.logGroup, logStream: data.logStream, received: data.logEvents.length, skipped, skippedReasons, sampledOut: 0 };
    if (mapped.events.length === 0) {
      log('INFO', 'nothing to forward to moesif', { ...counts, sent: 0, ...metrics({ [METRIC.eventsDelivered]: 0, [METRIC.eventsSkipped]: skipped }) });
      return { received: counts.received, sent: 0, skipped, sampledOut: 0 };
    }

    let events = mapped.events;
    try {
      const applicationIdValue = await applicationId(secretArn);
      const { policy, source } = await sampling.get(applicationIdValue);
      const sampled = applySampling(events, policy);
      events = sampled.kept;
      counts.sampledOut = sampled.sampledOut;
      if (events.length === 0) {
        log('INFO', 'nothing to forward to moesif', { ...counts, sampling: source, sent: 0, ...metrics({ [METRIC.eventsDelivered]: 0, [METRIC.eventsSkipped]: skipped, [METRIC.eventsSampledOut]: counts.sampledOut }) });
        return { received: counts.received, sent: 0, skipped, sampledOut: counts.sampledOut };
      }
      const deadline = context ? now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS : undefined;
      const result = await postBatches(events, { ...delivery, baseUrl, applicationId: applicationIdValue, now, deadline });
      log('INFO', 'forwarded to moesif', {
        ...counts,
        sampling: source,
        sent: result.sent,
        batches: result.batches,
        requests: result.requests,
        ...metrics({ [METRIC.eventsDelivered]: result.sent, [METRIC.eventsSkipped]: skipped, [METRIC.eventsSampledOut]: counts.sampledOut }),
      });
      return { received: counts.received, sent: result.sent, skipped, sampledOut: counts.sampledOut };
    } catch (err) {
      const detail =
        err instanceof MoesifDeliveryError ? { sent: err.sent, failedBatch: err.batch, status: err.status, attempts: err.attempts } : err instanceof MoesifConfigError ? { sent: 0, secretArn } : { sent: 0 };
      log('ERROR', 'moesif forwarding failed', { ...counts, toSend: events.length, ...detail, ...errorFields(err), ...metrics({ [METRIC.deliveryFailures]: 1, [METRIC.eventsSkipped]: skipped }) });
      throw err;
    }
  };
}

export const handler = createHandler();
