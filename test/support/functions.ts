import type * as Authorizer from '../../lambda/authorizer';
import type * as Discovery from '../../lambda/discovery';
import type * as IssueKey from '../../lambda/issue-key';

export const TEST_ISSUER = 'https://abc123.execute-api.us-east-1.amazonaws.com';

export interface Functions {
  authorize: typeof Authorizer.handler;
  issue: typeof IssueKey.handler;
  discovery: typeof Discovery.handler;
}

/** Variables a previous test may have set that change behaviour when merely present. */
const OPTIONAL = ['KEY_MINTER_ROLE_ARNS', 'JWT_ACCEPT_PORTAL_TOKENS', 'MOESIF_GOVERNANCE', 'MOESIF_BASE_URL', 'MOESIF_APPLICATION_ID_SECRET_ARN'];

/**
 * Loads fresh copies of the function modules (so their module-scope caches start empty) with the
 * environment the stack would set: these defaults, overridden by `env` (which must name JWT_SECRET_ARN
 * and JWT_ALGORITHM).
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
      issue: require('../../lambda/issue-key').handler,
      discovery: require('../../lambda/discovery').handler,
    };
  });
  return functions;
}
