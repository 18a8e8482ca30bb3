/**
 * Bundle-time stand-in for `@aws-sdk/client-secrets-manager` (bench only): the two names the authorizer
 * uses, answered by the secrets-extension reader. It shows what an SDK-free authorizer costs without
 * changing lambda/; the recommended change (bench/RESULTS.md) passes a reader to the key source instead.
 * BENCH_SECRETS_TRANSPORT=fetch picks the fetch transport, anything else node:http; BENCH_EXTENSION_HOST
 * the host (default localhost, as documented).
 */
import { fetchTransport, httpTransport, secretsExtensionReader, type SecretReader } from '../../../lambda/shared/secrets-extension';

export class GetSecretValueCommand {
  constructor(readonly input: { SecretId: string }) {}
}

export class SecretsManagerClient {
  private read?: SecretReader;
  constructor(_config?: unknown) {}
  async send(command: GetSecretValueCommand): Promise<{ SecretString?: string }> {
    this.read ??= secretsExtensionReader({ transport: process.env.BENCH_SECRETS_TRANSPORT === 'fetch' ? fetchTransport : httpTransport, host: process.env.BENCH_EXTENSION_HOST });
    return { SecretString: await this.read(command.input.SecretId) };
  }
}
