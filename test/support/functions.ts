import type * as Authorizer from '../../lambda/authorizer';
import type * as Discovery from '../../lambda/discovery';
import type * as KeyAdmin from '../../lambda/key-admin';
import { LocalDynamoDb } from './dynamodb';

export const TEST_ISSUER = 'https://abc123.execute-api.us-east-1.amazonaws.com';

export interface Functions {
  authorize: typeof Authorizer.handler;
  /** The key-admin function (POST /keys and the admin routes). */
  issue: typeof KeyAdmin.handler;
  discovery: typeof Discovery.handler;
}

/** Variables a previous test may have set that change behaviour when merely present. */
const OPTIONAL = ['KEY_MINTER_ROLE_ARNS', 'JWT_ACCEPT_PORTAL_TOKENS', 'MOESIF_GOVERNANCE', 'MOESIF_BASE_URL', 'MOESIF_APPLICATION_ID_SECRET_ARN', 'STAGE_BUMP_QUEUE_URL', 'REVOCATION_FAIL_MODE', 'AUTHORIZER_CACHE_TTL_SECONDS'];

/**
 * A key registry on a local DynamoDB (dynalite) for the tests of one file: call at the top level of the
 * file; `table()` makes a fresh, empty registry table for one set of functions.
 */
export function localRegistry(): { table: () => Promise<string> } {
  const db = new LocalDynamoDb();
  beforeAll(() => db.start());
  afterAll(() => db.stop());
  return { table: () => db.createTable() };
}

/**
 * Loads fresh copies of the function modules (so their module-scope caches start empty) with the
 * environment the stack would set: these defaults, overridden by `env` (which must name the key secrets,
 * JWT_ALGORITHM and KEY_REGISTRY_TABLE).
 */
export function loadFunctions(env: Record<string, string>): Functions {
  for (const name of OPTIONAL) delete process.env[name];
  Object.assign(process.env, {
    JWT_ISSUER: TEST_ISSUER,
    JWT_AUDIENCE: 'jwt-api',
    JWT_USER_ID_FIELD: 'sub',
    JWT_COMPANY_ID_FIELD: 'org_id',
    JWT_EXPIRES_IN: '3600',
    ...env,
  });
  let functions!: Functions;
  jest.isolateModules(() => {
    functions = {
      authorize: require('../../lambda/authorizer').handler,
      issue: require('../../lambda/key-admin').handler,
      discovery: require('../../lambda/discovery').handler,
    };
  });
  return functions;
}
