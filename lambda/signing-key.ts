import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { isAlgorithm, type Algorithm } from './jwt/algorithms';
import { secretsClient } from './shared/clients';
import { parseDurationSeconds } from './shared/duration';
import { buildKeyRing, generateJwk, parseKeySet, type PrivateJwkSet } from './jwt/jwk-set';
import { issueKey } from './jwt/issue';
import { log } from './shared/log';
import { rotateKeySet } from './jwt/rotation';
import { verifyToken } from './jwt/verify';

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

function settings(): { alg: Algorithm; maxLifetimeSeconds: number } {
  const alg = process.env.JWT_ALGORITHM;
  if (!isAlgorithm(alg)) throw new Error(`Environment variable JWT_ALGORITHM has unsupported value "${alg}".`);
  const maxLifetimeSeconds = parseDurationSeconds(process.env.JWT_EXPIRES_IN ?? '');
  if (maxLifetimeSeconds === undefined) throw new Error(`Environment variable JWT_EXPIRES_IN must be a lifetime, got "${process.env.JWT_EXPIRES_IN}".`);
  return { alg, maxLifetimeSeconds };
}

/** The secret's text at a stage or version; undefined when there is none. */
async function readText(secretId: string, stage: string, versionId?: string): Promise<string | undefined> {
  try {
    const out = await secretsClient().send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage, VersionId: versionId }));
    return out.SecretString;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}

/**
 * Creates the first key inside AWS at deploy time, so no key material is in a template or cdk.out.
 * Idempotent: a secret that already holds a JSON key set with a key of the configured algorithm is
 * kept (the random placeholder the stack creates the secret with is not a key set).
 */
async function onCustomResource(event: CustomResourceEvent): Promise<{ PhysicalResourceId: string; Data: { Kid: string } }> {
  const { SecretArn, Algorithm: alg } = event.ResourceProperties;
  if (!isAlgorithm(alg)) throw new Error(`Unsupported algorithm "${alg}".`);
  const physicalId = `${SecretArn}|signing-key`;
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId, Data: { Kid: '' } };
  const text = await readText(SecretArn, 'AWSCURRENT');
  let current: PrivateJwkSet | undefined;
  if (text?.trim().startsWith('{')) current = await parseKeySet(text, alg).catch(() => undefined);
  const existing = current?.keys.find((k) => k.alg === alg);
  if (current && existing) {
    log('INFO', 'signing key present', { kid: existing.kid, alg });
    return { PhysicalResourceId: physicalId, Data: { Kid: existing.kid } };
  }
  // First key, or a changed algorithm: a key of the new algorithm, active at once, ahead of the old
  // ones (which functions still on the old algorithm keep using until their update lands).
  const fresh = await generateJwk(alg);
  const next = { keys: [fresh, ...(current?.keys ?? [])] };
  await secretsClient().send(new PutSecretValueCommand({ SecretId: SecretArn, SecretString: JSON.stringify(next) }));
  log('INFO', 'signing key created', { kid: fresh.kid, alg });
  return { PhysicalResourceId: physicalId, Data: { Kid: fresh.kid } };
}

/**
 * The four steps of a Secrets Manager rotation
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html).
 * The new key is published first and signs after a delay; older keys verify until their tokens expire.
 */
async function onRotation(event: RotationEvent): Promise<void> {
  const { Step, SecretId, ClientRequestToken: token } = event;
  const { alg, maxLifetimeSeconds } = settings();
  const sm = secretsClient();
  const meta = await sm.send(new DescribeSecretCommand({ SecretId }));
  const stages = meta.VersionIdsToStages?.[token];
  if (!stages) throw new Error(`Secret version ${token} has no stage; rotation cannot continue.`);
  if (stages.includes('AWSCURRENT')) {
    log('INFO', 'rotation version already current', { step: Step, version: token });
    return;
  }
  if (!stages.includes('AWSPENDING')) throw new Error(`Secret version ${token} is not AWSPENDING; rotation cannot continue.`);

  if (Step === 'createSecret') {
    const pendingText = await readText(SecretId, 'AWSPENDING', token);
    if (pendingText !== undefined) {
      // A retried step: the pending value was written before. Check it rather than write a second one.
      await parseKeySet(pendingText, alg);
      return;
    }
    const currentText = await readText(SecretId, 'AWSCURRENT');
    // Any stored format counts (JWK Set, plain shared secret, PEM): its keys must outlive their tokens.
    const current = currentText === undefined ? undefined : await parseKeySet(currentText, alg);
    const next = await rotateKeySet(current, alg, { now: Math.floor(Date.now() / 1000), maxLifetimeSeconds });
    await sm.send(new PutSecretValueCommand({ SecretId, ClientRequestToken: token, SecretString: JSON.stringify(next), VersionStages: ['AWSPENDING'] }));
    log('INFO', 'rotation created key', { kid: next.keys[0].kid, alg, activatesAt: next.keys[0].activates_at, kept: next.keys.length - 1 });
  } else if (Step === 'testSecret') {
    const text = await readText(SecretId, 'AWSPENDING', token);
    if (text === undefined) throw new Error('The pending version has no value.');
    const pending = await parseKeySet(text, alg);
    // Sign with the new key as it will once active, and verify with the whole set.
    const ring = buildKeyRing(pending, alg, (pending.keys[0].activates_at ?? 0) + 1);
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
