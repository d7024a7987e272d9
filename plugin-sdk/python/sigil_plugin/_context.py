"""The context of one claims request, as plain Python values."""

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from ._errors import InvalidInput


@dataclass(frozen=True)
class ClaimContext:
    """Everything Sigil knows about the credential being issued."""

    tenant: str
    """Tenant the offer belongs to (``default`` for the root issuer)."""
    issuer: str
    """The tenant's credential issuer identifier (URL)."""
    offer_id: str
    """Offer id as returned by the admin API."""
    credential_configuration_id: str
    """Id of the credential configuration being issued."""
    format: str
    """Format of that configuration (``dc+sd-jwt``, ``jwt_vc_json``, ``mso_mdoc``, ...)."""
    source: dict
    """Claim source settings for this call (from the configuration or the offer)."""
    inline_claims: Optional[dict] = None
    """Claims given inline on the offer, if any."""
    id_token_claims: Optional[dict] = None
    """Claims of the upstream ID token (authorization code flow), if any."""
    subject_id: Optional[str] = None
    """Stable subject identifier, when known."""
    holder_keys: list = field(default_factory=list)
    """Holder public keys (JWK dicts) the wallet proved possession of."""


def _parse(what: str, text: Optional[str]) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as e:
        raise InvalidInput(f"{what} is not valid JSON: {e}") from None


def from_wit(raw: Any) -> ClaimContext:
    """Build a :class:`ClaimContext` from the generated WIT record."""
    source = _parse("source", raw.source)
    return ClaimContext(
        tenant=raw.tenant,
        issuer=raw.issuer,
        offer_id=raw.offer_id,
        credential_configuration_id=raw.credential_configuration_id,
        format=raw.format,
        source=source if isinstance(source, dict) else {},
        inline_claims=_parse("inline-claims", raw.inline_claims),
        id_token_claims=_parse("id-token-claims", raw.id_token_claims),
        subject_id=raw.subject.id,
        holder_keys=[_parse("holder-key", k) for k in raw.subject.holder_keys],
    )
