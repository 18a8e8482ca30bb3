/**
 * The construct library: `JwtApiKeys` for an HTTP API you already have, the parts it is made of, and the
 * standalone stack (`JwtApiStack`) with the validator both front doors use.
 */
export { JwtApiKeys, type JwtApiKeysProps } from './jwt-api-keys';
export type { JwtApiKeysSettings } from './jwt-api-keys-settings';
export { JwtApiStack, type JwtApiStackProps } from './jwt-api-stack';
export { ConfigError, configFromProps, loadConfig, type AppConfig, type AuthorizerConfig, type ConfigSources, type JwtConfig, type MoesifConfig } from './config';
export { SETTINGS, settingsTable } from './settings';
export { AccessLog, accessLogFields, type AccessLogProps } from './constructs/access-log';
export { AuthorizerCacheBump, REVOCATION_STAGE_VARIABLE, type AuthorizerCacheBumpProps } from './constructs/authorizer-cache-bump';
export { Dashboard, type DashboardProps } from './constructs/dashboard';
export { JwksDiscovery, DISCOVERY_PATHS, type JwksDiscoveryProps } from './constructs/jwks-discovery';
export { JwtAuthorizer, type JwtAuthorizerProps, type LambdaJwtAuthorizerProps, type NativeJwtAuthorizerProps } from './constructs/jwt-authorizer';
export { KeyAdmin, KEY_ROUTES, type KeyAdminProps } from './constructs/key-admin';
export { KeyRegistry, type KeyRegistryProps } from './constructs/key-registry';
export { MoesifApplicationId } from './constructs/moesif-application-id';
export { MoesifForwarding, type MoesifForwardingProps } from './constructs/moesif-forwarding';
export { SigningKey } from './constructs/signing-key';
export type { Algorithm } from '../lambda/jwt/algorithms';
export type { TrustedIssuerInput } from '../lambda/jwt/trusted-issuers';
