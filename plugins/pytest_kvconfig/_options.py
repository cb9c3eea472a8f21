"""What the ``keyvault`` and ``keyvault_secrets`` markers ask for, read from a test's markers (closest last).

Imported when pytest starts, so kvconfig.fake (and the Azure SDK behind it) is imported only when a marker is read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from kvconfig.fake import Identity, ManualClock

__all__ = ["DEFAULT_VAULT", "KEYVAULT", "KEYVAULT_SECRETS", "KeyVaultOptions", "read_markers"]

KEYVAULT = "keyvault"
KEYVAULT_SECRETS = "keyvault_secrets"
DEFAULT_VAULT = "myvault"

_KEYWORDS = ("seed", "secrets", "keys", "certificates", "identity", "clock", "strict", "latency", "vault")
_USAGE = (
    f"use @pytest.mark.{KEYVAULT}(seed={{'vaults': {{...}}}} or 'path/seed.json', "
    "secrets={'myvault': {'name': 'value'}}, keys={'myvault': {'name': {'kty': 'RSA'}}}, "
    "certificates={'myvault': {'name': {'subject': 'CN=app'}}}, identity='app', clock='manual' or a datetime, "
    "strict=False, latency=0.0, vault='myvault')"
)
_SECRETS_USAGE = (
    f"use @pytest.mark.{KEYVAULT_SECRETS}({{'myvault': {{'secret-name': 'value'}}}}, identity='app') "
    "(vault names or https://<vault>.vault.azure.net URLs as keys), or pass a seed mapping with a 'vaults' member"
)


@dataclass
class KeyVaultOptions:
    """Everything the markers of one test ask for: seeds in the order they apply, and the closest value of the rest."""

    seeds: list[Mapping[str, Any] | Path] = field(default_factory=list)
    identity: str | Identity | None = None
    clock: ManualClock | None = None
    strict: bool = False
    latency: float = 0.0
    vault: str = DEFAULT_VAULT


def read_markers(node: pytest.Item) -> KeyVaultOptions:
    """Read the ``keyvault`` and ``keyvault_secrets`` markers of a test, module's first, function's last."""
    options = KeyVaultOptions()
    for marker in reversed(list(node.iter_markers())):
        if marker.name == KEYVAULT:
            _read_keyvault(options, marker, node)
        elif marker.name == KEYVAULT_SECRETS:
            _read_keyvault_secrets(options, marker)
    return options


def _fail(marker: str, message: str) -> pytest.UsageError:
    return pytest.UsageError(f"@pytest.mark.{marker}: {message}")


def _read_keyvault(options: KeyVaultOptions, marker: pytest.Mark, node: pytest.Item) -> None:
    unknown = set(marker.kwargs) - set(_KEYWORDS)
    if unknown:
        raise _fail(KEYVAULT, f"unknown keyword(s) {', '.join(sorted(unknown))}; {_USAGE}.")
    if len(marker.args) > 1 or (marker.args and "seed" in marker.kwargs):
        raise _fail(KEYVAULT, f"takes one seed (positional or seed=), not {len(marker.args)} arguments; {_USAGE}.")
    seed = marker.args[0] if marker.args else marker.kwargs.get("seed")
    if seed is not None:
        options.seeds.append(_seed(seed, node))
    for kind in ("secrets", "keys", "certificates"):
        if marker.kwargs.get(kind) is not None:
            options.seeds.append(_per_vault(KEYVAULT, kind, marker.kwargs[kind]))
    if "identity" in marker.kwargs:
        options.identity = _identity(KEYVAULT, marker.kwargs["identity"])
    if "clock" in marker.kwargs:
        options.clock = _clock(marker.kwargs["clock"])
    if "strict" in marker.kwargs:
        if not isinstance(marker.kwargs["strict"], bool):
            raise _fail(KEYVAULT, f"strict= must be True or False, not {marker.kwargs['strict']!r}.")
        options.strict = marker.kwargs["strict"]
    if "latency" in marker.kwargs:
        latency = marker.kwargs["latency"]
        if isinstance(latency, bool) or not isinstance(latency, (int, float)) or latency < 0:
            raise _fail(KEYVAULT, f"latency= must be a number of seconds (0 or more), not {latency!r}.")
        options.latency = float(latency)
    if "vault" in marker.kwargs:
        if not isinstance(marker.kwargs["vault"], str) or not marker.kwargs["vault"]:
            raise _fail(KEYVAULT, f"vault= must be a vault name or URL, not {marker.kwargs['vault']!r}.")
        options.vault = marker.kwargs["vault"]


def _seed(seed: object, node: pytest.Item) -> Mapping[str, Any] | Path:
    if isinstance(seed, Mapping):
        if "vaults" not in seed:
            raise _fail(
                KEYVAULT,
                "a seed mapping needs a 'vaults' member ({'vaults': {'myvault': {'secrets': {...}}}}); for "
                "{vault: {name: value}} use secrets=, keys= or certificates=.",
            )
        return seed
    if isinstance(seed, (str, os.PathLike)):
        path = Path(seed)
        if path.is_absolute():
            return path
        # Relative to the test file first (seed files usually sit beside their tests), then to the rootdir.
        candidates = [node.path.parent / path, node.config.rootpath / path]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise _fail(KEYVAULT, f"the seed file {str(seed)!r} was not found in {' or '.join(map(str, candidates))}.")
    raise _fail(KEYVAULT, f"seed= must be a seed mapping or the path of a JSON seed file, not {type(seed).__name__}.")


def _per_vault(marker: str, kind: str, data: object) -> Mapping[str, Any]:
    """``{vault: {name: spec}}`` as a seed mapping of ``kind`` (secrets, keys or certificates)."""
    example = {"secrets": "'value'", "keys": "{'kty': 'RSA'}", "certificates": "{'subject': 'CN=app'}"}[kind]
    if not isinstance(data, Mapping):
        raise _fail(marker, f"{kind}= needs a mapping {{vault: {{name: {example}}}}}, not {type(data).__name__}.")
    for vault, objects in data.items():
        if not isinstance(objects, Mapping):
            raise _fail(
                marker, f"{kind}= vault {vault!r} must map to {{name: {example}}}, not {type(objects).__name__}."
            )
    return {"vaults": {vault: {kind: dict(objects)} for vault, objects in data.items()}}


def _identity(marker: str, identity: object) -> str | Identity | None:
    from kvconfig.fake import Identity

    if identity is not None and not isinstance(identity, (str, Identity)):
        raise _fail(marker, f"identity= must be a name or an Identity, not {type(identity).__name__}.")
    return identity


def _clock(clock: object) -> ManualClock | None:
    from kvconfig.fake import ManualClock

    if clock is None:
        return None
    if isinstance(clock, ManualClock):
        return clock
    if clock == "manual":
        return ManualClock()
    if isinstance(clock, datetime):
        if clock.tzinfo is None:
            raise _fail(KEYVAULT, "clock= needs an aware datetime (datetime(2030, 1, 1, tzinfo=timezone.utc)).")
        return ManualClock(clock)
    if isinstance(clock, (int, float)) and not isinstance(clock, bool):
        return ManualClock(float(clock))
    raise _fail(
        KEYVAULT,
        f"clock= must be 'manual', an aware datetime, epoch seconds or a ManualClock, not {clock!r}.",
    )


def _read_keyvault_secrets(options: KeyVaultOptions, marker: pytest.Mark) -> None:
    unknown = set(marker.kwargs) - {"identity"}
    if unknown:
        raise _fail(KEYVAULT_SECRETS, f"got unknown keyword(s) {', '.join(sorted(unknown))}: {_SECRETS_USAGE}.")
    if len(marker.args) > 1:
        raise _fail(KEYVAULT_SECRETS, f"takes one mapping, not {len(marker.args)} arguments: {_SECRETS_USAGE}.")
    if "identity" in marker.kwargs:
        options.identity = _identity(KEYVAULT_SECRETS, marker.kwargs["identity"])
    if not marker.args:
        return
    data = marker.args[0]
    if not isinstance(data, Mapping):
        raise _fail(KEYVAULT_SECRETS, f"needs a mapping, not {type(data).__name__}: {_SECRETS_USAGE}.")
    if "vaults" in data:
        options.seeds.append(data)
        return
    for vault, secrets in data.items():
        if not isinstance(secrets, Mapping):
            raise _fail(
                KEYVAULT_SECRETS,
                f"vault {vault!r} must map to {{secret name: value}}, not {type(secrets).__name__}.",
            )
    options.seeds.append({"vaults": {vault: {"secrets": dict(secrets)} for vault, secrets in data.items()}})
