import { timingSafeEqual } from 'node:crypto';
import type { AuthorizerOutput } from './events';

/** An authorizer's answer for one request. */
export type Decision =
  | { allow: true; output: AuthorizerOutput; values: Record<string, string>; claims?: Record<string, string>; principalId?: string }
  | { allow: false; status: number; message: string; headers?: Record<string, string>; error?: string };

export const UNAUTHORIZED = { allow: false, status: 401, message: 'Unauthorized' } as const;
export const FORBIDDEN = { allow: false, status: 403, message: 'Forbidden' } as const;
export const INTERNAL_ERROR = { allow: false, status: 500, message: 'Internal Server Error' } as const;

/** The header that stands in for a SigV4 signature on AWS_IAM routes locally. */
export const ADMIN_TOKEN_HEADER = 'x-admin-token';

/** The local admin identity an `x-admin-token` request presents as, as API Gateway reports an IAM caller. */
export interface IamPrincipal {
  userArn: string;
  accountId: string;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * AWS_IAM authorization, locally: the start's admin token in `x-admin-token` instead of a SigV4
 * signature. Anything else (unsigned, or signed for real AWS) is refused as an unsigned request is.
 */
export function authorizeIam(headers: Record<string, string>, adminToken: string, principal: IamPrincipal): Decision {
  const token = headers[ADMIN_TOKEN_HEADER];
  if (token === undefined || !sameSecret(token, adminToken)) return FORBIDDEN;
  const roleSession = principal.userArn.split('/').slice(1).join(':');
  const iam = {
    accessKey: 'ASIALOCALADMIN000000',
    accountId: principal.accountId,
    callerId: `AROALOCALADMIN000000:${roleSession}`,
    cognitoIdentity: null,
    principalOrgId: null,
    userArn: principal.userArn,
    userId: `AROALOCALADMIN000000:${roleSession}`,
  };
  return { allow: true, output: { kind: 'iam', iam }, values: {} };
}

/** Whether an IAM policy an authorizer returned allows `execute-api:Invoke` on `resourceArn` (an explicit Deny wins). */
export function policyAllows(policy: unknown, resourceArn: string): boolean {
  const statements = [(policy as { Statement?: unknown } | undefined)?.Statement ?? []].flat() as { Effect?: string; Action?: unknown; Resource?: unknown }[];
  const glob = (pattern: string, value: string) => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+^${}()|[\]\\?]/g, '\\$&')).join('.*')}$`).test(value);
  const applies = (s: { Action?: unknown; Resource?: unknown }) =>
    [s.Action ?? []].flat().some((a) => glob(String(a), 'execute-api:Invoke')) && [s.Resource ?? []].flat().some((r) => glob(String(r), resourceArn));
  if (statements.some((s) => s.Effect === 'Deny' && applies(s))) return false;
  return statements.some((s) => s.Effect === 'Allow' && applies(s));
}
