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
//    "ignoreTxCodeRequirement": false, "includeRaw": false, "trace": false}
//   {"mode": "verify-only", "credential": "<credential>", "issuer": "<credential_issuer>",
//    "format": "dc+sd-jwt|jwt_vc_json|mso_mdoc", "holderJwk": {...}, "vct": "...",
//    "doctype": "...", "types": [...], "trustAnchors": [...], "now": "<ISO date>"}
//   {"mode": "iso-profile", "iaca": "<PEM>", "documentSigner": "<PEM, leaf first>", "now": "<ISO date>"}
//     (the ISO/IEC 18013-5 Annex B profiles of an IACA and its document signer: lib/iso-profile.mjs)
//
// Formats: dc+sd-jwt (@sd-jwt/sd-jwt-vc + jose), jwt_vc_json (jose),
// mso_mdoc (@animo-id/mdoc with node:crypto X.509; needs trustAnchors).
//
// Output: one JSON object on stdout; exit 0 with {"ok": true, ...} or exit 1 with
// {"ok": false, "stage": "offer|metadata|token|nonce|credential|verify", "status", "error", "message", "trace"}.
import { failure, WalletError } from './lib/errors.mjs';
import { tracingFetch } from './lib/http.mjs';
import { checkIsoProfile } from './lib/iso-profile.mjs';
import { claim, verifyOnly } from './lib/wallet.mjs';

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
  else if (typeof input.offer === 'string') output = await claim(input, fetchFn);
  else throw new WalletError('input', 'expected {"offer": ...} or {"mode": "verify-only" | "iso-profile", ...}');
  if (input.trace) output.trace = trace;
} catch (e) {
  output = failure(e, trace);
}
process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
process.exitCode = output.ok ? 0 : 1;
