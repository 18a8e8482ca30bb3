import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { JwtAuthorizers } from '../../local/api/jwt-authorizer';
import type { IdentityFacts } from '../../local/api/identity-source';
import type { AuthorizerModel } from '../../local/api/model';

let server: Server;
let issuer: string;
let privateKey: CryptoKey;
const fetched: string[] = [];

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  server = createServer((req, res) => {
    fetched.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys.json` }));
    else if (req.url === '/keys.json') res.end(JSON.stringify({ keys: [jwk] }));
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const authorizer = (): AuthorizerModel => ({ logicalId: 'J', id: 'j1', name: 'J', type: 'JWT', identitySource: ['$request.header.Authorization'], ttlSeconds: 0, simpleResponses: false, payloadFormatVersion: '2.0', jwt: { issuer, audience: ['jwt-api'] } });
const facts = (authorization?: string): IdentityFacts => ({ headers: authorization ? { authorization } : {}, query: {}, stageVariables: {}, context: () => undefined });
const sign = (claims: JWTPayload, exp: number | string = '1h') => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(issuer).setIssuedAt().setExpirationTime(exp).sign(privateKey);

describe('JwtAuthorizers (API Gateway JWT authorizer)', () => {
  const jwt = new JwtAuthorizers();

  it('accepts a valid token (with or without Bearer) and shows claims as strings, keys found through discovery', async () => {
    const token = await sign({ sub: 'user-42', aud: 'jwt-api', roles: ['a', 'b'], n: 7 });
    const decision = await jwt.authorize(authorizer(), [], facts(`Bearer ${token}`));
    expect(decision).toMatchObject({ allow: true, claims: { sub: 'user-42', aud: 'jwt-api', roles: '[a b]', n: '7' } });
    expect((await jwt.authorize(authorizer(), [], facts(token))).allow).toBe(true);
    expect(fetched).toEqual(['/.well-known/openid-configuration', '/keys.json']);
  });

  it('answers 401 with www-authenticate naming the problem', async () => {
    const reason = async (auth?: string) => {
      const d = await jwt.authorize(authorizer(), [], facts(auth));
      return d.allow ? 'allowed' : `${d.status} ${d.headers?.['www-authenticate'] ?? ''}`;
    };
    expect(await reason()).toBe('401 ');
    expect(await reason(`Bearer ${await sign({ aud: 'jwt-api' }, Math.floor(Date.now() / 1000) - 60)}`)).toContain('error_description="the token has expired"');
    expect(await reason(`Bearer ${await sign({ aud: 'other' })}`)).toContain('the token does not have a valid audience');
    expect(await reason(`Bearer not-a-jwt`)).toContain('the token is not a valid JWT');
    const hs = await new SignJWT({ aud: 'jwt-api' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(issuer).setExpirationTime('1h').sign(new TextEncoder().encode('x'.repeat(32)));
    expect(await reason(`Bearer ${hs}`)).toContain('signing method HS256 is invalid');
  });

  it('takes client_id when there is no aud, and enforces route scopes with a 403', async () => {
    expect((await jwt.authorize(authorizer(), [], facts(await sign({ client_id: 'jwt-api' })))).allow).toBe(true);
    const token = await sign({ aud: 'jwt-api', scope: 'read write' });
    expect((await jwt.authorize(authorizer(), ['write'], facts(token))).allow).toBe(true);
    expect(await jwt.authorize(authorizer(), ['admin'], facts(token))).toMatchObject({ allow: false, status: 403, message: 'Forbidden' });
  });
});
