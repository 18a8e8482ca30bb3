import { parseTrustedIssuers, TrustedIssuersError } from '../../../lambda/jwt/trusted-issuers';

const ok = { issuer: 'https://idp.example.com', audience: 'orders-api' };

describe('parseTrustedIssuers', () => {
  it('fills the defaults and keeps the issuer text exactly', () => {
    expect(parseTrustedIssuers([{ ...ok, issuer: 'https://idp.example.com/tenant/' }])).toEqual([
      { issuer: 'https://idp.example.com/tenant/', audience: ['orders-api'], algorithms: ['RS256'], userIdClaim: 'sub' },
    ]);
  });

  it('reads JSON text (context, a file, TRUSTED_ISSUERS) and every field', () => {
    const text = JSON.stringify([
      ok,
      {
        issuer: 'https://login.example.org/t-1/v2.0',
        audience: ['api://orders', 'orders'],
        jwksUri: 'https://login.example.org/t-1/discovery/v2.0/keys?appid=1',
        algorithms: ['RS256', 'ES256', 'EdDSA'],
        userIdClaim: 'oid',
        companyIdClaim: 'https://example.org/claims/org',
        clientIdClaim: 'azp',
      },
    ]);
    expect(parseTrustedIssuers(text)[1]).toEqual({
      issuer: 'https://login.example.org/t-1/v2.0',
      audience: ['api://orders', 'orders'],
      jwksUri: 'https://login.example.org/t-1/discovery/v2.0/keys?appid=1',
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      userIdClaim: 'oid',
      companyIdClaim: 'https://example.org/claims/org',
      clientIdClaim: 'azp',
    });
  });

  it('reads nothing as no issuers', () => {
    expect(parseTrustedIssuers('')).toEqual([]);
    expect(parseTrustedIssuers(undefined)).toEqual([]);
    expect(parseTrustedIssuers('[]')).toEqual([]);
  });

  it('allows plain http on loopback only (local runs and tests)', () => {
    expect(parseTrustedIssuers([{ ...ok, issuer: 'http://127.0.0.1:8080' }, { ...ok, issuer: 'http://localhost:9000/realms/x' }])).toHaveLength(2);
  });

  it.each<[string, unknown, string]>([
    ['not JSON', '[{issuer:', 'trustedIssuers is not valid JSON; expected a list like [{"issuer":"https://idp.example.com","audience":"my-api"}].'],
    ['not a list', { issuer: 'https://x' }, 'trustedIssuers must be a JSON list of {issuer, audience, ...} objects.'],
    ['an entry that is not an object', [ok, 'https://x'], 'trustedIssuers[1] must be an object {issuer, audience, ...}.'],
    ['a plain http issuer', [{ ...ok, issuer: 'http://idp.example.com' }], 'trustedIssuers[0].issuer must use https:// (plain http:// only for 127.0.0.1 or localhost).'],
    ['no issuer', [{ audience: 'a' }], 'trustedIssuers[0].issuer must be a non-empty URL string.'],
    ['an issuer that is no URL', [{ ...ok, issuer: 'idp.example.com' }], 'trustedIssuers[0].issuer is not a valid URL.'],
    ['an issuer with a query', [{ ...ok, issuer: 'https://idp.example.com/?t=1' }], 'trustedIssuers[0].issuer must not have a ?query.'],
    ['an issuer with a fragment', [{ ...ok, issuer: 'https://idp.example.com/#x' }], 'trustedIssuers[0].issuer must not have a #fragment.'],
    ['credentials in the jwksUri', [{ ...ok, jwksUri: 'https://u:p@idp.example.com/keys' }], 'trustedIssuers[0].jwksUri must not hold a user name or password.'],
    ['a plain http jwksUri', [{ ...ok, jwksUri: 'http://idp.example.com/keys' }], 'trustedIssuers[0].jwksUri must use https:// (plain http:// only for 127.0.0.1 or localhost).'],
    ['no audience', [ok, { issuer: 'https://b.example.com' }], 'trustedIssuers[1].audience must be a non-empty string or a non-empty list of them (the aud its tokens carry for this API).'],
    ['an empty audience list', [{ ...ok, audience: [] }], 'trustedIssuers[0].audience must be a non-empty string or a non-empty list of them (the aud its tokens carry for this API).'],
    ['a blank audience', [{ ...ok, audience: ['a', ' '] }], 'trustedIssuers[0].audience must be a non-empty string or a non-empty list of them (the aud its tokens carry for this API).'],
    ['HS256', [{ ...ok, algorithms: ['RS256', 'HS256'] }], 'trustedIssuers[0].algorithms holds HS256: an outside issuer never shares a secret with this API; use its public-key algorithm (RS256, ES256, ...).'],
    ['none', [{ ...ok, algorithms: ['none'] }], 'trustedIssuers[0].algorithms holds an unsupported value; use RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA.'],
    ['an empty algorithm list', [{ ...ok, algorithms: [] }], 'trustedIssuers[0].algorithms must be a non-empty list, e.g. ["RS256"].'],
    ['a claim name with a quote', [{ ...ok, userIdClaim: 'a"b' }], 'trustedIssuers[0].userIdClaim must be a claim name: it must hold printable characters only: no quotes ("), backslashes, control or invisible format characters.'],
    ['an empty claim name', [{ ...ok, companyIdClaim: '' }], 'trustedIssuers[0].companyIdClaim must be a claim name: it must not be empty.'],
    ['a claim name that is not a string', [{ ...ok, clientIdClaim: 1 }], 'trustedIssuers[0].clientIdClaim must be a claim name: it must be a string.'],
    ['a misspelt field', [{ ...ok, audiences: ['x'] }], 'trustedIssuers[0].audiences is not a known field; use issuer, audience, jwksUri, algorithms, userIdClaim, companyIdClaim, clientIdClaim.'],
    ['a repeated issuer', [ok, { issuer: 'https://a.example.com', audience: 'x' }, { ...ok, audience: 'other' }], 'trustedIssuers[2].issuer repeats trustedIssuers[0].issuer; list each issuer once (audience takes a list).'],
  ])('refuses %s, naming the entry and field', (_name, input, message) => {
    expect(() => parseTrustedIssuers(input)).toThrow(new TrustedIssuersError(message));
  });
});
