"""claims-example-python: the claims of one subject from an HTTP service.

The credential configuration names the service in its claim source::

    [source]
    type = "plugin"
    plugin = "claims-example-python"
    settings = { url = "http://127.0.0.1:8787/claims" }

The plugin POSTs the issuance context (claims contract version 1, the same
body Sigil's attribute providers get) and turns the answer into claims, a
pending answer or a typed error. If the operator set ``token`` in
``[plugins.grants.claims-example-python.config]`` it is sent as a bearer
token. Copy this file to start your own plugin.
"""

from urllib.parse import urlsplit

from sigil_plugin import (ClaimContext, Denied, InvalidInput, NotFound, Pending, Upstream,
                          claim_provider, config, http, log)

PLUGIN_ID = "claims-example-python"


@claim_provider
def resolve(ctx: ClaimContext):
    url = ctx.source.get("url")
    if not isinstance(url, str) or not url:
        raise InvalidInput("the claim source has no `url` setting: the HTTP service to ask")
    if ctx.subject_id is None:
        raise InvalidInput("no subject id: the service is asked for one subject's claims")

    headers = {"accept": "application/json", "sigil-contract-version": "1"}
    token = config("token")
    if token:
        headers["authorization"] = f"Bearer {token}"
    body = {
        "contractVersion": "1",
        "source": {"type": "plugin", "id": PLUGIN_ID},
        "tenant": ctx.tenant,
        "issuer": ctx.issuer,
        "offerId": ctx.offer_id,
        "credentialConfigurationId": ctx.credential_configuration_id,
        "format": ctx.format,
        "subject": {"id": ctx.subject_id, "holderKeys": ctx.holder_keys},
    }
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    # Log what helps operators, never claim values or personal data.
    log("debug", f"asking {origin} for a subject's claims")
    try:
        response = http.post(url, json=body, headers=headers, timeout=3.0)
    except http.HttpError as e:
        raise Upstream(f"the claims service at {origin} did not answer: {e}") from None

    if response.status == 404:
        raise NotFound(f"the claims service at {origin} does not know the subject")
    if response.status != 200:
        raise Upstream(f"the claims service at {origin} answered HTTP {response.status}")
    try:
        answer = response.json()
    except http.HttpError as e:
        raise Upstream(f"the claims service at {origin} answered {e}") from None
    if not isinstance(answer, dict):
        raise Upstream(f"the claims service at {origin} answered JSON that is not an object")

    status = answer.get("status", "ok")
    if status == "denied":
        raise Denied(str(answer.get("reason", "the claims service denied the credential")))
    if status == "pending":
        return Pending(int(answer.get("intervalSeconds", 30)), str(answer.get("reason", "")))
    claims = answer.get("claims")
    if status != "ok" or not isinstance(claims, dict):
        raise Upstream(f"the claims service at {origin} answered without a `claims` object")
    return claims
