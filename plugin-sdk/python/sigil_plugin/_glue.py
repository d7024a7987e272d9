"""The export the component model calls: turns the WIT record into a
:class:`ClaimContext`, calls the registered function and turns its answer
or exception into the WIT result. Not public API."""

import json
import traceback

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import sigil_plugin_types as wit

from . import http
from ._context import from_wit
from ._errors import ClaimError, Pending
from ._registry import registered

_ERRORS = {
    "not-found": wit.ClaimError_NotFound,
    "denied": wit.ClaimError_Denied,
    "invalid-input": wit.ClaimError_InvalidInput,
    "upstream": wit.ClaimError_Upstream,
    "internal": wit.ClaimError_Internal,
}


def _outcome(answer):
    if isinstance(answer, Pending):
        return wit.ClaimOutcome_Pending(wit.Pending(int(answer.interval_seconds), str(answer.reason)))
    if isinstance(answer, dict):
        try:
            return wit.ClaimOutcome_Claims(json.dumps(answer))
        except (TypeError, ValueError) as e:
            raise Err(wit.ClaimError_Internal(f"the claims are not JSON-serialisable: {e}")) from None
    raise Err(wit.ClaimError_Internal(
        f"resolve must return a dict of claims or Pending, not {type(answer).__name__}"))


class Claims(exports.Claims):
    """``sigil:plugin/claims``: the one export of a claim provider."""

    def resolve(self, ctx):
        try:
            answer = registered()(from_wit(ctx))
        except ClaimError as e:
            raise Err(_ERRORS[e.kind](e.message)) from None
        except http.HttpError as e:
            raise Err(wit.ClaimError_Upstream(f"{type(e).__name__}: {e}")) from None
        except MemoryError:
            # Out of memory is the sandbox's verdict, not the plugin's: let
            # it trap so Sigil reports the memory limit.
            raise
        except Exception as e:  # noqa: BLE001 - every failure becomes a typed error
            last = traceback.extract_tb(e.__traceback__)[-1:]
            where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
            raise Err(wit.ClaimError_Internal(f"{type(e).__name__}: {e}{where}")) from None
        return _outcome(answer)
