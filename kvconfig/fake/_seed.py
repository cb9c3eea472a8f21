"""Seed files: load vaults and secrets into a fake from a mapping or a JSON file, and dump them back.

Format (documented in docs/fake.md)::

    {"vaults": {
        "myvault": {                                   # a vault name (public cloud) or a full vault host / URL
            "properties": {"soft_delete": true, "retention_days": 90, "purge_protection": false, "sku": "standard"},
            "secrets": {
                "db-password": "s3cret",               # shorthand: one enabled version
                "api-key": {"value": "k", "contentType": "text/plain", "tags": {"env": "dev"},
                            "enabled": true, "nbf": 1700000000, "exp": 1900000000},
                "disabled": {"value": "x", "enabled": false, "created": 1700000000, "updated": 1700000500},
                "rotated": {"versions": [{"value": "old"}, {"value": "new", "version": "<32 hex>"}]}
            }}}}

Versions are added oldest first; the last one is the latest. ``version`` is optional (a new id is made); times are
whole seconds since the Unix epoch (``created`` and ``updated`` default to the fake's clock). Soft-deleted secrets are
not part of the format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kvconfig.fake._secrets import new_secret_version
from kvconfig.fake._state import Attributes

if TYPE_CHECKING:
    from kvconfig.fake._service import FakeKeyVault

__all__ = ["SeedError", "dump_seed", "load_seed"]

_PROPERTY_NAMES = {"sku", "soft_delete", "retention_days", "purge_protection", "tenant_id"}
_SECRET_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
_VERSION_ID = re.compile(r"^[0-9a-fA-F]{32}$")
_VERSION_FIELDS = {"value", "version", "contentType", "tags", "enabled", "nbf", "exp", "created", "updated"}


class SeedError(ValueError):
    """A seed file or mapping does not follow the documented format."""


def _read(data: Mapping[str, Any] | str | Path) -> Mapping[str, Any]:
    if isinstance(data, Mapping):
        return data
    path = Path(data)
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SeedError(f"Cannot read the seed file {path}: {exc.strerror}.") from exc
    except json.JSONDecodeError as exc:
        raise SeedError(f"The seed file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}).") from exc
    if not isinstance(loaded, dict):
        raise SeedError(f"The seed file {path} must hold a JSON object with a 'vaults' member.")
    return loaded


def load_seed(fake: FakeKeyVault, data: Mapping[str, Any] | str | Path) -> None:
    seed = _read(data)
    unknown = set(seed) - {"vaults"}
    if unknown:
        raise SeedError(f"Unknown top-level member(s) in the seed: {', '.join(sorted(unknown))}.")
    vaults = seed.get("vaults", {})
    if not isinstance(vaults, Mapping):
        raise SeedError("'vaults' must be an object mapping vault names to their contents.")
    for vault_name, content in vaults.items():
        if not isinstance(content, Mapping):
            raise SeedError(f"The vault {vault_name!r} must map to an object.")
        extra = set(content) - {"properties", "secrets"}
        if extra:
            raise SeedError(f"Unknown member(s) in vault {vault_name!r}: {', '.join(sorted(extra))}.")
        properties = content.get("properties")
        if properties is None:
            properties = {}
        if not isinstance(properties, Mapping):
            raise SeedError(f"'properties' of vault {vault_name!r} must be an object.")
        bad = set(properties) - _PROPERTY_NAMES
        if bad:
            raise SeedError(f"Unknown vault properties for {vault_name!r}: {', '.join(sorted(bad))}.")
        try:
            vault = fake.create_vault(vault_name, **properties) if properties else fake.vault(vault_name)
        except (ValueError, TypeError) as exc:
            raise SeedError(f"Cannot create vault {vault_name!r}: {exc}") from exc
        secrets = content.get("secrets")
        if secrets is None:
            secrets = {}
        if not isinstance(secrets, Mapping):
            raise SeedError(f"'secrets' of vault {vault_name!r} must be an object.")
        for secret_name, spec in secrets.items():
            for version_spec in _versions(vault_name, secret_name, spec):
                now = int(version_spec.get("created", fake.clock.now()))
                attrs = Attributes(
                    created=now,
                    updated=int(version_spec.get("updated", now)),
                    enabled=bool(version_spec.get("enabled", True)),
                    nbf=version_spec.get("nbf"),
                    exp=version_spec.get("exp"),
                )
                new_secret_version(
                    vault,
                    secret_name,
                    version_spec["value"],
                    version_id=str(version_spec.get("version") or fake.ids.new_version()).lower(),
                    now=now,
                    content_type=version_spec.get("contentType"),
                    tags=version_spec.get("tags"),
                    attributes=attrs,
                )


def _versions(vault: str, name: str, spec: object) -> list[Mapping[str, Any]]:
    if not isinstance(name, str) or not _SECRET_NAME.match(name):
        raise SeedError(f"Secret name {name!r} in vault {vault!r} is not valid: use 1-127 letters, digits and hyphens.")
    if isinstance(spec, str):
        return [{"value": spec}]
    if not isinstance(spec, Mapping):
        raise SeedError(f"Secret {name!r} in vault {vault!r} must be a string or an object.")
    versions = spec.get("versions", [spec])
    if not isinstance(versions, list) or not versions:
        raise SeedError(f"'versions' of secret {name!r} in vault {vault!r} must be a non-empty list.")
    for version in versions:
        if not isinstance(version, Mapping) or not isinstance(version.get("value"), str):
            raise SeedError(f"Every version of secret {name!r} in vault {vault!r} needs a string 'value'.")
        unknown = set(version) - _VERSION_FIELDS
        if unknown:
            raise SeedError(f"Unknown member(s) in secret {name!r} of vault {vault!r}: {', '.join(sorted(unknown))}.")
        _check_version(vault, name, version)
    return versions


def _check_version(vault: str, name: str, version: Mapping[str, Any]) -> None:
    """Reject values the service could never hold, rather than seeding them silently."""
    where = f"secret {name!r} of vault {vault!r}"
    version_id = version.get("version")
    if version_id is not None and not (isinstance(version_id, str) and _VERSION_ID.match(version_id)):
        raise SeedError(f"'version' of {where} must be 32 hexadecimal characters, not {version_id!r}.")
    if "enabled" in version and not isinstance(version["enabled"], bool):
        raise SeedError(f"'enabled' of {where} must be true or false.")
    for key in ("nbf", "exp", "created", "updated"):
        value = version.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise SeedError(f"'{key}' of {where} must be whole seconds since the Unix epoch.")
    content_type = version.get("contentType")
    if content_type is not None and not isinstance(content_type, str):
        raise SeedError(f"'contentType' of {where} must be a string.")
    tags = version.get("tags")
    if tags is not None and not (
        isinstance(tags, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
    ):
        raise SeedError(f"'tags' of {where} must map strings to strings.")


def dump_seed(fake: FakeKeyVault) -> dict[str, Any]:
    vaults: dict[str, Any] = {}
    for vault in fake.vaults:
        props = vault.properties
        secrets: dict[str, Any] = {}
        with vault.lock:
            for obj in vault.secrets:
                versions = []
                for version in obj.versions.values():
                    entry: dict[str, Any] = {"version": version.version, "value": version.value}
                    if version.content_type is not None:
                        entry["contentType"] = version.content_type
                    if version.tags is not None:
                        entry["tags"] = version.tags
                    entry["enabled"] = version.attributes.enabled
                    for key in ("nbf", "exp", "created", "updated"):
                        value = getattr(version.attributes, key)
                        if value is not None:
                            entry[key] = value
                    versions.append(entry)
                secrets[obj.name] = {"versions": versions}
        vaults[props.host] = {
            "properties": {
                "sku": props.sku,
                "soft_delete": props.soft_delete,
                "retention_days": props.retention_days,
                "purge_protection": props.purge_protection,
                "tenant_id": props.tenant_id,
            },
            "secrets": secrets,
        }
    return {"vaults": vaults}
