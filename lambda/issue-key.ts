import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { readJwtEnv, type JwtEnv } from './shared/env';
import { InputError, issueKey, parseIssueRequest } from './jwt/issue';
import { signerAt, type KeyRing } from './jwt/jwk-set';
import { KeySourceUnavailableError, signingKeys, type KeySource } from './jwt/key-source';
import { errorFields, log } from './shared/log';
import { isAllowedMinter } from './shared/minters';
import { json } from './shared/http';

interface State {
  env: JwtEnv;
  keys: KeySource<KeyRing>;
  minters: string[];
}
let state: State | undefined;

function init(): State {
  if (!state) {
    const env = readJwtEnv();
    const minters = (process.env.KEY_MINTER_ROLE_ARNS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    state = { env, minters, keys: signingKeys(env) };
  }
  return state;
}

/** The key that signs now; a cached set may predate a rotation's hand-over, so re-read it once. */
async function currentSigner(keys: KeySource<KeyRing>, env: JwtEnv) {
  const now = () => Math.floor(Date.now() / 1000);
  const signer = signerAt(await keys.get(), env.algorithm, now());
  if (signer || !(await keys.refresh())) return signer;
  return signerAt(await keys.get(), env.algorithm, now());
}

function decodeBody(event: APIGatewayProxyEventV2): string | undefined {
  if (event.body === undefined) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/** POST /keys (IAM-authorized): mints an API key for a customer's user and company. */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const requestId = event.requestContext?.requestId;
  try {
    const { env, keys, minters } = init();
    const caller = (event.requestContext as { authorizer?: { iam?: { userArn?: string } } }).authorizer?.iam?.userArn;
    // Defence in depth: IAM already checked the mint policy; this pins the minter to the portal's roles.
    if (!isAllowedMinter(caller, minters)) {
      log('WARN', 'mint refused for caller', { caller, requestId });
      return json(403, { error: 'forbidden', message: 'This caller may not mint keys.' });
    }
    const request = parseIssueRequest(decodeBody(event), env.maxLifetimeSeconds);
    const signer = await currentSigner(keys, env);
    if (!signer) throw new KeySourceUnavailableError(`No ${env.algorithm} key signs now.`);
    const issued = await issueKey(request, signer, env);
    // The log names the key, its owner and its minter; never the token.
    log('INFO', 'key issued', { keyId: issued.key_id, kid: signer.kid, userId: request.userId, companyId: request.companyId, caller, expiresAt: issued.expires_at, requestId });
    return json(201, issued);
  } catch (err) {
    if (err instanceof InputError) return json(400, { error: 'invalid_request', field: err.field, message: err.message });
    if (err instanceof KeySourceUnavailableError) {
      log('ERROR', 'signing key unavailable', { ...errorFields(err), requestId });
      return json(503, { error: 'unavailable', message: 'The signing key cannot be read right now; retry later.' }, { 'retry-after': '5' });
    }
    log('ERROR', 'key issue failed', { ...errorFields(err), requestId });
    return json(500, { error: 'internal_error', message: 'The key could not be issued.', requestId });
  }
}
