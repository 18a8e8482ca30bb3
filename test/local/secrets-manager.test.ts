import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { LocalAwsEndpoint } from '../../local/aws-endpoint';
import { LocalLambda } from '../../local/functions';
import { LocalSecretsManager } from '../../local/secrets-manager';
import { StateFolder } from '../../local/state';
import { generateSecretString } from '../../local/secret-generator';

const PREFIX = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:';
const dir = mkdtempSync(path.join(tmpdir(), 'local-sm-'));
const state = new StateFolder(dir);
const secrets = new LocalSecretsManager(state, PREFIX);
const endpoint = new LocalAwsEndpoint({ secrets, lambda: new LocalLambda(dir, () => undefined), apis: () => [], accessKeyId: 'AKIALOCALTEST', print: () => undefined });
let client: SecretsManagerClient;

beforeAll(async () => {
  const url = await endpoint.start();
  client = new SecretsManagerClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'AKIALOCALTEST', secretAccessKey: 'x' }, maxAttempts: 1 });
});
afterAll(async () => {
  client.destroy();
  await endpoint.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the local Secrets Manager, through the real SDK client', () => {
  it('creates, reads by name or partial ARN, and rotates stages as the service does', async () => {
    const { ARN } = await client.send(new CreateSecretCommand({ Name: 'signing', SecretString: 'v1' }));
    expect(ARN).toMatch(new RegExp(`^${PREFIX}signing-[A-Za-z0-9]{6}$`));
    expect((await client.send(new GetSecretValueCommand({ SecretId: `${PREFIX}signing` }))).SecretString).toBe('v1');

    const first = (await client.send(new DescribeSecretCommand({ SecretId: 'signing' }))).VersionIdsToStages!;
    const v1 = Object.keys(first)[0];
    await client.send(new PutSecretValueCommand({ SecretId: ARN, ClientRequestToken: 'token-2-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', SecretString: 'v2', VersionStages: ['AWSPENDING'] }));
    expect((await client.send(new GetSecretValueCommand({ SecretId: ARN }))).SecretString).toBe('v1');
    expect((await client.send(new GetSecretValueCommand({ SecretId: ARN, VersionStage: 'AWSPENDING' }))).SecretString).toBe('v2');

    // Moving AWSCURRENT must name the version that holds it.
    await expect(client.send(new UpdateSecretVersionStageCommand({ SecretId: ARN, VersionStage: 'AWSCURRENT', MoveToVersionId: 'token-2-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }))).rejects.toThrow(/RemoveFromVersionId/);
    await client.send(new UpdateSecretVersionStageCommand({ SecretId: ARN, VersionStage: 'AWSCURRENT', MoveToVersionId: 'token-2-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', RemoveFromVersionId: v1 }));
    expect((await client.send(new DescribeSecretCommand({ SecretId: ARN }))).VersionIdsToStages).toEqual({ [v1]: ['AWSPREVIOUS'], 'token-2-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': ['AWSCURRENT'] });
  });

  it('answers an unknown secret with ResourceNotFoundException', async () => {
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'nope' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('keeps secrets across restarts in a file only the owner can read', async () => {
    await client.send(new CreateSecretCommand({ Name: 'kept', SecretString: 'value' }));
    expect(new LocalSecretsManager(new StateFolder(dir), PREFIX).current('kept')).toBe('value');
    expect(statSync(path.join(dir, 'secretsmanager.json')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('refuses requests not signed with the local access key', async () => {
    const other = new SecretsManagerClient({ endpoint: endpoint.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIAREAL', secretAccessKey: 'x' }, maxAttempts: 1 });
    await expect(other.send(new GetSecretValueCommand({ SecretId: 'kept' }))).rejects.toThrow('The security token included in the request is invalid.');
    other.destroy();
  });
});

describe('generateSecretString', () => {
  it('adds the generated key to the template, with the excluded characters left out', () => {
    const value = JSON.parse(generateSecretString({ SecretStringTemplate: '{"keys":[]}', GenerateStringKey: 'placeholder', ExcludePunctuation: true, PasswordLength: 40 }));
    expect(value.keys).toEqual([]);
    expect(value.placeholder).toMatch(/^[A-Za-z0-9]{40}$/);
  });
});
