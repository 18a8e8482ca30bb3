import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Algorithm } from '../../lambda/jwt/algorithms';
import { parseKeySet, publicJwks } from '../../lambda/jwt/jwk-set';
import { LocalHttpServer } from './local-server';

interface Version {
  /** Undefined for a version RotateSecret registered but createSecret has not filled yet. */
  secretString?: string;
  stages: string[];
}
interface StoredSecret {
  arn: string;
  name: string;
  versions: Map<string, Version>;
  tags: Record<string, string>;
}

/**
 * A small Secrets Manager on 127.0.0.1 speaking the JSON 1.1 protocol, enough for the real SDK client:
 * GetSecretValue, PutSecretValue, DescribeSecret, UpdateSecretVersionStage. Tests reach it through
 * AWS_ENDPOINT_URL_SECRETS_MANAGER.
 */
export class LocalSecretsManager extends LocalHttpServer {
  private readonly secrets = new Map<string, StoredSecret>();
  /** Calls received, by operation name. */
  public readonly calls: Record<string, number> = {};
  /** GetSecretValue calls, by secret ARN. */
  public readonly reads: Record<string, number> = {};
  /** When set, every call answers with this HTTP status (a 5xx makes the SDK retry, then fail). */
  public failWith?: number;

  /** Creates a secret with one AWSCURRENT version; returns its ARN. */
  put(name: string, secretString: string, tags: Record<string, string> = {}): string {
    const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
    const secret: StoredSecret = { arn, name, tags, versions: new Map([[randomUUID(), { secretString, stages: ['AWSCURRENT'] }]]) };
    this.secrets.set(arn, secret);
    return arn;
  }

  /**
   * A signing secret as the stack keeps it: the private value, and its public copy beside it (what the
   * signing-key function publishes). `env` is what the functions read them through.
   */
  async putKeySet(name: string, value: string, alg: Algorithm) {
    const arn = this.put(name, value);
    // A value that is not a key set (a test of that failure) gets an empty public copy.
    const publicKeys = await parseKeySet(value, alg).then(publicJwks, () => ({ keys: [] }));
    const publicArn = this.put(`${name}-public`, JSON.stringify(publicKeys));
    return { arn, publicArn, env: { JWT_SECRET_ARN: arn, JWT_PUBLIC_KEYS_SECRET_ARN: publicArn } };
  }

  /**
   * What RotateSecret does before it calls the rotation function: registers `token` as AWSPENDING, empty
   * (or, as the service may do, holding a copy of the current value).
   */
  beginRotation(arn: string, token: string, value: 'empty' | 'copy-of-current' = 'empty'): void {
    const secret = this.find(arn)!;
    this.moveStage(secret, 'AWSPENDING', token);
    secret.versions.set(token, { stages: ['AWSPENDING'], secretString: value === 'copy-of-current' ? this.current(arn) : undefined });
  }

  /** What the service does after its test of a rotation setup: the pending version goes away. */
  removeVersion(arn: string, token: string): void {
    this.find(arn)!.versions.delete(token);
  }

  /** The AWSCURRENT value. */
  current(arn: string): string | undefined {
    const secret = this.find(arn);
    return secret && [...secret.versions.values()].find((v) => v.stages.includes('AWSCURRENT'))?.secretString;
  }

  stagesOf(arn: string): Record<string, string[]> {
    return Object.fromEntries([...(this.find(arn)?.versions ?? new Map<string, Version>())].map(([id, v]) => [id, v.stages]));
  }

  private find(id: string): StoredSecret | undefined {
    return this.secrets.get(id) ?? [...this.secrets.values()].find((s) => s.name === id || s.arn.startsWith(id));
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const op = String(req.headers['x-amz-target'] ?? '').replace('secretsmanager.', '');
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify(body));
    };
    if (this.failWith) return send(this.failWith, { __type: 'InternalServiceError', message: 'injected failure' });
    const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    const secret = this.find(input.SecretId);
    if (!secret) return send(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });

    if (op === 'GetSecretValue') {
      this.reads[secret.arn] = (this.reads[secret.arn] ?? 0) + 1;
      const entry = [...secret.versions].find(([id, v]) => (input.VersionId ? id === input.VersionId : v.stages.includes(input.VersionStage ?? 'AWSCURRENT')));
      if (!entry || entry[1].secretString === undefined || (input.VersionStage && !entry[1].stages.includes(input.VersionStage))) {
        return send(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret value." });
      }
      const [versionId, v] = entry;
      return send(200, { ARN: secret.arn, Name: secret.name, SecretString: v.secretString, VersionId: versionId, VersionStages: v.stages, CreatedDate: Date.now() / 1000 });
    }
    if (op === 'PutSecretValue') {
      const versionId = input.ClientRequestToken ?? randomUUID();
      const existing = secret.versions.get(versionId);
      // A version's value never changes: the same token with another value is refused, as the service does.
      if (existing?.secretString !== undefined && existing.secretString !== input.SecretString) {
        return send(400, { __type: 'ResourceExistsException', message: 'You can\'t modify an existing version, you can only create new versions.' });
      }
      const stages: string[] = input.VersionStages ?? ['AWSCURRENT'];
      for (const stage of stages) this.moveStage(secret, stage, versionId);
      secret.versions.set(versionId, { secretString: input.SecretString, stages });
      return send(200, { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: stages });
    }
    if (op === 'DescribeSecret') {
      return send(200, { ARN: secret.arn, Name: secret.name, VersionIdsToStages: this.stagesOf(secret.arn), Tags: Object.entries(secret.tags).map(([Key, Value]) => ({ Key, Value })) });
    }
    if (op === 'UpdateSecretVersionStage') {
      const target = secret.versions.get(input.MoveToVersionId);
      if (!target) return send(400, { __type: 'InvalidParameterException', message: 'unknown version' });
      this.moveStage(secret, input.VersionStage, input.MoveToVersionId);
      target.stages = [...target.stages.filter((s) => s !== input.VersionStage && !(input.VersionStage === 'AWSCURRENT' && s === 'AWSPENDING')), input.VersionStage];
      return send(200, { ARN: secret.arn, Name: secret.name });
    }
    return send(400, { __type: 'InvalidRequestException', message: `unsupported operation ${op}` });
  }

  /** Takes `stage` off every other version; AWSCURRENT leaves AWSPREVIOUS behind, as the service does. */
  private moveStage(secret: StoredSecret, stage: string, toVersion: string): void {
    for (const [id, v] of secret.versions) {
      if (id === toVersion || !v.stages.includes(stage)) continue;
      v.stages = v.stages.filter((s) => s !== stage);
      if (stage === 'AWSCURRENT') {
        for (const other of secret.versions.values()) other.stages = other.stages.filter((s) => s !== 'AWSPREVIOUS');
        v.stages.push('AWSPREVIOUS');
      }
    }
  }
}

/** Points the real SDK clients at a local endpoint with fake credentials. */
export function useLocalAws(service: 'SECRETS_MANAGER' | string, url: string): void {
  process.env[`AWS_ENDPOINT_URL_${service}`] = url;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
}
