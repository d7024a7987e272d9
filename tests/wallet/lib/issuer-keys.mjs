// Resolves the key that signed an issuer JWT: `kid` looked up in the JWT VC
// Issuer Metadata (`<origin>/.well-known/jwt-vc-issuer<path>`), else `x5c[0]`.
import { decodeProtectedHeader, importJWK, importX509 } from 'jose';

export const ISSUER_ALGS = ['ES256', 'ES384', 'ES512', 'EdDSA'];

export class IssuerKeys {
  #metadata = new Map(); // issuer -> Promise<{issuer, jwks}>

  constructor(fetchFn) {
    this.fetch = fetchFn;
  }

  /** `header` is a decoded JOSE header; `issuer` the credential's `iss`. */
  async resolve(header, issuer) {
    if (!ISSUER_ALGS.includes(header.alg)) throw new Error(`issuer JWT alg '${header.alg}' not accepted`);
    if (header.kid !== undefined) {
      const { jwks } = await this.metadata(issuer);
      const jwk = jwks.keys.find((k) => k.kid === header.kid);
      if (!jwk) throw new Error(`kid '${header.kid}' not in the jwt-vc-issuer JWKS of ${issuer}`);
      return { key: await importJWK(jwk, header.alg), source: 'jwt-vc-issuer', jwk };
    }
    if (Array.isArray(header.x5c) && header.x5c.length > 0) {
      const pem = `-----BEGIN CERTIFICATE-----\n${header.x5c[0]}\n-----END CERTIFICATE-----`;
      return { key: await importX509(pem, header.alg), source: 'x5c' };
    }
    throw new Error('issuer JWT header has neither kid nor x5c');
  }

  /** For the SD-JWT library's `verifier(data, sig)`: the header is in `data`. */
  headerOf(signingInput) {
    return decodeProtectedHeader(`${signingInput}.`);
  }

  metadata(issuer) {
    if (!this.#metadata.has(issuer)) this.#metadata.set(issuer, this.#load(issuer));
    return this.#metadata.get(issuer);
  }

  async #load(issuer) {
    const url = new URL(issuer);
    const path = url.pathname.replace(/\/$/, '');
    const wellKnown = `${url.origin}/.well-known/jwt-vc-issuer${path}`;
    const metadata = await getJson(this.fetch, wellKnown);
    if (metadata.issuer !== issuer) {
      throw new Error(`${wellKnown}: issuer '${metadata.issuer}' != credential iss '${issuer}'`);
    }
    const jwks = metadata.jwks ?? (metadata.jwks_uri && (await getJson(this.fetch, metadata.jwks_uri)));
    if (!Array.isArray(jwks?.keys)) throw new Error(`${wellKnown}: no jwks/jwks_uri with keys`);
    return { issuer: metadata.issuer, jwks, url: wellKnown };
  }
}

async function getJson(fetchFn, url) {
  const response = await fetchFn(url, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response.json();
}
