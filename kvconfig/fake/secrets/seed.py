"""Seed files, the secrets part: read a vault's ``secrets`` member into it, and dump its secrets back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kvconfig.fake.core.routing import ServiceHost
from kvconfig.fake.core.seeding import OBJECT_NAME, SeedError, check_times_and_flags, check_version_id
from kvconfig.fake.core.state import Attributes, Vault
from kvconfig.fake.secrets.operations import new_secret_version

__all__ = ["dump_secrets", "seed_secrets"]

_SECRET_FIELDS = {"value", "version", "contentType", "tags", "enabled", "nbf", "exp", "created", "updated"}
_TIMES = ("nbf", "exp", "created", "updated")


def seed_secrets(fake: ServiceHost, vault: Vault, vault_name: str, secrets: object) -> None:
    if secrets is None:
        return
    if not isinstance(secrets, Mapping):
        raise SeedError(f"'secrets' of vault {vault_name!r} must be an object.")
    for secret_name, spec in secrets.items():
        for version_spec in _secret_versions(vault_name, secret_name, spec):
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


def _secret_versions(vault: str, name: object, spec: object) -> list[Mapping[str, Any]]:
    if not isinstance(name, str) or not OBJECT_NAME.match(name):
        raise SeedError(f"Secret name {name!r} in vault {vault!r} is not valid: use 1-127 letters, digits and hyphens.")
    if isinstance(spec, str):
        return [{"value": spec}]
    if not isinstance(spec, Mapping):
        raise SeedError(f"Secret {name!r} in vault {vault!r} must be a string or an object.")
    versions = spec.get("versions", [spec])
    if not isinstance(versions, list) or not versions:
        raise SeedError(f"'versions' of secret {name!r} in vault {vault!r} must be a non-empty list.")
    where = f"secret {name!r} of vault {vault!r}"
    for version in versions:
        if not isinstance(version, Mapping) or not isinstance(version.get("value"), str):
            raise SeedError(f"Every version of secret {name!r} in vault {vault!r} needs a string 'value'.")
        unknown = set(version) - _SECRET_FIELDS
        if unknown:
            raise SeedError(f"Unknown member(s) in secret {name!r} of vault {vault!r}: {', '.join(sorted(unknown))}.")
        check_version_id(where, version.get("version"))
        check_times_and_flags(where, version, times=_TIMES)
        content_type = version.get("contentType")
        if content_type is not None and not isinstance(content_type, str):
            raise SeedError(f"'contentType' of {where} must be a string.")
    return versions


def dump_secrets(vault: Vault) -> dict[str, Any]:
    secrets: dict[str, Any] = {}
    with vault.lock:
        for obj in vault.secrets:
            if not obj.versions or obj.current().managed:
                continue  # a certificate's backing secret: the certificate brings it back
            versions = []
            for version in obj.versions.values():
                entry: dict[str, Any] = {"version": version.version, "value": version.value}
                if version.content_type is not None:
                    entry["contentType"] = version.content_type
                if version.tags is not None:
                    entry["tags"] = version.tags
                entry["enabled"] = version.attributes.enabled
                for key in _TIMES:
                    value = getattr(version.attributes, key)
                    if value is not None:
                        entry[key] = value
                versions.append(entry)
            secrets[obj.name] = {"versions": versions}
    return secrets
