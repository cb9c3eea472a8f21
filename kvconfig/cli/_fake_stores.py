"""``kvconfig fake serve``'s App Configuration stores: which seed to load, and the fake that serves them.

Stores are served when asked for: ``--appconfig``, ``--appconfig-seed FILE``, or an ``appconfig`` part in the
``--seed`` file (the format ``kvconfig check --fake-vault`` takes, ``FakeAppConfiguration.seed``'s). Bare store
names (``contoso-config``) become the emulator's stores, ``https://contoso-config.azconfig.localhost:<port>``.
The fake App Configuration is imported only then: a plain ``fake serve`` does not pay for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kvconfig.fake import FakeKeyVault
    from kvconfig.fake.appconfig import FakeAppConfiguration

__all__ = [
    "MAX_STORE_SEED_BYTES",
    "JsonObjectFileError",
    "StoreSeedError",
    "read_json_object",
    "read_store_seed",
    "serve_stores",
    "split_seed",
]

MAX_STORE_SEED_BYTES = 64 * 1024 * 1024


class StoreSeedError(ValueError):
    """An App Configuration seed that cannot be used; the message names the file."""


class JsonObjectFileError(ValueError):
    """A JSON-object file that cannot be used. ``unreadable``: the text is the OS's reason; otherwise it completes
    "<the file> ..." ("is larger than N bytes", "is not valid JSON (line 3, column 1)", "must hold a JSON object")."""

    def __init__(self, reason: str, *, unreadable: bool = False) -> None:
        super().__init__(reason)
        self.unreadable = unreadable


def read_json_object(path: Path, limit: int) -> dict[str, Any]:
    """The JSON object in ``path`` (reading at most ``limit`` bytes), or :class:`JsonObjectFileError`."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise JsonObjectFileError(str(exc.strerror or exc), unreadable=True) from None
    if len(raw) > limit:
        raise JsonObjectFileError(f"is larger than {limit} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise JsonObjectFileError(f"is not valid JSON{where}") from None
    if not isinstance(data, dict):
        raise JsonObjectFileError("must hold a JSON object")
    return data


def _read_object(path: Path, what: str) -> dict[str, Any]:
    try:
        return read_json_object(path, MAX_STORE_SEED_BYTES)
    except JsonObjectFileError as exc:
        if exc.unreadable:
            raise StoreSeedError(f"Cannot read the {what} {path}: {exc}.") from None
        raise StoreSeedError(f"The {what} {path} {exc}.") from None


def split_seed(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The ``--seed`` file as the fake Key Vault's part and its ``appconfig`` part (``None`` without one)."""
    data = _read_object(path, "seed file")
    stores = data.pop("appconfig", None)
    if stores is not None and not isinstance(stores, dict):
        raise StoreSeedError(f"The seed file {path}: 'appconfig' must map store names to lists of key-values.")
    return data, stores


def read_store_seed(path: Path) -> dict[str, Any]:
    """The stores of ``--appconfig-seed FILE``: ``{"appconfig": {...}}`` or the stores mapping itself."""
    from kvconfig.fake.serve.store_control import stores_part  # the control API's seed endpoint reads it too

    stores = stores_part(_read_object(path, "App Configuration seed"))
    if stores is None:
        raise StoreSeedError(f"The App Configuration seed {path}: 'appconfig' must map store names to lists.")
    return stores


def serve_stores(keyvault: FakeKeyVault, *, strict: bool, latency: float) -> FakeAppConfiguration:
    """The fake App Configuration the emulator serves beside ``keyvault`` (its clock and token authority)."""
    from kvconfig.fake.appconfig import FakeAppConfiguration

    return FakeAppConfiguration(keyvault=keyvault, strict=strict, latency=latency)
