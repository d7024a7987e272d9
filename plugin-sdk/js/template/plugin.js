// template-directory-js: an example claim provider to copy and adapt.
//
// Two modes, chosen by the operator:
//
// * Directory mode: `directory_url` is set in
//   [plugins.grants.template-directory-js.config] (and that origin is in
//   `allowed_hosts`). The plugin GETs `{directory_url}/people/{subjectId}`
//   and maps the person's fields to claims.
// * Offline mode: no `directory_url`. The plugin returns the source's
//   `defaults` overlaid with the claims given inline on the offer.
//
// Build: npx sigil-plugin-build plugin.js --out dist/template-directory-js/template_directory_js.wasm
import { claimProvider, config, log, InvalidInput, NotFound, Upstream } from "sigil-plugin-sdk";

// Directory field -> claim name. Fields the person lacks are left out.
const FIELDS = { givenName: "given_name", familyName: "family_name", email: "email", birthDate: "birthdate" };

export const claims = claimProvider(async (ctx) => {
  const base = config("directory_url");
  if (base === undefined) {
    return { ...(ctx.source.defaults ?? {}), ...(ctx.inlineClaims ?? {}) };
  }
  if (ctx.subjectId === undefined) throw new InvalidInput("no subject id: the directory is looked up by subject");
  log("debug", `looking up a subject in ${base}`);
  // fetch rejects (origin not allowed, service down, ...): the SDK fails the call as Upstream.
  const res = await fetch(`${base.replace(/\/+$/, "")}/people/${encodeURIComponent(ctx.subjectId)}`, {
    headers: { accept: "application/json" },
  });
  if (res.status === 404) throw new NotFound("the directory does not know the subject");
  if (!res.ok) throw new Upstream(`the directory answered HTTP ${res.status}`);
  const person = await res.json();
  return Object.fromEntries(Object.entries(FIELDS).filter(([f]) => f in person).map(([f, c]) => [c, person[f]]));
});
