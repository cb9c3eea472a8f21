"""Keys in seed files: made through Create Key (``kty``) or Import Key (``jwk``), dumped as private JWKs.

::

    "keys": {
        "signing": {"kty": "EC", "crv": "P-256"},
        "wrapping": {"kty": "RSA", "size": 3072, "key_ops": ["wrapKey", "unwrapKey"], "tags": {"team": "a"}},
        "imported": {"jwk": {"kty": "RSA", "n": "...", "e": "AQAB", "d": "...", ...}, "enabled": false},
        "rotated": {"versions": [{"kty": "RSA"}, {"kty": "RSA", "version": "<32 hex>"}]}
    }
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kvconfig.fake.core.routing import ServiceHost
from kvconfig.fake.core.seeding import (
    OBJECT_NAME,
    SeedError,
    check_times_and_flags,
    check_version_id,
    run_operation,
)
from kvconfig.fake.core.state import Vault
from kvconfig.fake.keys.store import KeyVersion, key_store

__all__ = ["dump_keys", "seed_keys"]

_GENERATE = {"kty", "size", "crv", "public_exponent"}
_VERSION_FIELDS = {
    *_GENERATE,
    "jwk",
    "key_ops",
    "tags",
    "enabled",
    "nbf",
    "exp",
    "created",
    "updated",
    "version",
    "exportable",
    "release_policy",
}
_TIMES = ("nbf", "exp", "created", "updated")


def seed_keys(fake: ServiceHost, vault: Vault, vault_name: str, keys: object) -> None:
    if not isinstance(keys, Mapping):
        raise SeedError(f"'keys' of vault {vault_name!r} must be an object.")
    for name, spec in keys.items():
        for version in _versions(vault_name, name, spec):
            _seed_version(fake, vault, name, version, where=f"key {name!r} of vault {vault_name!r}")


def _versions(vault: str, name: object, spec: object) -> list[Mapping[str, Any]]:
    if not isinstance(name, str) or not OBJECT_NAME.match(name):
        raise SeedError(f"Key name {name!r} in vault {vault!r} is not valid: use 1-127 letters, digits and hyphens.")
    where = f"key {name!r} of vault {vault!r}"
    if not isinstance(spec, Mapping):
        raise SeedError(f"The {where} must be an object such as {{'kty': 'RSA'}} or {{'jwk': {{...}}}}.")
    if "versions" in spec:
        if set(spec) != {"versions"}:
            raise SeedError(f"The {where} has 'versions': put every other member inside its versions.")
        versions = spec["versions"]
        if not isinstance(versions, list) or not versions:
            raise SeedError(f"'versions' of {where} must be a non-empty list.")
    else:
        versions = [spec]
    for version in versions:
        if not isinstance(version, Mapping):
            raise SeedError(f"Every version of {where} must be an object.")
        unknown = set(version) - _VERSION_FIELDS
        if unknown:
            raise SeedError(f"Unknown member(s) in {where}: {', '.join(sorted(map(str, unknown)))}.")
        if ("jwk" in version) == bool(_GENERATE & set(version)):
            raise SeedError(
                f"The {where} needs either 'kty' (with 'size', 'crv' or 'public_exponent') to make a new key, "
                "or 'jwk' (a private JSON Web Key) to import one."
            )
        check_times_and_flags(where, version, times=_TIMES)
        check_version_id(where, version.get("version"))
        key_ops = version.get("key_ops")
        if key_ops is not None and not (isinstance(key_ops, list) and all(isinstance(op, str) for op in key_ops)):
            raise SeedError(f"'key_ops' of {where} must be a list of key operations such as ['sign', 'verify'].")
        if "jwk" in version and not isinstance(version["jwk"], Mapping):
            raise SeedError(f"'jwk' of {where} must be a JSON Web Key object.")
    return versions


def _seed_version(fake: ServiceHost, vault: Vault, name: str, spec: Mapping[str, Any], *, where: str) -> None:
    now = int(spec.get("created", fake.clock.now()))
    attributes: dict[str, Any] = {key: spec[key] for key in ("enabled", "nbf", "exp") if key in spec}
    if "exportable" in spec:
        attributes["exportable"] = spec["exportable"]
    body: dict[str, Any] = {"attributes": attributes}
    for key in ("tags", "release_policy"):
        if key in spec:
            body[key] = spec[key]
    if "jwk" in spec:
        jwk = dict(spec["jwk"])
        if "key_ops" in spec:
            jwk["key_ops"] = spec["key_ops"]
        body["key"] = jwk
        operation, path = "ImportKey", f"/keys/{name}"
    else:
        body["kty"] = spec["kty"]
        for ours, wire in (("size", "key_size"), ("crv", "crv"), ("public_exponent", "public_exponent")):
            if ours in spec:
                body[wire] = spec[ours]
        if "key_ops" in spec:
            body["key_ops"] = spec["key_ops"]
        operation, path = "CreateKey", f"/keys/{name}/create"
    run_operation(
        fake, vault, operation, path, {"name": name}, body, now=now, where=where, version_id=spec.get("version")
    )
    if "updated" in spec:
        obj = key_store(vault).get(name)
        assert obj is not None
        obj.current().attributes.updated = int(spec["updated"])


def dump_keys(vault: Vault) -> dict[str, Any]:
    """Every live key of the vault that does not back a certificate (certificates bring their own back)."""
    keys: dict[str, Any] = {}
    with vault.lock:
        for obj in key_store(vault):
            if not obj.versions or obj.current().managed:
                continue
            keys[obj.name] = {"versions": [_dump_version(version) for version in obj.versions.values()]}
    return keys


def _dump_version(version: KeyVersion) -> dict[str, Any]:
    entry: dict[str, Any] = {"version": version.version, "jwk": dict(version.material.private_jwk())}
    entry["key_ops"] = list(version.key_ops)
    if version.tags is not None:
        entry["tags"] = dict(version.tags)
    if version.exportable is not None:
        entry["exportable"] = version.exportable
    if version.release_policy is not None:
        entry["release_policy"] = version.release_policy.to_wire()
    entry["enabled"] = version.attributes.enabled
    for key in _TIMES:
        value = getattr(version.attributes, key)
        if value is not None:
            entry[key] = value
    return entry
