// Holder binding shared by the verifiers: the credential's key must be one of
// the keys the wallet proved, and each key is bound at most once per batch.
import { calculateJwkThumbprint } from 'jose';

/** cnf.jwk must be one of the proved holder keys and not bound twice. */
export async function holderBinding(cnfJwk, holderKeys, usedKeys) {
  if (!cnfJwk) {
    if (holderKeys) throw new Error('credential has no cnf.jwk although holder keys were proved');
    return { holderKeyThumbprint: null, cnfMatchesHolderKey: null };
  }
  if (cnfJwk.d !== undefined) throw new Error('cnf.jwk contains a private key member');
  const thumbprint = await calculateJwkThumbprint(cnfJwk);
  if (!holderKeys) return { holderKeyThumbprint: thumbprint, cnfMatchesHolderKey: null };
  const match = holderKeys.find((k) => k.kty === cnfJwk.kty && k.crv === cnfJwk.crv && k.x === cnfJwk.x && k.y === cnfJwk.y);
  if (!match) throw new Error(`cnf.jwk (thumbprint ${thumbprint}) is none of the holder keys sent in the proofs`);
  if (usedKeys.has(thumbprint)) throw new Error(`two credentials are bound to the same holder key ${thumbprint}`);
  usedKeys.add(thumbprint);
  return { holderKeyThumbprint: thumbprint, cnfMatchesHolderKey: true };
}
