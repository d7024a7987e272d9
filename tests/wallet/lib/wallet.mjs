// The pre-authorized code flow, driven by the OWF oid4vc-ts wallet client
// (@openid4vc/openid4vci Openid4vciClient). Nothing here comes from Sigil.
import { createHash, randomBytes } from 'node:crypto';
import { clientAuthenticationAnonymous, preAuthorizedCodeGrantIdentifier } from '@openid4vc/oauth2';
import { Openid4vciClient, setGlobalConfig } from '@openid4vc/openid4vci';
import { step, WalletError } from './errors.mjs';
import { IssuerKeys } from './issuer-keys.mjs';
import { KeyRing } from './keys.mjs';
import { verifyCredential } from './verify.mjs';

// Tests run Sigil on http://127.0.0.1; the library insists on https otherwise.
setGlobalConfig({ allowInsecureUrls: true });

export async function claim(input, fetchFn) {
  const keys = new KeyRing();
  const client = new Openid4vciClient({
    callbacks: {
      fetch: fetchFn,
      hash: (data, alg) => createHash(alg.replace('-', '')).update(data).digest(),
      generateRandom: (n) => randomBytes(n),
      signJwt: keys.signJwt,
      clientAuthentication: clientAuthenticationAnonymous(),
    },
  });

  const offer = await step('offer', () => client.resolveCredentialOffer(input.offer));
  const issuerMetadata = await step('metadata', () => client.resolveIssuerMetadata(offer.credential_issuer));
  const credentialIssuer = issuerMetadata.credentialIssuer.credential_issuer;
  if (credentialIssuer !== offer.credential_issuer) {
    throw new WalletError('metadata', `metadata credential_issuer '${credentialIssuer}' != offer '${offer.credential_issuer}'`);
  }

  // DPoP when the AS advertises it (override with input.dpop = true|false).
  const dpopAdvertised = issuerMetadata.authorizationServers.some((as) => as.dpop_signing_alg_values_supported?.includes('ES256'));
  let dpop = (input.dpop ?? dpopAdvertised) ? { signer: { method: 'jwk', alg: 'ES256', publicJwk: await keys.generate() } } : undefined;

  const credentialOffer = structuredClone(offer);
  if (input.ignoreTxCodeRequirement) delete credentialOffer.grants?.[preAuthorizedCodeGrantIdentifier]?.tx_code;
  const tokenResult = await step('token', () =>
    client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
      txCode: input.txCode === undefined || input.txCode === null ? undefined : String(input.txCode),
      dpop,
    }),
  );
  dpop = tokenResult.dpop ?? dpop;
  const { access_token: accessToken, ...token } = tokenResult.accessTokenResponse;

  const batch = input.batch ?? 1;
  const ids = input.configurationId ? [input.configurationId].flat() : offer.credential_configuration_ids;
  const issuerKeys = new IssuerKeys(fetchFn);
  const credentials = [];
  const deferred = [];
  for (const configurationId of ids) {
    const configuration = issuerMetadata.credentialIssuer.credential_configurations_supported[configurationId];
    const { c_nonce: nonce } = await step('nonce', () => client.requestNonce({ issuerMetadata }));
    const holderKeys = [];
    const jwt = [];
    for (let i = 0; i < batch; i++) {
      const publicJwk = await keys.generate();
      holderKeys.push(publicJwk);
      const proof = await step('credential', () =>
        client.createCredentialRequestJwtProof({
          issuerMetadata,
          credentialConfigurationId: configurationId,
          signer: { method: 'jwk', alg: 'ES256', publicJwk },
          nonce,
          issuedAt: new Date(),
        }),
      );
      jwt.push(proof.jwt);
    }
    const response = await step('credential', () =>
      client.retrieveCredentials({ issuerMetadata, credentialConfigurationId: configurationId, proofs: { jwt }, accessToken, dpop }),
    );
    if (response.dpop?.nonce && dpop) dpop = { ...dpop, nonce: response.dpop.nonce };
    const body = response.credentialResponse;
    if (body.transaction_id) {
      deferred.push({ configurationId, transactionId: body.transaction_id, interval: body.interval });
      continue;
    }
    if (!body.credentials?.length || body.credentials.length > batch) {
      throw new WalletError('verify', `${configurationId}: ${body.credentials?.length ?? 0} credentials for ${batch} proofs`);
    }
    const usedKeys = new Set();
    const notificationId = body.notification_id ? { notificationId: body.notification_id } : {};
    for (const { credential } of body.credentials) {
      const result = await step('verify', () =>
        verifyCredential({
          credential,
          format: configuration?.format,
          credentialIssuer,
          issuerKeys,
          holderKeys,
          usedKeys,
          expectedVct: configuration?.vct,
          expectedDoctype: configuration?.doctype,
          expectedTypes: configuration?.credential_definition?.type,
          trustAnchors: input.trustAnchors,
          status: input.status,
        }),
      );
      credentials.push({ configurationId, ...result, ...notificationId, ...(input.includeRaw ? { credential } : {}) });
    }
  }

  return {
    ok: true,
    credentialIssuer,
    offer,
    libraryDraftVersion: issuerMetadata.originalDraftVersion,
    dpop: Boolean(dpop),
    token,
    credentials,
    ...(deferred.length ? { deferred } : {}),
  };
}

export async function verifyOnly(input, fetchFn) {
  const result = await step('verify', () =>
    verifyCredential({
      credential: input.credential,
      format: input.format ?? 'dc+sd-jwt',
      credentialIssuer: input.issuer,
      issuerKeys: new IssuerKeys(fetchFn),
      holderKeys: input.holderJwk ? [input.holderJwk] : null,
      usedKeys: new Set(),
      expectedVct: input.vct,
      expectedDoctype: input.doctype,
      expectedTypes: input.types,
      trustAnchors: input.trustAnchors,
      now: input.now,
      status: input.status,
    }),
  );
  return { ok: true, credentialIssuer: input.issuer, credentials: [result] };
}
