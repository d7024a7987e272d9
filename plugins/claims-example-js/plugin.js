// claims-example-js: the claims of one subject from an HTTP service.
//
// The credential configuration names the service in its claim source:
//
//   [source]
//   type = "plugin"
//   plugin = "claims-example-js"
//   settings = { url = "http://127.0.0.1:8787/claims" }
//
// The plugin POSTs the issuance context (claims contract version 1, the same
// body Sigil's attribute providers get) and turns the answer into claims, a
// pending answer or a typed error. If the operator set `token` in
// [plugins.grants.claims-example-js.config] it is sent as a bearer token.
// Copy this file to start your own plugin.
import {
  claimProvider, config, log, Denied, InvalidInput, NotFound, Pending, Upstream,
} from "sigil-plugin-sdk";

const PLUGIN_ID = "claims-example-js";

export const claims = claimProvider(async (ctx) => {
  const url = ctx.source.url;
  if (typeof url !== "string" || url === "") {
    throw new InvalidInput("the claim source has no `url` setting: the HTTP service to ask");
  }
  if (ctx.subjectId === undefined) {
    throw new InvalidInput("no subject id: the service is asked for one subject's claims");
  }

  const headers = { accept: "application/json", "content-type": "application/json", "sigil-contract-version": "1" };
  const token = config("token");
  if (token) headers.authorization = `Bearer ${token}`;
  const body = {
    contractVersion: "1",
    source: { type: "plugin", id: PLUGIN_ID },
    tenant: ctx.tenant,
    issuer: ctx.issuer,
    offerId: ctx.offerId,
    credentialConfigurationId: ctx.credentialConfigurationId,
    format: ctx.format,
    subject: { id: ctx.subjectId, holderKeys: ctx.holderKeys },
  };
  const origin = new URL(url).origin;
  // Log what helps operators, never claim values or personal data.
  log("debug", `asking ${origin} for a subject's claims`);
  let response;
  try {
    response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  } catch (e) {
    throw new Upstream(`the claims service at ${origin} did not answer: ${e.message}`);
  }

  if (response.status === 404) throw new NotFound(`the claims service at ${origin} does not know the subject`);
  if (response.status !== 200) throw new Upstream(`the claims service at ${origin} answered HTTP ${response.status}`);
  let answer;
  try {
    answer = await response.json();
  } catch (e) {
    throw new Upstream(`the claims service at ${origin} answered something that is not JSON`);
  }
  if (!answer || typeof answer !== "object" || Array.isArray(answer)) {
    throw new Upstream(`the claims service at ${origin} answered JSON that is not an object`);
  }

  const status = answer.status ?? "ok";
  if (status === "denied") throw new Denied(String(answer.reason ?? "the claims service denied the credential"));
  if (status === "pending") return new Pending(Number(answer.intervalSeconds ?? 30), String(answer.reason ?? ""));
  if (status !== "ok" || !answer.claims || typeof answer.claims !== "object" || Array.isArray(answer.claims)) {
    throw new Upstream(`the claims service at ${origin} answered without a \`claims\` object`);
  }
  return answer.claims;
});
