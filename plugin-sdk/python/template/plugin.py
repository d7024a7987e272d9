"""template-directory-python: an example claim provider to copy and adapt.

Two modes, chosen by the operator:

* Directory mode: ``directory_url`` is set in
  ``[plugins.grants.template-directory-python.config]`` (and that origin is in
  ``allowed_hosts``). The plugin GETs ``{directory_url}/people/{subject_id}``
  and maps the person's fields to claims.
* Offline mode: no ``directory_url``. The plugin returns the source's
  ``defaults`` overlaid with the claims given inline on the offer.

Build: ``sigil-plugin-build plugin --out dist/template-directory-python/template_directory_python.wasm``
"""

from urllib.parse import quote

from sigil_plugin import ClaimContext, InvalidInput, NotFound, claim_provider, config, http, log

# Directory field -> claim name. Fields the person lacks are left out.
FIELDS = {"givenName": "given_name", "familyName": "family_name", "email": "email",
          "birthDate": "birthdate"}


@claim_provider
def resolve(ctx: ClaimContext) -> dict:
    base = config("directory_url")
    if base is None:
        claims = dict(ctx.source.get("defaults", {}))
        claims.update(ctx.inline_claims or {})
        return claims
    if ctx.subject_id is None:
        raise InvalidInput("no subject id: the directory is looked up by subject")
    log("debug", f"looking up a subject in {base}")
    # An uncaught http.HttpError (origin not allowed, timeout, ...) fails
    # the call as Upstream.
    response = http.get(f"{base.rstrip('/')}/people/{quote(ctx.subject_id, safe='')}",
                        headers={"accept": "application/json"})
    if response.status == 404:
        raise NotFound("the directory does not know the subject")
    person = response.raise_for_status().json()
    return {claim: person[field] for field, claim in FIELDS.items() if field in person}
