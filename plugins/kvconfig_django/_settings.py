"""Resolving references in a Django settings module (``resolve_settings``, ``env``) and what was recorded."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from kvconfig import ResolutionFailure, ResolvedSettings, SecretResolver

__all__ = [
    "clear_records",
    "env",
    "find_references",
    "recorded_failures",
    "reference_origins",
    "references",
    "resolve_settings",
]

PathPart = str | int

_lock = threading.Lock()
_references: dict[str, str] = {}
_origins: dict[str, str] = {}  # setting -> where its reference came from, for failures and statuses
_failures: dict[str, ResolutionFailure] = {}


def resolve_settings(
    namespace: MutableMapping[str, Any],
    *,
    resolver: SecretResolver | None = None,
    defer_errors: bool = False,
    origin: str = "settings",
) -> ResolvedSettings:
    """Resolve every Key Vault reference in the UPPER_CASE settings of ``namespace`` (usually ``globals()``), in
    nested dicts and lists too (``DATABASES["default"]["PASSWORD"]``), in one concurrent batch, and write the values
    back. Returns the values written, keyed like ``DATABASES.default.PASSWORD``.

    Raises :class:`~kvconfig.ResolutionError` listing every failure; with ``defer_errors=True`` failing settings keep
    their reference text and the failures are left to the system check (``manage.py check``, and ``runserver``'s
    checks, report them as ``kvconfig.E001``). A reference held directly by a tuple (which cannot take the value)
    raises ``TypeError`` before anything is read or written.
    """
    flat, paths = find_references(namespace)
    # Every place is checked before the vault is read or anything written: a reference in a tuple must not leave the
    # settings half-resolved.
    containers = {key: _container(namespace, path) for key, path in paths.items()}
    with _lock:
        _references.update(flat)
        _origins.update(dict.fromkeys(flat, origin))
    owned = resolver is None
    active = resolver if resolver is not None else SecretResolver(embedded=True)
    try:
        report = active.resolve_report(flat, origins=dict.fromkeys(flat, origin))
    finally:
        if owned:
            active.close()
    # A resolver that keeps or omits failures (on_failure) defers them as well: their reference text stays.
    if not defer_errors and active.on_failure == "raise":
        report.raise_for_failures()
    values, failures = report.values, report.failures
    with _lock:
        for key in flat:
            _failures.pop(key, None)
        _failures.update({failure.setting: failure for failure in failures})
    written = ResolvedSettings()
    for key, value in values.items():
        if key in paths and value != flat[key]:
            containers[key][paths[key][-1]] = value
            written[key] = value
    return written


def env(name: str, default: str | None = None, *, resolver: SecretResolver | None = None) -> str | None:
    """``os.environ.get(name, default)``, resolved if it is a Key Vault reference (read at once, on its own; prefer
    one ``resolve_settings(globals())`` at the end of settings.py, which reads everything in one batch)."""
    value = os.environ.get(name, default)
    if value is None or "@microsoft.keyvault(" not in value.lower():
        return value
    origin = f"environment: {name}" if name in os.environ else f"env({name!r}) default"
    with _lock:
        _references[name] = value
        _origins[name] = origin
    owned = resolver is None
    active = resolver if resolver is not None else SecretResolver(embedded=True)
    try:
        return str(active.resolve({name: value}, origins={name: origin})[name])
    finally:
        if owned:
            active.close()


def references() -> dict[str, str]:
    """The references seen by ``resolve_settings`` and ``env`` in this process: setting -> reference text."""
    with _lock:
        return dict(_references)


def reference_origins() -> dict[str, str]:
    """Where each reference of :func:`references` came from: ``resolve_settings``' ``origin`` (``"settings"``),
    ``"environment: NAME"`` for ``env(NAME)`` (``"env('NAME') default"`` when the default held it)."""
    with _lock:
        return dict(_origins)


def recorded_failures() -> dict[str, ResolutionFailure]:
    """Failures left to the system check by ``resolve_settings(..., defer_errors=True)``."""
    with _lock:
        return dict(_failures)


def clear_records() -> None:
    """Forget the references and failures recorded so far (for tests that load settings several times)."""
    with _lock:
        _references.clear()
        _origins.clear()
        _failures.clear()


def find_references(namespace: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, tuple[PathPart, ...]]]:
    """The reference-holding values among UPPER_CASE settings, flattened (``CACHES.default.OPTIONS.PASSWORD``)."""
    flat: dict[str, str] = {}
    paths: dict[str, tuple[PathPart, ...]] = {}
    for name, value in list(namespace.items()):
        if not name.isupper():
            continue
        for path, leaf in _walk(value, (name,)):
            if isinstance(leaf, str) and "@microsoft.keyvault(" in leaf.lower():
                key = _key(path)
                flat[key] = leaf
                paths[key] = path
    return flat, paths


def _walk(data: Any, path: tuple[PathPart, ...]) -> Iterator[tuple[tuple[PathPart, ...], Any]]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            yield from _walk(value, (*path, index))
    else:
        yield path, data


def _key(path: tuple[PathPart, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _container(data: Any, path: tuple[PathPart, ...]) -> Any:
    """The dict or list that holds the value at ``path``; a tuple cannot take the resolved value (TypeError)."""
    target = data
    for part in path[:-1]:
        target = target[part]
    if isinstance(target, tuple):
        raise TypeError(f"Cannot write a resolved value into a tuple at {_key(path)}; use a list in settings.")
    return target
