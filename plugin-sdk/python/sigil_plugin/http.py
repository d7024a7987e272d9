"""Outbound HTTP through ``wasi:http``.

Sigil lets a request through only to origins the operator allowed for this
plugin; anything else fails with :class:`Denied`. The call is synchronous::

    from sigil_plugin import http

    person = http.get("https://crm.example.com/people/42",
                      headers={"accept": "application/json"}).raise_for_status().json()
"""

import json as _json
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from componentize_py_types import Err, Ok
from wit_world.imports import outgoing_handler
from wit_world.imports import streams
from wit_world.imports import wasi_http_types as t

MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest response body read (the host may cap it lower)."""

_CHUNK = 4096


class HttpError(Exception):
    """Why a request failed. Uncaught, it fails the call as ``Upstream``."""


class Denied(HttpError):
    """The host refused the request: the origin is not allowed for this plugin."""


class InvalidRequest(HttpError):
    """The URL or a header is invalid."""


class Timeout(HttpError):
    """The request did not complete in time."""


class TooLarge(HttpError):
    """The response body was larger than allowed."""


class Status(HttpError):
    """The server answered with an error status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"server answered HTTP {status}")
        self.status = status


class Decode(HttpError):
    """The response body could not be decoded."""


class Transport(HttpError):
    """Any other transport failure (refused connection, DNS, TLS, ...)."""


class Response:
    """A complete response: status, headers (lower-case names) and body."""

    def __init__(self, status: int, headers: List[Tuple[str, bytes]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str) -> Optional[str]:
        """The first value of header ``name``, if present and UTF-8."""
        name = name.lower()
        for n, v in self.headers:
            if n == name:
                try:
                    return v.decode()
                except UnicodeDecodeError:
                    return None
        return None

    @property
    def text(self) -> str:
        """The body as UTF-8 text."""
        try:
            return self.body.decode()
        except UnicodeDecodeError as e:
            raise Decode(f"the body is not UTF-8: {e}") from None

    def json(self) -> Any:
        """The body parsed as JSON."""
        try:
            return _json.loads(self.body)
        except ValueError as e:
            raise Decode(f"the body is not JSON: {e}") from None

    def raise_for_status(self) -> "Response":
        """Raise :class:`Status` unless the status is 2xx; else return self."""
        if not 200 <= self.status < 300:
            raise Status(self.status)
        return self


def _error(code: Any) -> HttpError:
    if isinstance(code, t.ErrorCode_HttpRequestDenied):
        return Denied("origin not allowed for this plugin")
    if isinstance(code, (t.ErrorCode_ConnectionTimeout, t.ErrorCode_ConnectionReadTimeout,
                         t.ErrorCode_HttpResponseTimeout)):
        return Timeout("request timed out")
    if isinstance(code, t.ErrorCode_HttpResponseBodySize):
        return TooLarge("response body too large")
    if isinstance(code, t.ErrorCode_HttpRequestUriInvalid):
        return InvalidRequest("invalid URI")
    if isinstance(code, t.ErrorCode_ConnectionRefused):
        return Transport("connection refused")
    return Transport(type(code).__name__.removeprefix("ErrorCode_"))


def _method(name: str) -> Any:
    known = {
        "GET": t.Method_Get, "POST": t.Method_Post, "PUT": t.Method_Put,
        "DELETE": t.Method_Delete, "PATCH": t.Method_Patch, "HEAD": t.Method_Head,
    }
    upper = name.upper()
    return known[upper]() if upper in known else t.Method_Other(upper)


def request(method: str, url: str, *, headers: Optional[Dict[str, str]] = None,
            body: Optional[bytes] = None, json: Any = None,
            timeout: Optional[float] = None) -> Response:
    """Send one request and read the whole response.

    ``json`` serialises a value as the body with ``content-type:
    application/json``; ``timeout`` (seconds) bounds the connection and the
    first byte (the plugin's own deadline still applies)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequest(f"URL must start with http:// or https://: {url}")
    fields: List[Tuple[str, bytes]] = [(k.lower(), v.encode()) for k, v in (headers or {}).items()]
    if json is not None:
        body = _json.dumps(json).encode()
        if not any(k == "content-type" for k, _ in fields):
            fields.append(("content-type", b"application/json"))
    try:
        header_fields = t.Fields.from_list(fields)
    except Err as e:
        raise InvalidRequest(f"invalid header: {type(e.value).__name__}") from None
    outgoing = t.OutgoingRequest(header_fields)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        outgoing.set_method(_method(method))
        outgoing.set_scheme(t.Scheme_Https() if parts.scheme == "https" else t.Scheme_Http())
        outgoing.set_authority(parts.netloc)
        outgoing.set_path_with_query(path)
    except Err:
        raise InvalidRequest(f"invalid request line for {url}") from None
    outgoing_body = outgoing.body()
    options = None
    if timeout is not None:
        options = t.RequestOptions()
        nanos = int(timeout * 1e9)
        options.set_connect_timeout(nanos)
        options.set_first_byte_timeout(nanos)
    try:
        future = outgoing_handler.handle(outgoing, options)
    except Err as e:
        raise _error(e.value) from None
    if body:
        with outgoing_body.write() as stream:
            for i in range(0, len(body), _CHUNK):
                try:
                    stream.blocking_write_and_flush(body[i:i + _CHUNK])
                except Err as e:
                    raise Transport(f"writing the body: {type(e.value).__name__}") from None
    t.OutgoingBody.finish(outgoing_body, None)
    with future:
        result = future.get()
        while result is None:
            with future.subscribe() as ready:
                ready.block()
            result = future.get()
    if isinstance(result, Err) or isinstance(result.value, Err):
        code = result.value.value if isinstance(result, Ok) else None
        raise _error(code) if code is not None else Transport("response already taken")
    with result.value.value as incoming:
        status = incoming.status()
        with incoming.headers() as h:
            response_headers = h.entries()
        received = _read(incoming.consume())
    return Response(status, response_headers, received)


def _read(incoming_body: Any) -> bytes:
    chunks = []
    size = 0
    with incoming_body.stream() as stream:
        while True:
            try:
                chunk = stream.blocking_read(65536)
            except Err as e:
                if isinstance(e.value, streams.StreamError_Closed):
                    break
                raise Transport("reading the body failed") from None
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise TooLarge(f"response body larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
    t.IncomingBody.finish(incoming_body)
    return b"".join(chunks)


def get(url: str, **kwargs: Any) -> Response:
    """``request("GET", url, ...)``."""
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> Response:
    """``request("POST", url, ...)``."""
    return request("POST", url, **kwargs)
