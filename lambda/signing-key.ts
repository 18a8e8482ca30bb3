import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { isAlgorithm, type Algorithm } from './core/algorithms';
import { secretsClient } from './core/clients';
import { buildKeyRing, parseKeySet, type PrivateJwkSet } from './core/jwk-set';
import { issueKey } from './core/issue';
import { log } from './core/log';
import { rotateKeySet } from './core/rotation';
import { verifyToken } from './core/verify';

/** CloudFormation custom resource event, as the CDK Provider framework passes it. */
interface CustomResourceEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  PhysicalResourceId?: string;
  ResourceProperties: { SecretArn: string; Algorithm: string };
}
/** Secrets Manager rotation event. */
interface RotationEvent {
  Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
  SecretId: string;
  ClientRequestToken: string;
}

function algorithm(): Algorithm {
  const alg = process.env.JWT_ALGORITHM;
  if (!isAlgorithm(alg)) throw new Error(`Environment variable JWT_ALGORITHM has unsupported value "${alg}".`);
  return alg;
}

async function readSet(secretId: string, alg: Algorithm, stage: string, versionId?: string): Promise<PrivateJwkSet | undefined> {
  try {
    const out = await secretsClient().send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: versionId ? undefined : stage, VersionId: versionId }));
    // Only a JSON key set counts: the random placeholder the stack creates the secret with does not.
    if (!out.SecretString?.trim().startsWith('{')) return undefined;
    return await parseKeySet(out.SecretString, alg);
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    // The placeholder Secrets Manager generated at creation is not a key set: replace it.
    if ((err as Error).name === 'KeySetError') return undefined;
    throw err;
  }
}

/**
 * Creates the first key inside AWS at deploy time, so no key material is in a template or cdk.out.
 * Idempotent: a secret that already holds a set signing with the configured algorithm is kept.
 */
async function onCustomResource(event: CustomResourceEvent): Promise<{ PhysicalResourceId: string; Data: { Kid: string } }> {
  const { SecretArn, Algorithm: alg } = event.ResourceProperties;
  if (!isAlgorithm(alg)) throw new Error(`Unsupported algorithm "${alg}".`);
  const physicalId = `${SecretArn}|signing-key`;
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId, Data: { Kid: '' } };
  const current = await readSet(SecretArn, alg, 'AWSCURRENT');
  if (current && current.keys[0].alg === alg) {
    log('INFO', 'signing key present', { kid: current.keys[0].kid, alg });
    return { PhysicalResourceId: physicalId, Data: { Kid: current.keys[0].kid } };
  }
  // A changed algorithm gets a new first key; keys of the old algorithm stay listed but no longer verify.
  const fresh = await rotateKeySet(undefined, alg);
  const next = { keys: [...fresh.keys, ...(current?.keys ?? [])] };
  await secretsClient().send(new PutSecretValueCommand({ SecretId: SecretArn, SecretString: JSON.stringify(next) }));
  log('INFO', 'signing key created', { kid: next.keys[0].kid, alg });
  return { PhysicalResourceId: physicalId, Data: { Kid: next.keys[0].kid } };
}

/** The four steps of a Secrets Manager rotation; the new set keeps the previous signer for overlap. */
async function onRotation(event: RotationEvent): Promise<void> {
  const { Step, SecretId, ClientRequestToken: token } = event;
  const alg = algorithm();
  const sm = secretsClient();
  const meta = await sm.send(new DescribeSecretCommand({ SecretId }));
  const stages = meta.VersionIdsToStages?.[token];
  if (!stages) throw new Error(`Secret version ${token} has no stage; rotation cannot continue.`);
  if (stages.includes('AWSCURRENT') && Step !== 'createSecret') return;

  if (Step === 'createSecret') {
    if (await readSet(SecretId, alg, 'AWSPENDING', token)) return;
    const next = await rotateKeySet(await readSet(SecretId, alg, 'AWSCURRENT'), alg);
    await sm.send(new PutSecretValueCommand({ SecretId, ClientRequestToken: token, SecretString: JSON.stringify(next), VersionStages: ['AWSPENDING'] }));
    log('INFO', 'rotation created key', { kid: next.keys[0].kid, alg });
  } else if (Step === 'testSecret') {
    const pending = await readSet(SecretId, alg, 'AWSPENDING', token);
    if (!pending) throw new Error('The pending version is not a key set.');
    const ring = buildKeyRing(pending, alg);
    const opts = { issuer: 'rotation-test', audience: 'rotation-test', userIdField: 'sub', companyIdField: 'org_id', maxLifetimeSeconds: 60, clockToleranceSeconds: 0, algorithm: alg };
    const { apikey } = await issueKey({ userId: 'test', companyId: 'test' }, ring.signer, opts);
    const result = await verifyToken(apikey, ring, opts);
    if (!result.ok) throw new Error(`The pending key does not verify its own token (${result.reason}).`);
  } else if (Step === 'finishSecret') {
    const current = Object.entries(meta.VersionIdsToStages ?? {}).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId, VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: current }));
    log('INFO', 'rotation finished', { version: token });
  }
  // setSecret: nothing to push anywhere; verifiers read the secret themselves.
}

/** One function for both the deploy-time custom resource and scheduled rotation. */
export async function handler(event: CustomResourceEvent | RotationEvent): Promise<unknown> {
  if ('Step' in event) return onRotation(event);
  return onCustomResource(event);
}
