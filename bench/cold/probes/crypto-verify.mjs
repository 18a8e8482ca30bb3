// Probe: the least any verifying authorizer loads: node:crypto, one RS256 public key from a JWK, one verify.
import { createPublicKey, verify } from 'node:crypto';

const JWK = { kty: 'RSA', e: 'AQAB', n: 'sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw' };

export async function handler() {
  const key = createPublicKey({ key: JWK, format: 'jwk' });
  verify('sha256', Buffer.from('x'), key, Buffer.alloc(256));
  return { isAuthorized: true };
}
