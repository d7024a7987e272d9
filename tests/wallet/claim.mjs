#!/usr/bin/env node
// Independent OpenID4VCI wallet + SD-JWT VC verifier for Sigil's e2e tests.
//
//   node tests/wallet/claim.mjs < input.json
//
// Input (one JSON object on stdin):
//   {"offer": "openid-credential-offer://?...", "txCode": "493536", "batch": 3,
//    "configurationId": "employee_badge_sd_jwt",      // default: every id in the offer
//    "dpop": true|false,                              // default: if the AS advertises ES256 DPoP
//    "status": {"check": true, "expect": 0},          // status list check of each credential
//    "trustAnchors": ["-----BEGIN CERTIFICATE-----..."],  // IACA roots for mso_mdoc
//    "ignoreTxCodeRequirement": false, "includeRaw": false, "trace": false,
//    "deferred": {"polls": 1}}                        // after a 202: poll now, and output a "session" (lib/deferred.mjs)
//   {"offer": "...", "flow": "authorization_code",   // the authorization code flow (lib/auth-code.mjs):
//    "login": {"username": "user-42", "password": "..."},  // at the upstream OP (lib/browser.mjs)
//    "clientId": "sigil-test-wallet",                 // default; a public client (client_id in the body)
//    "request": "authorization_details"|"scope",      // default authorization_details
//    "redirectUri": "http://127.0.0.1:<port>/cb",     // default: a free loopback port nothing listens on
//    "refresh": false,                                // true: one refresh_token grant + one more credential
//    "cancel": false,                                 // true: abort at the OP (expect stage authorize, access_denied)
//    + configurationId, batch, dpop, status, trustAnchors, includeRaw, trace as above}
//   {"mode": "login", "url": "<sigil /authorize?client_id=...&request_uri=...>",
//    "login": {"username": "user-42", "password": "..."}, "cancel": false,
//    "redirectUri": "<optional: where to stop>",
//    "rewrite": {"from": "<url prefix>", "to": "<url prefix>"}}  // optional: route a redirect elsewhere
//     (only the scripted browser login; prints {"ok": true, "location", "status", "hops"[, "body"]},
//      location null when it stopped on a page that is no redirect to the wallet)
//   {"mode": "verify-only", "credential": "<credential>", "issuer": "<credential_issuer>",
//    "format": "dc+sd-jwt|jwt_vc_json|mso_mdoc", "holderJwk": {...}, "vct": "...",
//    "doctype": "...", "types": [...], "trustAnchors": [...], "now": "<ISO date>"}
//   {"mode": "deferred-poll", "session": <"session" of a claim run with "deferred">, "polls": 1,
//    "notify": [...], "after": 0, "transactionId"?, + status, trustAnchors, includeRaw}
//     (polls each transaction of the session, verifies its credentials, sends the notifications,
//      polls "after" times more; prints {"ok": true, "polls", "credentials", "notifications", "after", "session"})
//   {"mode": "iso-profile", "iaca": "<PEM>", "documentSigner": "<PEM, leaf first>", "now": "<ISO date>"}
//     (the ISO/IEC 18013-5 Annex B profiles of an IACA and its document signer: lib/iso-profile.mjs)
//
// Formats: dc+sd-jwt (@sd-jwt/sd-jwt-vc + jose), jwt_vc_json (jose),
// mso_mdoc (@animo-id/mdoc with node:crypto X.509; needs trustAnchors).
//
// Output: one JSON object on stdout; exit 0 with {"ok": true, ...} or exit 1 with
// {"ok": false, "stage": "input|offer|metadata|authorize|login|token|refresh|nonce|credential|verify",
//  "status", "error", "errorDescription", "message", "trace"}.
// The authorization code flow adds {"flow": "authorization_code", "authorization": {requestUri, redirect,
// state, iss, tokenType, hops}, "refreshed", "refresh"} to the pre-authorized flow's output.
import { claimWithAuthorizationCode } from './lib/auth-code.mjs';
import { login } from './lib/browser.mjs';
import { resumeDeferred } from './lib/deferred.mjs';
import { failure, step, WalletError } from './lib/errors.mjs';
import { tracingFetch } from './lib/http.mjs';
import { checkIsoProfile } from './lib/iso-profile.mjs';
import { claim, verifyOnly } from './lib/wallet.mjs';

/** Only the front channel: Rust tests do PAR and token by hand and script the login with this. */
async function loginOnly(input, fetchFn) {
  if (typeof input.url !== 'string') throw new WalletError('input', 'mode login needs "url"');
  const result = await step('login', () =>
    login(input.url, {
      username: input.login?.username,
      password: input.login?.password,
      cancel: Boolean(input.cancel),
      redirectUri: input.redirectUri,
      rewrite: input.rewrite,
      fetchFn,
    }),
  );
  return {
    ok: true,
    location: result.location,
    status: result.status,
    hops: result.hops,
    ...(result.location === null ? { body: result.body.slice(0, 4000) } : {}),
  };
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const trace = [];
let input = {};
let output;
try {
  try {
    input = JSON.parse(await readStdin());
  } catch (e) {
    throw new WalletError('input', `stdin is not one JSON object: ${e.message}`);
  }
  const fetchFn = tracingFetch(trace);
  if (input.mode === 'verify-only') output = await verifyOnly(input, fetchFn);
  else if (input.mode === 'iso-profile') output = checkIsoProfile(input);
  else if (input.mode === 'login') output = await loginOnly(input, fetchFn);
  else if (input.mode === 'deferred-poll') output = await resumeDeferred(input, fetchFn);
  else if (typeof input.offer === 'string' && input.flow === 'authorization_code') output = await claimWithAuthorizationCode(input, fetchFn);
  else if (typeof input.offer === 'string' && (input.flow ?? 'pre-authorized_code') === 'pre-authorized_code') output = await claim(input, fetchFn);
  else throw new WalletError('input', 'expected {"offer": ..., "flow"?: "pre-authorized_code" | "authorization_code"} or {"mode": "login" | "verify-only" | "iso-profile" | "deferred-poll", ...}');
  if (input.trace) output.trace = trace;
} catch (e) {
  output = failure(e, trace);
}
process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
process.exitCode = output.ok ? 0 : 1;
