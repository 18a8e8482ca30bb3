import { randomUUID } from 'node:crypto';
import { randomPassword, type GenerateOptions } from './secret-generator';
import type { StateFolder } from './state';

interface Version {
  secretString?: string;
  secretBinary?: string;
  stages: string[];
  createdDate: number;
}
interface Secret {
  arn: string;
  name: string;
  description?: string;
  createdDate: number;
  lastChangedDate: number;
  versions: Record<string, Version>;
}

/** An answer in the JSON 1.1 protocol: a 200 body or an error `__type`. */
export interface ServiceReply {
  status: number;
  body: Record<string, unknown>;
}

const FILE = 'secretsmanager.json';

class ServiceError extends Error {
  constructor(public readonly type: string, message: string, public readonly status = 400) {
    super(message);
  }
}

const now = () => Date.now() / 1000;

/**
 * A local Secrets Manager: the operations the project's functions and scripts call, with the service's
 * staging rules (AWSCURRENT / AWSPENDING / AWSPREVIOUS), kept in the state folder so keys survive restarts.
 */
export class LocalSecretsManager {
  private readonly secrets: Secret[];

  constructor(private readonly state: StateFolder, private readonly arnPrefix: string) {
    this.secrets = state.readJson<{ secrets: Secret[] }>(FILE)?.secrets ?? [];
  }

  /** The secret's ARN if it exists: by ARN, by name, or by partial ARN (without the 6-character suffix). */
  find(id: string): Secret | undefined {
    return this.secrets.find((s) => s.arn === id || s.name === id || (id.startsWith('arn:') && s.arn.startsWith(`${id}-`) && s.arn.length === id.length + 7));
  }

  /** Creates the secret unless it exists (a restart keeps the value); returns its ARN. */
  ensure(name: string, arnSuffix: string, initial: () => string, description?: string): { arn: string; created: boolean } {
    const existing = this.find(name);
    if (existing) return { arn: existing.arn, created: false };
    const arn = `${this.arnPrefix}${name}-${arnSuffix}`;
    this.insert({ arn, name, description, secretString: initial() });
    return { arn, created: true };
  }

  /** The AWSCURRENT text. */
  current(id: string): string | undefined {
    const s = this.find(id);
    return s && Object.values(s.versions).find((v) => v.stages.includes('AWSCURRENT'))?.secretString;
  }

  /** Stores a new AWSCURRENT value (as PutSecretValue does). */
  putCurrent(id: string, secretString: string): void {
    this.call('PutSecretValue', { SecretId: id, SecretString: secretString });
  }

  /** Runs one operation of the JSON 1.1 protocol (`X-Amz-Target: secretsmanager.<op>`). */
  call(op: string, input: Record<string, unknown>): ServiceReply {
    try {
      const body = this.dispatch(op, input);
      return { status: 200, body };
    } catch (err) {
      if (err instanceof ServiceError) return { status: err.status, body: { __type: err.type, message: err.message, Message: err.message } };
      throw err;
    }
  }

  private dispatch(op: string, input: Record<string, unknown>): Record<string, unknown> {
    switch (op) {
      case 'CreateSecret':
        return this.create(input);
      case 'GetSecretValue':
        return this.getValue(input);
      case 'PutSecretValue':
        return this.putValue(input);
      case 'DescribeSecret':
        return this.describe(this.mustFind(input.SecretId));
      case 'UpdateSecretVersionStage':
        return this.updateStage(input);
      case 'ListSecretVersionIds': {
        const s = this.mustFind(input.SecretId);
        return { ARN: s.arn, Name: s.name, Versions: Object.entries(s.versions).map(([VersionId, v]) => ({ VersionId, VersionStages: v.stages, CreatedDate: v.createdDate })) };
      }
      case 'ListSecrets':
        return { SecretList: this.secrets.map((s) => this.describe(s)) };
      case 'GetRandomPassword':
        return { RandomPassword: randomPassword(input as GenerateOptions) };
      default:
        throw new ServiceError('InvalidRequestException', `The local Secrets Manager does not emulate ${op}.`);
    }
  }

  private mustFind(id: unknown): Secret {
    const s = typeof id === 'string' ? this.find(id) : undefined;
    if (!s) throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return s;
  }

  private insert(input: { arn: string; name: string; description?: string; secretString?: string; token?: string }): Secret {
    const secret: Secret = { arn: input.arn, name: input.name, description: input.description, createdDate: now(), lastChangedDate: now(), versions: {} };
    if (input.secretString !== undefined) secret.versions[input.token ?? randomUUID()] = { secretString: input.secretString, stages: ['AWSCURRENT'], createdDate: now() };
    this.secrets.push(secret);
    this.save();
    return secret;
  }

  private create(input: Record<string, unknown>): Record<string, unknown> {
    const name = String(input.Name ?? '');
    if (!name) throw new ServiceError('InvalidParameterException', 'Name is required.');
    if (this.find(name)) throw new ServiceError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    const suffix = randomPassword({ PasswordLength: 6, ExcludePunctuation: true, RequireEachIncludedType: false });
    const s = this.insert({ arn: `${this.arnPrefix}${name}-${suffix}`, name, description: input.Description as string | undefined, secretString: input.SecretString as string | undefined, token: input.ClientRequestToken as string | undefined });
    return { ARN: s.arn, Name: s.name, VersionId: Object.keys(s.versions)[0] };
  }

  private getValue(input: Record<string, unknown>): Record<string, unknown> {
    const s = this.mustFind(input.SecretId);
    const stage = (input.VersionStage as string | undefined) ?? (input.VersionId ? undefined : 'AWSCURRENT');
    const entry = Object.entries(s.versions).find(([id, v]) => (input.VersionId === undefined || id === input.VersionId) && (stage === undefined || v.stages.includes(stage)));
    if (!entry || (entry[1].secretString === undefined && entry[1].secretBinary === undefined)) {
      throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label: " + (stage ?? String(input.VersionId)));
    }
    const [versionId, v] = entry;
    return { ARN: s.arn, Name: s.name, VersionId: versionId, SecretString: v.secretString, SecretBinary: v.secretBinary, VersionStages: v.stages, CreatedDate: v.createdDate };
  }

  private putValue(input: Record<string, unknown>): Record<string, unknown> {
    const s = this.mustFind(input.SecretId);
    const versionId = (input.ClientRequestToken as string | undefined) ?? randomUUID();
    const stages = (input.VersionStages as string[] | undefined) ?? ['AWSCURRENT'];
    const existing = s.versions[versionId];
    if (existing && (existing.secretString !== undefined || existing.secretBinary !== undefined)) {
      // Idempotent retry with the same token; a different value under it is refused, as the service does.
      if (existing.secretString === input.SecretString && existing.secretBinary === input.SecretBinary) return { ARN: s.arn, Name: s.name, VersionId: versionId, VersionStages: existing.stages };
      throw new ServiceError('ResourceExistsException', `A version with ClientRequestToken ${versionId} already exists with a different value.`);
    }
    for (const stage of stages) this.moveStage(s, stage, versionId);
    s.versions[versionId] = { secretString: input.SecretString as string | undefined, secretBinary: input.SecretBinary as string | undefined, stages: [...new Set([...(existing?.stages ?? []), ...stages])], createdDate: now() };
    s.lastChangedDate = now();
    this.save();
    return { ARN: s.arn, Name: s.name, VersionId: versionId, VersionStages: s.versions[versionId].stages };
  }

  private describe(s: Secret): Record<string, unknown> {
    return {
      ARN: s.arn,
      Name: s.name,
      Description: s.description,
      CreatedDate: s.createdDate,
      LastChangedDate: s.lastChangedDate,
      RotationEnabled: false,
      VersionIdsToStages: Object.fromEntries(Object.entries(s.versions).filter(([, v]) => v.stages.length > 0).map(([id, v]) => [id, v.stages])),
    };
  }

  private updateStage(input: Record<string, unknown>): Record<string, unknown> {
    const s = this.mustFind(input.SecretId);
    const stage = String(input.VersionStage ?? '');
    const moveTo = input.MoveToVersionId as string | undefined;
    const removeFrom = input.RemoveFromVersionId as string | undefined;
    const holder = Object.entries(s.versions).find(([, v]) => v.stages.includes(stage))?.[0];
    if (moveTo !== undefined && !s.versions[moveTo]) throw new ServiceError('ResourceNotFoundException', `Version ${moveTo} does not exist.`);
    if (removeFrom !== undefined && holder !== removeFrom) throw new ServiceError('InvalidParameterException', `The staging label ${stage} is not attached to version ${removeFrom}.`);
    // Moving a label off a version must name that version, so a concurrent rotation is not overwritten.
    if (moveTo !== undefined && holder !== undefined && holder !== moveTo && removeFrom === undefined) {
      throw new ServiceError('InvalidParameterException', `The staging label ${stage} is attached to version ${holder}; name it in RemoveFromVersionId.`);
    }
    if (moveTo !== undefined) this.moveStage(s, stage, moveTo);
    else if (removeFrom !== undefined) s.versions[removeFrom].stages = s.versions[removeFrom].stages.filter((l) => l !== stage);
    if (moveTo !== undefined) {
      const target = s.versions[moveTo];
      // A version that becomes current stops being pending.
      target.stages = [...target.stages.filter((l) => l !== stage && !(stage === 'AWSCURRENT' && l === 'AWSPENDING')), stage];
    }
    s.lastChangedDate = now();
    this.save();
    return { ARN: s.arn, Name: s.name };
  }

  /** Takes `stage` off every other version; moving AWSCURRENT leaves AWSPREVIOUS on the old one. */
  private moveStage(s: Secret, stage: string, toVersion: string): void {
    for (const [id, v] of Object.entries(s.versions)) {
      if (id === toVersion || !v.stages.includes(stage)) continue;
      v.stages = v.stages.filter((l) => l !== stage);
      if (stage === 'AWSCURRENT') {
        for (const other of Object.values(s.versions)) other.stages = other.stages.filter((l) => l !== 'AWSPREVIOUS');
        v.stages.push('AWSPREVIOUS');
      }
    }
  }

  private save(): void {
    this.state.writeJson(FILE, { secrets: this.secrets });
  }
}
