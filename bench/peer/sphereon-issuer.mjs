// A public npm OpenID4VCI issuer, run beside Sigil by `PEER=sphereon bench/run.sh`
// so the bench's figures stand next to a peer's on the same machine.
//
// The protocol is Sphereon's: `@sphereon/oid4vci-issuer-server` (express
// routes: metadata, create offer, offer by reference, token, nonce,
// credential) over `@sphereon/oid4vci-issuer` (`VcIssuer`: offer sessions,
// pre-authorized code grant, c_nonce state, proof-of-possession checks, the
// credential response), with its in-memory state managers. What this file
// adds is what the library leaves to its user:
//   * the issuer key: one ES256 key generated with `jose` at start;
//   * the access token signer and verifier, and the proof JWT verifier
//     (`jose`: the signature with the proof header's `jwk`); the library
//     checks the proof's `typ`, `alg`, `aud`, `iat` and `c_nonce` itself;
//   * the credential data supplier: the claims come with the offer
//     (`credentialDataSupplierInput`), like Sigil's inline claims;
//   * quiet logs, as Sigil runs at RUST_LOG=warn: `@sphereon/ssi-types` prints
//     every event it emits (offer created, credential issued, …) with
//     console.info, whatever the log options (it resets them on each emit);
//     console.info, .log and .debug are muted here, .warn and .error are not.
//     PEER_INFO_LOGS=1 keeps them;
//   * the credential signer: an SD-JWT VC (`dc+sd-jwt`, ES256) with the four
//     claims selectively disclosable, built by `@sd-jwt/sd-jwt-vc`, bound to
//     the proof's key (`cnf.jwk`, set by the library).
//
//   PORT=8123 node bench/peer/sphereon-issuer.mjs
//   # prints {"port":8123,"url":"http://127.0.0.1:8123","pid":…} once listening;
//   # SIGTERM or SIGINT stops it.
//
// Create an offer (pre-authorized code, offer by reference):
//   POST /webapp/credential-offers
//   {"credential_configuration_ids": ["employee_badge_sd_jwt"], "offerMode": "REFERENCE",
//    "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {}},
//    "credentialDataSupplierInput": {"given_name": "Ada", …}}
//   → {"uri": "openid-credential-offer://?credential_offer_uri=…", …}
import { createHash, randomBytes } from 'node:crypto';

import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { OID4VCIServer } from '@sphereon/oid4vci-issuer-server';
import { MemoryStates, VcIssuerBuilder } from '@sphereon/oid4vci-issuer';
import { ExpressBuilder } from '@sphereon/ssi-express-support';
import { base64url, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose';

if (process.env.PEER_INFO_LOGS !== '1') {
  console.info = console.log = console.debug = () => {};
}

const PORT = Number(process.env.PORT ?? 0) || 8123;
const HOST = '127.0.0.1';
const BASE = `http://${HOST}:${PORT}`;
const CONFIGURATION = 'employee_badge_sd_jwt';
const VCT = 'https://credentials.sigil.example/employee_badge';
const VALIDITY_SECONDS = 31_536_000;

// The issuer key: signs the access tokens and the credentials.
const issuerKey = await generateKeyPair('ES256', { extractable: true });
const issuerJwk = await exportJWK(issuerKey.publicKey);
const kid = 'issuer-key-1';

const sdjwt = new SDJwtVcInstance({
  signAlg: 'ES256',
  hashAlg: 'sha-256',
  hasher: (data) => createHash('sha256').update(data).digest(),
  saltGenerator: () => base64url.encode(randomBytes(16)),
  signer: async (input) => {
    const sig = await crypto.subtle.sign(
      { name: 'ECDSA', hash: 'SHA-256' },
      issuerKey.privateKey,
      new TextEncoder().encode(input),
    );
    return base64url.encode(new Uint8Array(sig));
  },
});

// Verifies a proof of possession for the library: signed by the key in its
// header's `jwk`, which then binds the credential (the library checks `typ`,
// `alg`, `aud`, `iat` and the `c_nonce`).
async function verifyProof({ jwt }) {
  const header = decodeProtectedHeader(jwt);
  if (!header.jwk) throw new Error('the proof has no jwk in its header');
  const { payload } = await jwtVerify(jwt, await importJWK(header.jwk, 'ES256'), { algorithms: ['ES256'] });
  return { jwt: { header, payload }, alg: header.alg, jwk: header.jwk };
}

// Verifies an access token at the credential endpoint: signed by the issuer
// key, not expired.
async function verifyAccessToken({ jwt }) {
  const { payload, protectedHeader } = await jwtVerify(jwt, issuerKey.publicKey, { algorithms: ['ES256'] });
  return { jwt: { header: protectedHeader, payload } };
}

const credentialConfiguration = {
  format: 'dc+sd-jwt',
  vct: VCT,
  scope: 'employee_badge',
  cryptographic_binding_methods_supported: ['jwk'],
  credential_signing_alg_values_supported: ['ES256'],
  proof_types_supported: { jwt: { proof_signing_alg_values_supported: ['ES256'] } },
  display: [{ name: 'Employee Badge', locale: 'en-US' }],
  claims: ['given_name', 'family_name', 'employee_id', 'department'].map((name) => ({ path: [name] })),
};

const vcIssuer = new VcIssuerBuilder()
  .withCredentialIssuer(BASE)
  .withCredentialEndpoint(`${BASE}/credential`)
  .withNonceEndpoint(`${BASE}/nonce`)
  .withTokenEndpoint(`${BASE}/token`)
  .withIssuerDisplay({ name: 'Sphereon peer', locale: 'en-US' })
  .withCredentialConfigurationsSupported({ [CONFIGURATION]: credentialConfiguration })
  .withAuthorizationMetadata({
    issuer: BASE,
    token_endpoint: `${BASE}/token`,
    'pre-authorized_grant_anonymous_access_supported': true,
  })
  .withInMemoryCredentialOfferState()
  .withInMemoryCNonceState()
  .withCredentialOfferURIStateManager(new MemoryStates())
  .withJWTVerifyCallback(verifyProof)
  .withCredentialDataSupplier(async ({ credentialDataSupplierInput }) => {
    const iat = Math.floor(Date.now() / 1000);
    return {
      format: 'dc+sd-jwt',
      credential: { ...credentialDataSupplierInput, iss: BASE, iat, exp: iat + VALIDITY_SECONDS, vct: VCT },
    };
  })
  .withCredentialSignerCallback(async ({ credential }) =>
    sdjwt.issue(credential, { _sd: ['given_name', 'family_name', 'employee_id', 'department'] }, { header: { kid } }),
  )
  .build();

const expressSupport = ExpressBuilder.fromServerOpts({ port: PORT, hostname: HOST }).build({ startListening: false });
new OID4VCIServer(expressSupport, {
  issuer: vcIssuer,
  baseUrl: BASE,
  endpointOpts: {
    tokenEndpointOpts: {
      accessTokenSignerCallback: async ({ header, payload }) =>
        new SignJWT(payload).setProtectedHeader({ ...header, alg: 'ES256', kid }).sign(issuerKey.privateKey),
      accessTokenVerificationCallback: verifyAccessToken,
      tokenExpiresIn: 300,
    },
    // The offer URI answers once per offer (OFFER_CREATED), like Sigil's.
    createCredentialOfferOpts: { defaultCredentialOfferMode: 'REFERENCE' },
    nonceOpts: { baseUrl: BASE },
  },
});
const { server } = expressSupport.start();
server.on('listening', () => {
  process.stdout.write(`${JSON.stringify({ port: PORT, url: BASE, pid: process.pid, jwk: issuerJwk })}\n`);
});
const stop = () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 2000).unref();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
