// The authorization code flow (OpenID4VCI 1.0 §3.4), driven by the OWF oid4vc-ts
// wallet client: PAR + PKCE (S256) + optional DPoP, a scripted login at the
// upstream OP (lib/browser.mjs), the RFC 9207 `iss` check, the code exchange,
// the credential requests shared with the pre-authorized flow, and optionally one
// refresh_token grant. Nothing here comes from Sigil.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { authorizationCodeGrantIdentifier, clientAuthenticationNone, getAuthorizationServerMetadataFromList, Oauth2Client } from '@openid4vc/oauth2';
import { determineAuthorizationServerForCredentialOffer, extractScopesForCredentialConfigurationIds, Openid4vciClient } from '@openid4vc/openid4vci';
import { login } from './browser.mjs';
import { step, WalletError } from './errors.mjs';
import { KeyRing } from './keys.mjs';
import { dpopOptions, requestCredentials, resolveOffer, walletCallbacks } from './wallet.mjs';

export const DEFAULT_CLIENT_ID = 'sigil-test-wallet';

export async function claimWithAuthorizationCode(input, fetchFn) {
  if (typeof input.login?.username !== 'string' && !input.cancel) {
    throw new WalletError('input', 'the authorization code flow needs "login": {"username": ...}');
  }
  const clientId = input.clientId ?? DEFAULT_CLIENT_ID;
  const keys = new KeyRing();
  // A public client: `client_id` in the body of the PAR and token requests, no secret.
  const callbacks = walletCallbacks(fetchFn, keys, clientAuthenticationNone({ clientId }));
  const client = new Openid4vciClient({ callbacks });
  const oauth2 = new Oauth2Client({ callbacks });

  const { offer, issuerMetadata, credentialIssuer } = await resolveOffer(client, input.offer);
  const grant = offer.grants?.[authorizationCodeGrantIdentifier];
  if (!grant) throw new WalletError('offer', 'the offer has no authorization_code grant');
  const as = await step('metadata', () =>
    getAuthorizationServerMetadataFromList(
      issuerMetadata.authorizationServers,
      determineAuthorizationServerForCredentialOffer({ issuerMetadata, grantAuthorizationServer: grant.authorization_server }),
    ),
  );
  let dpop = await dpopOptions(input, issuerMetadata, keys);

  // What to ask for: authorization_details of type openid_credential (default) or the
  // configurations' `scope` values.
  const ids = input.configurationId ? [input.configurationId].flat() : offer.credential_configuration_ids;
  const mode = input.request ?? 'authorization_details';
  const ask = {};
  if (mode === 'authorization_details') {
    ask.authorization_details = ids.map((id) => ({ type: 'openid_credential', credential_configuration_id: id }));
  } else if (mode === 'scope') {
    const scopes = await step('authorize', () =>
      extractScopesForCredentialConfigurationIds({ credentialConfigurationIds: ids, issuerMetadata, throwOnConfigurationWithoutScope: true }),
    );
    ask.scope = scopes.join(' ');
  } else {
    throw new WalletError('input', `"request" must be "authorization_details" or "scope", not ${JSON.stringify(mode)}`);
  }

  const redirectUri = input.redirectUri ?? `http://127.0.0.1:${await unusedPort()}/cb`;
  const state = randomBytes(16).toString('base64url');
  // Oauth2Client, not Openid4vciClient.createAuthorizationRequestUrlFromOffer: the latter drops
  // `state`. Same request otherwise: issuer_state from the offer, resource = credential_issuer,
  // PKCE from code_challenge_methods_supported, PAR when the AS has the endpoint (DPoP proof on it).
  const authorization = await step('authorize', () =>
    oauth2.createAuthorizationRequestUrl({
      authorizationServerMetadata: as,
      clientId,
      redirectUri,
      state,
      scope: ask.scope,
      resource: credentialIssuer,
      additionalRequestPayload: {
        ...(grant.issuer_state === undefined ? {} : { issuer_state: grant.issuer_state }),
        ...(ask.authorization_details ? { authorization_details: ask.authorization_details } : {}),
      },
      dpop,
    }),
  );
  if (!authorization.pkce) throw new WalletError('authorize', `the AS ${as.issuer} advertises no code_challenge_methods_supported (no PKCE)`);
  if (authorization.pkce.codeChallengeMethod !== 'S256') {
    throw new WalletError('authorize', `PKCE method ${authorization.pkce.codeChallengeMethod}, expected S256`);
  }
  dpop = authorization.dpop ?? dpop;
  const requestUri = new URL(authorization.authorizationRequestUrl).searchParams.get('request_uri');

  const front = await step('login', () =>
    login(authorization.authorizationRequestUrl, {
      username: input.login?.username,
      password: input.login?.password,
      cancel: Boolean(input.cancel),
      fetchFn,
      redirectUri,
    }),
  );
  if (!front.location) {
    throw new WalletError(
      'login',
      `the login stopped at HTTP ${front.status} after ${front.hops.at(-1)} without reaching ${redirectUri}: ${front.body.slice(0, 300)}`,
      { status: front.status },
    );
  }
  const response = checkAuthorizationResponse(front.location, { redirectUri, state, issuer: as.issuer });

  const tokenResult = await step('token', () =>
    client.retrieveAuthorizationCodeAccessTokenFromOffer({
      credentialOffer: offer,
      issuerMetadata,
      authorizationCode: response.code,
      pkceCodeVerifier: authorization.pkce.codeVerifier,
      redirectUri,
      dpop,
    }),
  );
  dpop = tokenResult.dpop ?? dpop;
  const { access_token: accessToken, refresh_token: refreshToken, ...token } = tokenResult.accessTokenResponse;
  checkTokenType(token.token_type, dpop, 'token');

  const requests = credentialRequests(ids, token.authorization_details);
  const common = { client, callbacks, keys, issuerMetadata, credentialIssuer, input, fetchFn, clientId };
  const issued = await requestCredentials({ ...common, accessToken, dpop, requests });
  dpop = issued.dpop;
  const { credentials, deferred } = issued;

  let refreshed = false;
  let refresh;
  if (input.refresh && refreshToken) {
    const refreshResult = await step('refresh', () =>
      oauth2.retrieveRefreshTokenAccessToken({ authorizationServerMetadata: as, refreshToken, resource: credentialIssuer, dpop }),
    );
    dpop = refreshResult.dpop ?? dpop;
    const { access_token: newAccessToken, refresh_token: newRefreshToken, ...refreshBody } = refreshResult.accessTokenResponse;
    checkTokenType(refreshBody.token_type, dpop, 'refresh');
    refresh = { ...refreshBody, refreshTokenRotated: newRefreshToken !== undefined && newRefreshToken !== refreshToken };
    const again = await requestCredentials({
      ...common,
      accessToken: newAccessToken,
      dpop,
      requests: credentialRequests(ids, refreshBody.authorization_details ?? token.authorization_details).slice(0, 1),
      batch: 1,
    });
    credentials.push(...again.credentials.map((c) => ({ ...c, afterRefresh: true })));
    deferred.push(...again.deferred.map((d) => ({ ...d, afterRefresh: true })));
    refreshed = true;
  }

  return {
    ok: true,
    flow: 'authorization_code',
    credentialIssuer,
    offer,
    libraryDraftVersion: issuerMetadata.originalDraftVersion,
    dpop: Boolean(dpop),
    authorization: {
      requestUri,
      redirect: front.location,
      state: response.state,
      iss: response.iss,
      tokenType: token.token_type,
      hops: front.hops,
    },
    token: { ...token, hasRefreshToken: refreshToken !== undefined },
    refreshed,
    ...(refresh ? { refresh } : {}),
    credentials,
    ...(deferred.length ? { deferred } : {}),
  };
}

/**
 * The redirect back to the wallet: same state, `iss` = the AS issuer (RFC 9207, required
 * here since Sigil advertises authorization_response_iss_parameter_supported), then code or error.
 */
function checkAuthorizationResponse(location, { redirectUri, state, issuer }) {
  const url = new URL(location);
  const params = Object.fromEntries(url.searchParams);
  const problems = [];
  if (`${url.origin}${url.pathname}` !== redirectUri) problems.push(`redirected to ${url.origin}${url.pathname}, not ${redirectUri}`);
  if (params.state !== state) problems.push(`state ${JSON.stringify(params.state)} != ${JSON.stringify(state)}`);
  if (params.iss === undefined) problems.push('no iss parameter (RFC 9207)');
  else if (params.iss !== issuer) problems.push(`iss ${JSON.stringify(params.iss)} != authorization server issuer ${JSON.stringify(issuer)}`);
  if (params.error !== undefined) {
    const also = problems.length ? ` (also: ${problems.join('; ')})` : '';
    throw new WalletError('authorize', `authorization error response: ${params.error}${also}`, {
      error: params.error,
      description: params.error_description,
    });
  }
  if (!params.code) problems.push('no code parameter');
  if (problems.length) throw new WalletError('authorize', `authorization response ${location}: ${problems.join('; ')}`);
  return params;
}

function checkTokenType(tokenType, dpop, stage) {
  const expected = dpop ? 'dpop' : 'bearer';
  if (String(tokenType).toLowerCase() !== expected) {
    throw new WalletError(stage, `token_type ${JSON.stringify(tokenType)}, expected ${dpop ? 'DPoP' : 'Bearer'}`);
  }
}

/**
 * One request per credential_identifiers entry of the token response's openid_credential
 * authorization_details; configurations without one are requested by credential_configuration_id.
 */
function credentialRequests(ids, authorizationDetails) {
  const requests = [];
  const covered = new Set();
  for (const detail of authorizationDetails ?? []) {
    if (detail?.type !== 'openid_credential' || typeof detail.credential_configuration_id !== 'string') continue;
    const identifiers = Array.isArray(detail.credential_identifiers) ? detail.credential_identifiers : [];
    for (const credentialIdentifier of identifiers) requests.push({ configurationId: detail.credential_configuration_id, credentialIdentifier });
    if (identifiers.length) covered.add(detail.credential_configuration_id);
  }
  for (const configurationId of ids) {
    if (!covered.has(configurationId)) requests.push({ configurationId });
  }
  return requests;
}

/** A loopback port nothing listens on (bound, then released), for the redirect URI. */
function unusedPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
