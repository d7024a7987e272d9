"""The typed outcomes of the WIT contract other than claims."""

from dataclasses import dataclass


class ClaimError(Exception):
    """Why a provider could not produce claims. Sigil logs the message and
    maps the kind to the wallet's error; the message never reaches wallets."""

    kind = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ClaimError):
    """The subject is unknown to the source."""

    kind = "not-found"


class Denied(ClaimError):
    """The source refuses to issue for this subject (``credential_request_denied``)."""

    kind = "denied"


class InvalidInput(ClaimError):
    """The settings or context given to the plugin are unusable."""

    kind = "invalid-input"


class Upstream(ClaimError):
    """An upstream system failed or answered something unusable."""

    kind = "upstream"


class Internal(ClaimError):
    """Any other failure inside the plugin."""

    kind = "internal"


@dataclass(frozen=True)
class Pending:
    """The claims are not available yet: Sigil defers issuance."""

    interval_seconds: int
    """Seconds the wallet should wait before polling again."""
    reason: str
    """Reason for logs and the admin API (never shown to wallets)."""
