// Sigil claim providers in JavaScript (sigil:plugin@0.1.0).
//
// Write one function and export it as `claims`:
//
//   import { claimProvider, NotFound } from "sigil-plugin-sdk";
//
//   export const claims = claimProvider(async (ctx) => {
//     const res = await fetch(`${ctx.source.url}/${ctx.subjectId}`);
//     if (res.status === 404) throw new NotFound("unknown subject");
//     const person = await res.json();
//     return { given_name: person.first, family_name: person.last };
//   });
//
// `sigil-plugin-build` (bin/build.mjs) turns the module into a WebAssembly
// component with componentize-js. `fetch` goes through wasi:http: Sigil lets
// it reach only the origins the operator allowed for this plugin. Sigil
// calls `resolve` on a fresh sandbox for every credential: keep no state
// between calls.

import * as host from "sigil:plugin/host@0.1.0";

/** Why a provider could not produce claims; the message is logged by Sigil, never shown to wallets. */
export class ClaimError extends Error {
  constructor(message, kind = "internal") {
    super(message);
    this.name = new.target.name;
    this.kind = kind;
  }
}

/** The subject is unknown to the source. */
export class NotFound extends ClaimError {
  constructor(message) { super(message, "not-found"); }
}

/** The source refuses to issue for this subject (`credential_request_denied`). */
export class Denied extends ClaimError {
  constructor(message) { super(message, "denied"); }
}

/** The settings or context given to the plugin are unusable. */
export class InvalidInput extends ClaimError {
  constructor(message) { super(message, "invalid-input"); }
}

/** An upstream system failed or answered something unusable. */
export class Upstream extends ClaimError {
  constructor(message) { super(message, "upstream"); }
}

/** Any other failure inside the plugin. */
export class Internal extends ClaimError {
  constructor(message) { super(message, "internal"); }
}

/** The claims are not available yet: Sigil defers issuance. */
export class Pending {
  /**
   * @param {number} intervalSeconds seconds the wallet should wait before polling again
   * @param {string} reason for logs and the admin API (never shown to wallets)
   */
  constructor(intervalSeconds, reason) {
    this.intervalSeconds = intervalSeconds;
    this.reason = reason;
  }
}

const LEVELS = new Set(["trace", "debug", "info", "warn", "error"]);

/** Write a log line (`trace` … `error`); never log claim values or secrets. */
export function log(level, message) {
  host.log(LEVELS.has(level) ? level : "info", String(message));
}

/** A setting the operator gave this plugin (`[plugins.grants.<id>.config]`), or undefined. */
export function config(key) {
  return host.config(key) ?? undefined;
}

function parse(what, text) {
  if (text === undefined || text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InvalidInput(`${what} is not valid JSON: ${e.message}`);
  }
}

/** The WIT record as a plain object with camelCase members and parsed JSON. */
function context(raw) {
  const source = parse("source", raw.source);
  return Object.freeze({
    tenant: raw.tenant,
    issuer: raw.issuer,
    offerId: raw.offerId,
    credentialConfigurationId: raw.credentialConfigurationId,
    format: raw.format,
    source: source && typeof source === "object" && !Array.isArray(source) ? source : {},
    inlineClaims: parse("inline-claims", raw.inlineClaims),
    idTokenClaims: parse("id-token-claims", raw.idTokenClaims),
    subjectId: raw.subject.id ?? undefined,
    holderKeys: raw.subject.holderKeys.map((k) => parse("holder-key", k)),
  });
}

function failure(e) {
  if (e instanceof ClaimError) return { tag: e.kind, val: e.message };
  if (e instanceof TypeError && /fetch|network/i.test(e.message)) {
    // fetch rejects with a TypeError when the host refuses or the service is down.
    return { tag: "upstream", val: `fetch failed: ${e.message}` };
  }
  return { tag: "internal", val: `${e?.name ?? "Error"}: ${e?.message ?? String(e)}` };
}

function outcome(answer) {
  if (answer instanceof Pending) {
    return { tag: "pending", val: { intervalSeconds: answer.intervalSeconds >>> 0, reason: String(answer.reason) } };
  }
  if (answer && typeof answer === "object" && !Array.isArray(answer)) {
    return { tag: "claims", val: JSON.stringify(answer) };
  }
  throw new Internal(`resolve must return an object of claims or a Pending, not ${Array.isArray(answer) ? "an array" : typeof answer}`);
}

/**
 * Wrap `resolve(ctx) -> claims | Pending` (sync or async) as the `claims`
 * export of the component.
 */
export function claimProvider(resolve) {
  return {
    async resolve(raw) {
      try {
        return outcome(await resolve(context(raw)));
      } catch (e) {
        // componentize-js turns a thrown `{ payload }` into the result's error.
        const err = new Error("claim error");
        err.payload = failure(e);
        throw err;
      }
    },
  };
}
