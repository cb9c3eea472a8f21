"""Azure Functions' ``local.settings.json``: its ``Values`` and ``ConnectionStrings``, as Core Tools reads them.

Core Tools puts each of ``Values`` in the host's environment under its own name and each connection string under
``ConnectionStrings:<name>`` (what .NET's ``GetConnectionString`` and ``Environment.GetEnvironmentVariable`` read
locally), then resolves the Key Vault references among them. An encrypted file (``"IsEncrypted": true``, after
``func settings encrypt``) is refused: it can only be decrypted on the machine that encrypted it, by Core Tools.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from kvconfig.platforms._document import Document, read_document
from kvconfig.sources import ConfigSource

__all__ = ["CONNECTION_STRING_PREFIX", "from_local_settings"]

#: The environment name of a connection string is this prefix and its name, as Core Tools sets it.
CONNECTION_STRING_PREFIX = "ConnectionStrings:"

_WHAT = "local.settings.json"


def from_local_settings(path: str | os.PathLike[str]) -> ConfigSource:
    """Read ``local.settings.json``: its settings under the environment names the Functions host gives them.

    ``Values`` keep their names; ``ConnectionStrings`` become ``ConnectionStrings:<name>`` (a connection string may
    be a string or the older ``{"ConnectionString": ..., "ProviderName": ...}`` object). A value of ``null`` is left
    out, as Core Tools skips it; numbers and booleans become text as .NET writes them (``5``, ``True``). Each setting's
    origin is its file and line. Raises :class:`PlatformError` for an encrypted file, a section that is not an
    object, or a value that is an object or a list.
    """
    document = read_document(path, _WHAT)
    data = document.data
    if not isinstance(data, Mapping):
        raise document.fail((), "local.settings.json holds an object with 'IsEncrypted', 'Values' and more.")
    if _truthy(data.get("IsEncrypted")):
        raise document.fail(
            ("IsEncrypted",),
            "local.settings.json is encrypted (IsEncrypted: true): only Core Tools can decrypt it, on the machine "
            "that encrypted it. Run 'func settings decrypt' there first.",
        )
    settings: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, value, where in _section(document, "Values"):
        settings[name], origins[name] = value, where
    for name, value, where in _section(document, "ConnectionStrings"):
        key = CONNECTION_STRING_PREFIX + name
        settings[key], origins[key] = value, where
    return ConfigSource(settings, origins, "functions", document.path, text=None)


def _section(document: Document, section: str) -> list[tuple[str, str, str]]:
    data = document.data.get(section)
    if data is None:
        return []
    if not isinstance(data, Mapping):
        raise document.fail((section,), f"'{section}' in local.settings.json is an object of names and values.")
    found = []
    for name, value in data.items():
        path: tuple[str, ...] = (section, str(name))
        if not str(name).strip():
            raise document.fail(path, f"a setting of '{section}' has an empty name.")
        if section == "ConnectionStrings" and isinstance(value, Mapping) and "ConnectionString" in value:
            path = (*path, "ConnectionString")
            value = value["ConnectionString"]
        if value is None:
            continue
        if isinstance(value, Mapping | list):
            raise document.fail(path, f"setting {name!r} of '{section}' is an object or a list; Functions takes text.")
        found.append((str(name), _as_text(value), document.origin(path)))
    return found


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")
