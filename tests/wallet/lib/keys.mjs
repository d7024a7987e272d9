// Holder / DPoP keys (jose) and the signJwt callback the wallet library calls.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';

export class KeyRing {
  #private = new Map(); // JWK thumbprint -> CryptoKey

  /** A fresh extractable P-256 key; returns its public JWK. */
  async generate() {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    this.#private.set(await calculateJwkThumbprint(jwk), privateKey);
    return jwk;
  }

  /** The private JWK of one of our keys (to resume a session in another run: deferred issuance). */
  async exportPrivate(publicJwk) {
    const key = this.#private.get(await calculateJwkThumbprint(publicJwk));
    if (!key) throw new Error('exportPrivate: unknown key');
    return exportJWK(key);
  }

  /** Adopt a key exported by `exportPrivate`; returns its public JWK. */
  async importPrivate(privateJwk) {
    const { d: _d, ...publicJwk } = privateJwk;
    this.#private.set(await calculateJwkThumbprint(publicJwk), await importJWK(privateJwk, 'ES256', { extractable: true }));
    return publicJwk;
  }

  /** `SignJwtCallback` of @openid4vc/oauth2: only `jwk` signers are ours. */
  signJwt = async (signer, { header, payload }) => {
    if (signer.method !== 'jwk') throw new Error(`wallet cannot sign for signer method '${signer.method}'`);
    const key = this.#private.get(await calculateJwkThumbprint(signer.publicJwk));
    if (!key) throw new Error('signJwt: unknown holder key');
    const jwt = await new SignJWT(payload).setProtectedHeader(header).sign(key);
    return { jwt, signerJwk: signer.publicJwk };
  };
}
