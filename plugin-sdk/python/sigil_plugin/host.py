"""Host services: the operator's settings and logging."""

from typing import Optional

from wit_world.imports import host as _host

_LEVELS = {
    "trace": _host.Level.TRACE,
    "debug": _host.Level.DEBUG,
    "info": _host.Level.INFO,
    "warn": _host.Level.WARN,
    "error": _host.Level.ERROR,
}


def config(key: str) -> Optional[str]:
    """A setting the operator gave this plugin (``[plugins.grants.<id>.config]``)."""
    return _host.config(key)


def log(level: str, message: str) -> None:
    """Write a log line at ``trace``, ``debug``, ``info``, ``warn`` or ``error``.

    Sigil tags it with the plugin id and caps its size. Never log claim
    values or secrets."""
    _host.log(_LEVELS.get(level, _host.Level.INFO), message)
