// The pre-authorized code flow, driven by the OWF oid4vc-ts wallet client
// (@openid4vc/openid4vci Openid4vciClient). Nothing here comes from Sigil.
// The offer/metadata resolution and the credential requests are shared with the
// authorization code flow (lib/auth-code.mjs).
import { createHash, randomBytes } from 'node:crypto';
import { clientAuthenticationAnonymous, preAuthorizedCodeGrantIdentifier, resourceRequest } from '@openid4vc/oauth2';
import { Openid4vciClient, Openid4vciRetrieveCredentialsError, setGlobalConfig } from '@openid4vc/openid4vci';
import { deferredSession } from './deferred.mjs';
import { step, WalletError } from './errors.mjs';
import { IssuerKeys } from './issuer-keys.mjs';
import { KeyRing } from './keys.mjs';
import { verifyCredential } from './verify.mjs';

// Tests run Sigil on http://127.0.0.1; the library insists on https otherwise.
setGlobalConfig({ allowInsecureUrls: true });

/** The library's callbacks; `clientAuthentication` differs per flow. */
export function walletCallbacks(fetchFn, keys, clientAuthentication = clientAuthenticationAnonymous()) {
  return {
    fetch: fetchFn,
    hash: (data, alg) => createHash(alg.replace('-', '')).update(data).digest(),
    generateRandom: (n) => randomBytes(n),
    signJwt: keys.signJwt,
    clientAuthentication,
  };
}

/** Offer (by value or by reference) and the issuer + authorization server metadata. */
export async function resolveOffer(client, offerUri) {
  const offer = await step('offer', () => client.resolveCredentialOffer(offerUri));
  const issuerMetadata = await step('metadata', () => client.resolveIssuerMetadata(offer.credential_issuer));
  const credentialIssuer = issuerMetadata.credentialIssuer.credential_issuer;
  if (credentialIssuer !== offer.credential_issuer) {
    throw new WalletError('metadata', `metadata credential_issuer '${credentialIssuer}' != offer '${offer.credential_issuer}'`);
  }
  return { offer, issuerMetadata, credentialIssuer };
}

/** DPoP when the AS advertises it (override with input.dpop = true|false). */
export async function dpopOptions(input, issuerMetadata, keys) {
  const dpopAdvertised = issuerMetadata.authorizationServers.some((as) => as.dpop_signing_alg_values_supported?.includes('ES256'));
  return (input.dpop ?? dpopAdvertised) ? { signer: { method: 'jwk', alg: 'ES256', publicJwk: await keys.generate() } } : undefined;
}

export async function claim(input, fetchFn) {
  const keys = new KeyRing();
  const callbacks = walletCallbacks(fetchFn, keys);
  const client = new Openid4vciClient({ callbacks });

  const { offer, issuerMetadata, credentialIssuer } = await resolveOffer(client, input.offer);
  let dpop = await dpopOptions(input, issuerMetadata, keys);

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

  const ids = input.configurationId ? [input.configurationId].flat() : offer.credential_configuration_ids;
  const { credentials, deferred } = await requestCredentials({
    client,
    callbacks,
    keys,
    issuerMetadata,
    credentialIssuer,
    input,
    fetchFn,
    accessToken,
    dpop,
    requests: ids.map((configurationId) => ({ configurationId })),
  });

  const notifications = await notify({ client, issuerMetadata, input, credentials, accessToken, dpop });
  // Deferred issuance: poll now if asked, and hand the test what a later run needs to go on.
  const resumable = input.deferred && deferred.length ? await deferredSession({ client, fetchFn, issuerMetadata, credentialIssuer, input, keys, accessToken, dpop, deferred }) : {};

  return {
    ok: true,
    credentialIssuer,
    offer,
    libraryDraftVersion: issuerMetadata.originalDraftVersion,
    dpop: Boolean(dpop),
    token,
    credentials,
    ...(deferred.length ? { deferred } : {}),
    ...(notifications ? { notifications } : {}),
    ...resumable,
  };
}

/**
 * `input.notify`: a list of {event, description?, notificationId?} sent to the notification
 * endpoint (OpenID4VCI §11) with the library's sendNotification, for the first credential
 * response's notification_id unless the entry names another. Each result is recorded with the
 * HTTP status (204 expected) or the error the issuer answered, so tests can check both.
 */
export async function notify({ client, issuerMetadata, input, credentials, accessToken, dpop }) {
  if (!Array.isArray(input.notify)) return undefined;
  const issued = credentials.find((c) => c.notificationId)?.notificationId;
  const results = [];
  for (const entry of input.notify) {
    const notificationId = entry.notificationId ?? issued;
    try {
      const r = await client.sendNotification({
        issuerMetadata,
        notification: { notificationId, event: entry.event, eventDescription: entry.description },
        accessToken,
        dpop,
      });
      results.push({ notificationId, event: entry.event, ok: true, status: r.response?.status });
    } catch (e) {
      // Openid4vciSendNotificationError: the issuer's answer, parsed as a notification error response.
      const parsed = e.response?.notificationErrorResponseResult;
      const error = parsed?.success ? parsed.data.error : e.message;
      results.push({ notificationId, event: entry.event, ok: false, status: e.response?.response?.status, error });
    }
  }
  return results;
}

/**
 * Nonce, `batch` jwt proofs (one fresh holder key each) and one credential request per entry of
 * `requests` ({configurationId, credentialIdentifier?}), then every credential verified.
 * With a `credentialIdentifier` the request carries `credential_identifier` instead of
 * `credential_configuration_id`: Openid4vciClient.retrieveCredentials always sets the latter,
 * so those requests go through the library's `resourceRequest` (same DPoP/nonce handling).
 */
export async function requestCredentials({ client, callbacks, keys, issuerMetadata, credentialIssuer, input, fetchFn, accessToken, dpop, requests, batch = input.batch ?? 1, clientId }) {
  const issuerKeys = new IssuerKeys(fetchFn);
  const credentials = [];
  const deferred = [];
  for (const { configurationId, credentialIdentifier } of requests) {
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
          ...(clientId ? { clientId } : {}),
        }),
      );
      jwt.push(proof.jwt);
    }
    const response = await step('credential', () =>
      credentialIdentifier === undefined
        ? client.retrieveCredentials({ issuerMetadata, credentialConfigurationId: configurationId, proofs: { jwt }, accessToken, dpop })
        : retrieveByIdentifier({ callbacks, issuerMetadata, credentialIdentifier, proofs: { jwt }, accessToken, dpop }),
    );
    if (response.dpop?.nonce && dpop) dpop = { ...dpop, nonce: response.dpop.nonce };
    const body = response.credentialResponse;
    const which = credentialIdentifier === undefined ? {} : { credentialIdentifier };
    if (body.transaction_id) {
      deferred.push({ configurationId, ...which, transactionId: body.transaction_id, interval: body.interval, holderKeys });
      continue;
    }
    credentials.push(...(await verifyResponse({ body, configurationId, which, configuration, credentialIssuer, issuerKeys, holderKeys, input })));
  }
  return { credentials, deferred, dpop };
}

/**
 * The credentials of one credential (or deferred credential) response, each verified and bound
 * to a distinct one of `holderKeys` (the keys proven in the request): one report entry each.
 */
export async function verifyResponse({ body, configurationId, which = {}, configuration, credentialIssuer, issuerKeys, holderKeys, input }) {
  if (!body.credentials?.length || body.credentials.length > holderKeys.length) {
    throw new WalletError('verify', `${configurationId}: ${body.credentials?.length ?? 0} credentials for ${holderKeys.length} proofs`);
  }
  const entries = [];
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
    entries.push({ configurationId, ...which, ...result, ...notificationId, ...(input.includeRaw ? { credential } : {}) });
  }
  return entries;
}

/** A credential request `{credential_identifier, proofs}` (OpenID4VCI 1.0 §8.2). */
async function retrieveByIdentifier({ callbacks, issuerMetadata, credentialIdentifier, proofs, accessToken, dpop }) {
  const response = await resourceRequest({
    callbacks,
    dpop,
    accessToken,
    url: issuerMetadata.credentialIssuer.credential_endpoint,
    requestOptions: {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ credential_identifier: credentialIdentifier, proofs }),
    },
  });
  const text = await response.response.clone().text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const wellFormed = json && (Array.isArray(json.credentials) || typeof json.transaction_id === 'string');
  if (!response.ok || !wellFormed) {
    const credentialErrorResponseResult = typeof json?.error === 'string' ? { success: true, data: json } : undefined;
    throw new Openid4vciRetrieveCredentialsError(
      `Error retrieving credentials from '${issuerMetadata.credentialIssuer.credential_issuer}'`,
      { ...response, ok: false, credentialErrorResponseResult },
      text,
    );
  }
  return { ...response, credentialResponse: json };
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
