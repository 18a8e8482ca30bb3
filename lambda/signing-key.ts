import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { isAlgorithm, type Algorithm } from './jwt/algorithms';
import { issueKey } from './jwt/issue';
import { buildKeyRing, parseKeySet, publicJwks, type PrivateJwkSet } from './jwt/jwk-set';
import { ensureSigner, rotateKeySet, signerOf } from './jwt/lifecycle';
import { verifyToken } from './jwt/verify';
import { secretsClient } from './shared/clients';
import { parseDurationSeconds } from './shared/duration';
import { requireEnv } from './shared/env';
import { log } from './shared/log';

/** CloudFormation custom resource event, as the CDK Provider framework passes it. */
interface CustomResourceEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  PhysicalResourceId?: string;
  ResourceProperties: {
    SecretArn: string;
    PublicKeysSecretArn: string;
    Algorithm: string;
    /** JWT_EXPIRES_IN in seconds: a change re-runs this resource, so keys record the longer lifetime. */
    MaxLifetimeSeconds: string;
    /** 'true' for a secret the stack did not create: it is checked, never written. */
    Imported?: string;
  };
}
/** Secrets Manager rotation event. */
interface RotationEvent {
  Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
  SecretId: string;
  ClientRequestToken: string;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function lifetime(raw: string | undefined, name: string): number {
  const seconds = parseDurationSeconds(raw ?? '');
  if (seconds === undefined) throw new Error(`${name} must be a lifetime in seconds, got "${raw}".`);
  return seconds;
}

/** The secret's text at a stage or version; undefined when the version has no value (or there is none). */
async function readText(secretId: string, stage: string, versionId?: string): Promise<string | undefined> {
  try {
    return (await secretsClient().send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage, VersionId: versionId }))).SecretString;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}

/** A stored key set, or undefined for the random placeholder the stack creates the secret with. */
async function readKeySet(text: string | undefined, alg: Algorithm): Promise<PrivateJwkSet | undefined> {
  if (text === undefined) return undefined;
  const parsed = text.trim().startsWith('{') ? (JSON.parse(text) as { keys?: unknown[] }) : undefined;
  if (parsed && Array.isArray(parsed.keys) && parsed.keys.length === 0) return undefined;
  // Any stored format counts (JWK Set, plain shared secret, PEM): its keys must outlive their tokens.
  return parseKeySet(text, alg);
}

/**
 * Writes the public copy the discovery route and (asymmetric modes) the authorizer read, so the functions
 * that face the internet never hold a private key. Only when it changed: every write is a new version.
 */
async function publish(publicSecretArn: string, sets: PrivateJwkSet[]): Promise<void> {
  const seen = new Set<string>();
  const keys = sets.flatMap((s) => s.keys).filter((k) => !seen.has(k.kid) && seen.add(k.kid));
  const text = JSON.stringify(publicJwks({ keys }));
  if ((await readText(publicSecretArn, 'AWSCURRENT')) === text) return;
  await secretsClient().send(new PutSecretValueCommand({ SecretId: publicSecretArn, SecretString: text }));
  log('INFO', 'public keys published', { kids: JSON.parse(text).keys.map((k: { kid: string }) => k.kid) });
}

/**
 * Secrets Manager reads any name ending in "-" and 6 characters as a complete ARN's random suffix, so a
 * partial ARN of such a name finds nothing (or is denied): the one fix is the complete ARN.
 */
function notReadable(arn: string): string {
  return `The imported signing secret ${arn} cannot be read: give its complete ARN, as \`aws secretsmanager describe-secret --secret-id <name> --query ARN\` prints it`;
}

/**
 * Deploy time: makes sure a key of the configured algorithm signs (generated here, inside AWS, so no key
 * material is in a template or cdk.out) and publishes the public keys. An imported secret is only checked:
 * a deploy that could not mint fails now, with the fix, rather than at the first request.
 */
async function onCustomResource(event: CustomResourceEvent): Promise<{ PhysicalResourceId: string; Data: { Kid: string } }> {
  const { SecretArn, PublicKeysSecretArn, Algorithm: alg, MaxLifetimeSeconds, Imported } = event.ResourceProperties;
  if (!isAlgorithm(alg)) throw new Error(`Unsupported algorithm "${alg}".`);
  const physicalId = `${SecretArn}|signing-key`;
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId, Data: { Kid: '' } };
  const opts = { now: nowSeconds(), maxLifetimeSeconds: lifetime(MaxLifetimeSeconds, 'MaxLifetimeSeconds') };
  const text = await readText(SecretArn, 'AWSCURRENT').catch((err: Error) => {
    if (Imported === 'true' && err.name === 'AccessDeniedException') throw new Error(`${notReadable(SecretArn)} (AccessDenied).`);
    throw err;
  });

  if (Imported === 'true') {
    if (text === undefined) throw new Error(`${notReadable(SecretArn)} (not found).`);
    const current = await readKeySet(text, alg).catch((err: Error) => err);
    const signer = current instanceof Error ? undefined : signerOf(current, alg, opts.now);
    if (!current || current instanceof Error || !signer) {
      const detail = current instanceof Error ? current.message : current ? `its keys: ${current.keys.map((k) => `${k.kid} ${k.alg}`).join(', ')}` : 'it has no key set';
      throw new Error(
        `The imported signing secret has no ${alg} key that signs now (${detail}). ` +
          `Import one with npm run secret:import, or deploy with the secret's algorithm (-c jwtAlgorithm=...).`,
      );
    }
    await publish(PublicKeysSecretArn, [current]);
    return { PhysicalResourceId: physicalId, Data: { Kid: signer.kid } };
  }

  const current = await readKeySet(text, alg);
  const { set, created } = await ensureSigner(current, alg, opts);
  // Public first: a key is published before anything can sign with it.
  await publish(PublicKeysSecretArn, [set]);
  if (JSON.stringify(set) !== JSON.stringify(current)) {
    await secretsClient().send(new PutSecretValueCommand({ SecretId: SecretArn, SecretString: JSON.stringify(set) }));
  }
  const signer = signerOf(set, alg, opts.now)!;
  log('INFO', created ? 'signing key created' : 'signing key present', { kid: signer.kid, alg });
  return { PhysicalResourceId: physicalId, Data: { Kid: signer.kid } };
}

/** Signs with the set's signer as it will sign once the set is current, and verifies with the whole set. */
async function selfTest(set: PrivateJwkSet, alg: Algorithm): Promise<void> {
  const at = Math.max(nowSeconds(), set.keys[0]?.activates_at ?? 0);
  const ring = buildKeyRing(set, alg, at);
  const opts = { issuer: 'rotation-test', audience: 'rotation-test', userIdField: 'sub', companyIdField: 'org_id', maxLifetimeSeconds: 60, clockToleranceSeconds: 0, algorithm: alg };
  const { apikey } = await issueKey({ userId: 'test', companyId: 'test' }, ring.signer, { ...opts, now: new Date(at * 1000) });
  const result = verifyToken(apikey, ring, { ...opts, currentDate: new Date(at * 1000) });
  if (!result.ok) throw new Error(`The key set does not verify its own signer's token (${result.reason}).`);
}

/**
 * The four steps of a Secrets Manager rotation
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html).
 * The new key is published at once and signs after a delay; older keys verify until their tokens expire.
 *
 * A rotation schedule created with RotateImmediatelyOnUpdate=false makes Secrets Manager test the setup at
 * deploy time: it runs testSecret alone, on an AWSPENDING version that may be empty or may hold a copy of
 * the current value, then removes it. Every step below is correct for that call too.
 */
async function onRotation(event: RotationEvent): Promise<void> {
  const { Step, SecretId, ClientRequestToken: token } = event;
  const alg = requireEnv(process.env, 'JWT_ALGORITHM');
  if (!isAlgorithm(alg)) throw new Error(`Environment variable JWT_ALGORITHM has unsupported value "${alg}".`);
  const maxLifetimeSeconds = lifetime(process.env.JWT_EXPIRES_IN, 'Environment variable JWT_EXPIRES_IN');
  const publicSecretArn = requireEnv(process.env, 'JWT_PUBLIC_KEYS_SECRET_ARN');
  const sm = secretsClient();
  const meta = await sm.send(new DescribeSecretCommand({ SecretId }));
  const stages = meta.VersionIdsToStages?.[token];
  if (!stages) throw new Error(`Secret version ${token} has no stage; rotation cannot continue.`);
  if (stages.includes('AWSCURRENT')) {
    log('INFO', 'rotation version already current', { step: Step, version: token });
    return;
  }
  if (!stages.includes('AWSPENDING')) throw new Error(`Secret version ${token} is not AWSPENDING; rotation cannot continue.`);

  const currentText = await readText(SecretId, 'AWSCURRENT');
  const pendingText = await readText(SecretId, 'AWSPENDING', token);
  if (Step === 'createSecret') {
    if (pendingText !== undefined) {
      // A retried step (the pending value was written before), or a version that already holds a value:
      // a version cannot be rewritten, so check it rather than write a second one.
      await parseKeySet(pendingText, alg);
      if (pendingText === currentText) log('WARN', 'rotation pending version is a copy of the current value; no new key', { version: token });
      return;
    }
    const current = await readKeySet(currentText, alg);
    const next = await rotateKeySet(current, alg, { now: nowSeconds(), maxLifetimeSeconds });
    // Published before it is even pending: every verifier can know the key long before it signs (I3).
    await publish(publicSecretArn, [current ?? { keys: [] }, next]);
    await sm.send(new PutSecretValueCommand({ SecretId, ClientRequestToken: token, SecretString: JSON.stringify(next), VersionStages: ['AWSPENDING'] }));
    log('INFO', 'rotation created key', { kid: next.keys[0].kid, alg, activatesAt: next.keys[0].activates_at, kept: next.keys.length - 1 });
  } else if (Step === 'testSecret') {
    if (pendingText === undefined) {
      // Secrets Manager's own check of the rotation setup: nothing is pending, so test what is current.
      const current = await readKeySet(currentText, alg);
      if (current) await selfTest(current, alg);
      log('INFO', 'rotation setup tested', { version: token, tested: current ? 'current' : 'nothing' });
      return;
    }
    await selfTest(await parseKeySet(pendingText, alg), alg);
  } else if (Step === 'finishSecret') {
    // Never make an empty or unusable version current: every function would lose its keys.
    if (pendingText === undefined) throw new Error(`Secret version ${token} has no value; it cannot become current.`);
    const pending = await parseKeySet(pendingText, alg);
    await selfTest(pending, alg);
    await publish(publicSecretArn, [pending]);
    const current = Object.entries(meta.VersionIdsToStages ?? {}).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId, VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: current }));
    log('INFO', 'rotation finished', { version: token });
  }
  // setSecret: nothing to push anywhere; verifiers read the secrets themselves.
}

/** One function for both the deploy-time custom resource and scheduled rotation. */
export async function handler(event: CustomResourceEvent | RotationEvent): Promise<unknown> {
  if ('Step' in event) return onRotation(event);
  return onCustomResource(event);
}
