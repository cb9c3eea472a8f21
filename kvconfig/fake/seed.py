"""Seed files: load vaults, their secrets, keys and certificates into a fake from a mapping or a JSON file, and dump
them back in the same format (the format is documented in docs/fake.md).

::

    {"vaults": {
        "myvault": {                                   # a vault name (public cloud) or a full vault host / URL
            "properties": {"soft_delete": true, "retention_days": 90, "sku": "standard", "rbac": true},
            "roles": [{"identity": "app", "role": "Key Vault Secrets User"}],
            "secrets": {
                "db-password": "s3cret",               # shorthand: one enabled version
                "api-key": {"value": "k", "contentType": "text/plain", "tags": {"env": "dev"},
                            "enabled": true, "nbf": 1700000000, "exp": 1900000000},
                "rotated": {"versions": [{"value": "old"}, {"value": "new", "version": "<32 hex>"}]}
            },
            "keys": {"signing": {"kty": "EC", "crv": "P-256"}},                 # see keys/seed.py
            "certificates": {"tls": {"subject": "CN=app", "dns_names": ["app"]}}  # see certificates/seed.py
        }}}

Versions are added oldest first; the last one is the latest. ``version`` is optional (a new id is made); times are
whole seconds since the Unix epoch (``created`` and ``updated`` default to the fake's clock). Keys and certificates
are made by the handlers of their REST operations (:func:`kvconfig.fake.core.seeding.run_operation`), so a seed is
refused with the service's own message where the service would refuse the request. Soft-deleted objects, pending
certificate operations, key rotation policies, certificate issuers and contacts are not part of the format.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from kvconfig.fake.certificates.seed import dump_certificates, seed_certificates
from kvconfig.fake.core.routing import ServiceHost
from kvconfig.fake.core.seeding import SeedError
from kvconfig.fake.core.state import Vault
from kvconfig.fake.keys.seed import dump_keys, seed_keys
from kvconfig.fake.secrets.seed import dump_secrets, seed_secrets

__all__ = ["SeedError", "SeedTarget", "dump_seed", "load_seed"]


class SeedTarget(ServiceHost, Protocol):
    """What seeding needs beyond the router's view of the service: making vaults (``FakeKeyVault`` is one)."""

    @property
    def vaults(self) -> list[Vault]: ...

    @property
    def create_vault(self) -> Callable[..., Vault]:
        """``create_vault(name, **options)``, the options being those of ``FakeKeyVault.create_vault``."""
        ...

    def activate_security_domain(self, name: str, *, cloud: str = "managedhsm.azure.net") -> None: ...


# Vault properties: what create_vault takes, with the JSON type each must have.
_CREATE_OPTIONS: dict[str, type | tuple[type, ...]] = {
    "sku": str,
    "soft_delete": bool,
    "retention_days": int,
    "purge_protection": bool,
    "tenant_id": str,
    "rbac": bool,
    "location": str,
    "enforce_access": bool,
    "access_policies": dict,
    "network_rules": dict,
    "throttling": (bool, int, dict),
    "activated": bool,
    "deletion_delay": (int, float),
}
# VaultProperties fields create_vault does not take: set on the new vault.
_LATER_OPTIONS: dict[str, type] = {"subscription_id": str, "resource_group": str}
_VAULT_MEMBERS = {"properties", "roles", "secrets", "keys", "certificates"}


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
    except UnicodeDecodeError:
        raise SeedError(f"The seed file {path} is not UTF-8 text.") from None
    except RecursionError:
        raise SeedError(f"The seed file {path} is not valid JSON (nested too deeply).") from None
    if not isinstance(loaded, dict):
        raise SeedError(f"The seed file {path} must hold a JSON object with a 'vaults' member.")
    return loaded


def load_seed(fake: SeedTarget, data: Mapping[str, Any] | str | Path) -> None:
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
        extra = set(content) - _VAULT_MEMBERS
        if extra:
            raise SeedError(
                f"Unknown member(s) in vault {vault_name!r}: {', '.join(sorted(extra))} "
                f"(a vault holds {', '.join(sorted(_VAULT_MEMBERS))})."
            )
        vault = _vault(fake, vault_name, content.get("properties"))
        _seed_roles(vault, vault_name, content.get("roles"))
        seed_secrets(fake, vault, vault_name, content.get("secrets"))
        if content.get("keys") is not None:
            seed_keys(fake, vault, vault_name, content["keys"])
        if content.get("certificates") is not None:
            seed_certificates(fake, vault, vault_name, content["certificates"])


def _vault(fake: SeedTarget, vault_name: str, properties: object) -> Vault:
    if properties is None:
        properties = {}
    if not isinstance(properties, Mapping):
        raise SeedError(f"'properties' of vault {vault_name!r} must be an object.")
    bad = set(properties) - set(_CREATE_OPTIONS) - set(_LATER_OPTIONS)
    if bad:
        raise SeedError(f"Unknown vault properties for {vault_name!r}: {', '.join(sorted(bad))}.")
    for key, value in properties.items():
        wanted = _CREATE_OPTIONS.get(key) or _LATER_OPTIONS[key]
        allowed = wanted if isinstance(wanted, tuple) else (wanted,)
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise SeedError(f"The vault property {key!r} of {vault_name!r} has the wrong type ({value!r}).")
    create = {key: value for key, value in properties.items() if key in _CREATE_OPTIONS}
    known = {vault.properties.host for vault in fake.vaults}
    try:
        if properties:
            # A seeded Managed HSM pool is ready to use, as one made on first use is.
            vault = fake.create_vault(vault_name, **{"activated": True, **create})
        else:
            vault = fake.vault(vault_name)
            if vault.properties.host not in known and vault.properties.kind == "managedhsm":
                fake.activate_security_domain(vault.url)
    except (ValueError, TypeError, KeyError) as exc:
        raise SeedError(f"Cannot create vault {vault_name!r}: {exc}") from exc
    for key in _LATER_OPTIONS:
        if key in properties:
            setattr(vault.properties, key, properties[key])
    return vault


def _seed_roles(vault: Vault, vault_name: str, roles: object) -> None:
    if roles is None:
        return
    if not isinstance(roles, list):
        raise SeedError(f"'roles' of vault {vault_name!r} must be a list of {{'identity': ..., 'role': ...}}.")
    for entry in roles:
        if (
            not isinstance(entry, Mapping)
            or set(entry) - {"identity", "role", "scope"}
            or not all(isinstance(entry.get(key), str) for key in ("identity", "role"))
            or not isinstance(entry.get("scope", "/"), str)
        ):
            raise SeedError(
                f"Every role assignment of vault {vault_name!r} is {{'identity': name, 'role': role name or id, "
                f"'scope': '/' (optional)}}, not {entry!r}."
            )
        try:
            vault.assign_role(entry["identity"], entry["role"], scope=entry.get("scope", "/"))
        except (ValueError, KeyError) as exc:
            raise SeedError(f"Cannot assign a role in vault {vault_name!r}: {exc}") from exc


def dump_seed(fake: SeedTarget) -> dict[str, Any]:
    return {"vaults": {vault.properties.host: _dump_vault(vault) for vault in fake.vaults}}


def _dump_vault(vault: Vault) -> dict[str, Any]:
    props = vault.properties
    access = vault.access
    properties: dict[str, Any] = {
        "sku": props.sku,
        "soft_delete": props.soft_delete,
        "retention_days": props.retention_days,
        "purge_protection": props.purge_protection,
        "tenant_id": props.tenant_id,
        "rbac": props.rbac,
        "location": props.location,
        "subscription_id": props.subscription_id,
        "resource_group": props.resource_group,
    }
    if props.deletion_delay:
        properties["deletion_delay"] = props.deletion_delay
    if access.enforce:
        properties["enforce_access"] = True
    if access.policies and props.kind != "managedhsm":
        properties["access_policies"] = {
            policy.principal_name: {kind: sorted(getattr(policy, kind)) for kind in ("secrets", "keys", "certificates")}
            for policy in access.policies.values()
        }
    dumped: dict[str, Any] = {"properties": properties}
    if access.assignments:
        dumped["roles"] = [
            {"identity": item.principal_name, "role": item.role.name, "scope": item.scope}
            for item in access.assignments
        ]
    dumped["secrets"] = dump_secrets(vault)
    keys = dump_keys(vault)
    if keys:
        dumped["keys"] = keys
    certificates = dump_certificates(vault)
    if certificates:
        dumped["certificates"] = certificates
    return dumped
