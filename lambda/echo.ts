import type { APIGatewayProxyEventV2WithLambdaAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { json } from './shared/http';

type AnyAuthorizer = { lambda?: Record<string, unknown>; jwt?: { claims?: Record<string, unknown> } };

/**
 * Demo backend used when no backend URL is configured: answers with the caller's identity
 * as the authorizer saw it (Lambda context or JWT claims).
 */
export async function handler(event: APIGatewayProxyEventV2WithLambdaAuthorizer<unknown>): Promise<APIGatewayProxyStructuredResultV2> {
  const authorizer = (event.requestContext.authorizer ?? {}) as AnyAuthorizer;
  const userField = process.env.JWT_USER_ID_FIELD || 'sub';
  const companyField = process.env.JWT_COMPANY_ID_FIELD || 'org_id';
  const claims = authorizer.jwt?.claims;
  const identity = authorizer.lambda
    ? { userId: authorizer.lambda.userId, companyId: authorizer.lambda.companyId, keyId: authorizer.lambda.keyId }
    : { userId: claims?.[userField], companyId: claims?.[companyField], keyId: claims?.jti };
  return json(200, { message: 'Hello from the echo backend', routeKey: event.routeKey, path: event.rawPath, identity });
}
