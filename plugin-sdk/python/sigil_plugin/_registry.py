"""The one function a plugin module registers."""

from typing import Callable, Optional

_resolver: Optional[Callable] = None


def claim_provider(function: Callable) -> Callable:
    """Register ``function(ctx) -> dict | Pending`` as this plugin's ``resolve``.

    A module registers exactly one function."""
    global _resolver
    if _resolver is not None and _resolver is not function:
        raise RuntimeError(
            f"a claim provider is already registered ({_resolver.__name__}); "
            "a plugin has exactly one"
        )
    _resolver = function
    return function


def registered() -> Callable:
    """The registered function (the build fails when there is none)."""
    if _resolver is None:
        raise RuntimeError("no function is decorated with @claim_provider")
    return _resolver
