"""Sigil claim providers in Python.

Write one function and decorate it::

    from sigil_plugin import ClaimContext, NotFound, claim_provider, http

    @claim_provider
    def resolve(ctx: ClaimContext) -> dict:
        person = http.get(f"{ctx.source['url']}/{ctx.subject_id}").json()
        return {"given_name": person["first"], "family_name": person["last"]}

`sigil-plugin-build` (``python -m sigil_plugin_build``) turns the module
into a WebAssembly component that Sigil loads like any other plugin. Sigil
calls ``resolve`` on a fresh sandbox for every credential: keep no state
between calls.

What ``resolve`` may return or raise:

* a ``dict``: the claims of the credential;
* :class:`Pending`: the claims are not ready, issuance is deferred;
* :class:`NotFound`, :class:`Denied`, :class:`InvalidInput`,
  :class:`Upstream` or :class:`Internal`: the typed errors of the WIT
  contract (an uncaught :class:`http.HttpError` becomes ``Upstream``, any
  other exception ``Internal``).
"""

from ._context import ClaimContext
from ._errors import ClaimError, Denied, Internal, InvalidInput, NotFound, Pending, Upstream
from ._registry import claim_provider
from .host import config, log
from . import http

__all__ = [
    "ClaimContext",
    "ClaimError",
    "Denied",
    "Internal",
    "InvalidInput",
    "NotFound",
    "Pending",
    "Upstream",
    "claim_provider",
    "config",
    "http",
    "log",
]
