"""Keys in the fake's state: key versions, their wire shapes (KeyBundle, KeyItem, deleted shapes) and lookups.

Shared by the key operations (``operations.py``), the cryptographic operations (``crypto.py``), rotation
(``rotation.py``) and certificates, which create key versions through :func:`new_key_version` and read private
material through :func:`key_material`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from kvconfig.crypto._jwk import KeyMaterial
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.objects import attributes_to_wire, with_deletion
from kvconfig.fake.core.routing import OperationContext
from kvconfig.fake.core.state import Attributes, ObjectStore, Vault, Versioned
from kvconfig.fake.core.wire import b64url_encode

__all__ = [
    "DEFAULT_KEY_OPS",
    "HSM_PLATFORM",
    "KIND",
    "KeyVersion",
    "ReleasePolicy",
    "bundle",
    "default_key_ops",
    "deleted",
    "hsm_keys_allowed",
    "item",
    "key_id",
    "key_material",
    "key_store",
    "live_key",
    "new_key_version",
    "refuse_if_deleted",
    "refuse_if_in_window",
]

KIND = "key"
STORE = "keys"
DEFAULT_RELEASE_POLICY_CONTENT_TYPE = "application/json; charset=utf-8"

# What Create Key and Import Key grant when the request names no key_ops (the service's answers in the examples).
DEFAULT_KEY_OPS: dict[str, tuple[str, ...]] = {
    "RSA": ("encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"),
    "EC": ("sign", "verify"),
    "oct": ("encrypt", "decrypt", "wrapKey", "unwrapKey"),
}


def default_key_ops(vault: Vault, kty_family: str) -> list[str]:
    """The operations a new key is granted when its request names none: a Managed HSM's EC-HSM keys also list
    ``deriveKey`` (the service's recorded answers), a vault's do not."""
    ops = list(DEFAULT_KEY_OPS[kty_family])
    if kty_family == "EC" and vault.properties.kind == "managedhsm":
        ops.append("deriveKey")
    return ops


@dataclass
class ReleasePolicy:
    """A key release policy as stored: the policy document's bytes, its content type and the immutable flag."""

    data: bytes = field(repr=False)
    content_type: str = DEFAULT_RELEASE_POLICY_CONTENT_TYPE
    immutable: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {"contentType": self.content_type, "data": b64url_encode(self.data), "immutable": self.immutable}


@dataclass
class KeyVersion:
    """One version of a key. ``material`` holds the private key and never appears in the repr."""

    version: str
    material: KeyMaterial = field(repr=False)
    attributes: Attributes
    key_ops: list[str]
    tags: dict[str, str] | None = None
    managed: bool = False
    exportable: bool | None = None
    release_policy: ReleasePolicy | None = None
    hsm: bool = False
    # GetKeyAttestation's blobs, made on first request (a version's attestation never changes).
    attestation: dict[str, str] | None = field(default=None, repr=False)


# The HSM platform Managed HSM reports in key attributes (recorded answers show "2").
HSM_PLATFORM = "2"


def hsm_keys_allowed(vault: Vault) -> bool:
    """HSM-protected key types (``RSA-HSM``, ``EC-HSM``, ``oct-HSM``) need a premium vault or a Managed HSM."""
    return vault.properties.kind == "managedhsm" or vault.properties.sku == "premium"


def key_store(vault: Vault) -> ObjectStore[KeyVersion]:
    """The vault's keys (live and soft-deleted)."""
    return cast(ObjectStore[KeyVersion], vault.store(STORE))


def key_id(vault: Vault, name: str, version: str | None = None) -> str:
    return f"{vault.url}/keys/{name}" + (f"/{version}" if version else "")


# -- rendering -------------------------------------------------------------------------------------------------


def _attributes(ctx: OperationContext, version: KeyVersion) -> dict[str, Any]:
    wire = attributes_to_wire(version.attributes, ctx.vault.properties, ctx)
    if ctx.api_at_least("7.3"):
        wire["exportable"] = bool(version.exportable)  # the service always sends it (false unless set)
    if ctx.vault.properties.kind == "managedhsm":
        wire["hsmPlatform"] = HSM_PLATFORM
    return wire


def bundle(ctx: OperationContext, obj: Versioned[KeyVersion], version: KeyVersion) -> dict[str, Any]:
    """The KeyBundle: public JWK with a versioned ``kid``, attributes, tags, ``managed``, ``release_policy``."""
    jwk: dict[str, Any] = dict(
        version.material.public_jwk(kid=key_id(ctx.vault, obj.name, version.version), key_ops=version.key_ops)
    )
    if ctx.vault.properties.kind == "managedhsm" and not jwk["kty"].startswith("EC"):
        jwk["key_size"] = version.material.size  # Managed HSM's bundles carry the size of RSA and oct keys
    wire: dict[str, Any] = {"key": jwk, "attributes": _attributes(ctx, version)}
    if version.tags is not None:
        wire["tags"] = version.tags
    if version.managed:
        wire["managed"] = True
    if version.release_policy is not None and ctx.api_at_least("7.3"):
        wire["release_policy"] = version.release_policy.to_wire()
    return wire


def item(ctx: OperationContext, obj: Versioned[KeyVersion], version: KeyVersion, *, versioned: bool) -> dict[str, Any]:
    """A KeyItem of a list: ``kid`` (versionless in GetKeys, versioned in GetKeyVersions), attributes, tags."""
    wire: dict[str, Any] = {"kid": key_id(ctx.vault, obj.name, version.version if versioned else None)}
    wire["attributes"] = _attributes(ctx, version)
    if version.tags is not None:
        wire["tags"] = version.tags
    if version.managed:
        wire["managed"] = True
    return wire


def deleted(ctx: OperationContext, obj: Versioned[KeyVersion], wire: dict[str, Any]) -> dict[str, Any]:
    """Add ``recoveryId``, ``deletedDate`` and ``scheduledPurgeDate`` to a bundle or item of a deleted key."""
    return with_deletion(ctx, "deletedkeys", obj, wire)


# -- lookups -------------------------------------------------------------------------------------------------------


def live_key(vault: Vault, name: str) -> Versioned[KeyVersion]:
    obj = key_store(vault).get(name)
    if obj is None:
        raise ServiceError.object_not_found(KIND, name)
    return obj


def key_version(vault: Vault, name: str, version_id: str | None) -> tuple[Versioned[KeyVersion], KeyVersion]:
    """The named version (latest for ``None``/``""``); 404 KeyNotFound when the key or the version is missing."""
    obj = live_key(vault, name)
    found = obj.get(version_id)
    if found is None:
        raise ServiceError.object_not_found(KIND, name, version_id)
    return obj, found


def refuse_if_deleted(vault: Vault, name: str) -> None:
    """409 for a name that is soft-deleted, or whose soft delete or recovery has not finished."""
    store = key_store(vault)
    if store.being_deleted(name) is not None:
        raise ServiceError.being_deleted_name(KIND, name)
    if store.being_recovered(name) is not None:
        raise ServiceError.being_recovered_name(KIND, name)
    if store.get_deleted(name) is not None:
        raise ServiceError.deleted_but_recoverable(KIND, name)


def refuse_if_in_window(vault: Vault, name: str) -> None:
    """409 for recovering or purging a key whose soft delete or recovery has not finished."""
    store = key_store(vault)
    if store.being_deleted(name) is not None:
        raise ServiceError.being_deleted(KIND)
    recovering = store.being_recovered(name)
    if recovering is not None:
        raise ServiceError.recovery_in_progress(KIND, key_id(vault, recovering.name, recovering.latest))


# -- the internal API for certificates and seeding ----------------------------------------------------------------


def new_key_version(
    vault: Vault,
    name: str,
    material: KeyMaterial,
    *,
    version_id: str,
    now: int,
    key_ops: Iterable[str] | None = None,
    attributes: Attributes | None = None,
    managed: bool = False,
    tags: dict[str, str] | None = None,
    exportable: bool | None = None,
    release_policy: ReleasePolicy | None = None,
) -> tuple[Versioned[KeyVersion], KeyVersion]:
    """Add a version to a key (creating the key) under the vault's lock; returns the key and the new version.

    ``material`` is the private key (``kvconfig.crypto.generate_key`` / ``key_from_jwk``); ``key_ops`` defaults to
    what the service grants for the key type; ``version_id`` is the 32-hex id (a certificate passes its own version
    so that ``kid`` and the certificate share it). Refuses (409) a name that is soft-deleted. No validation of
    the vault's SKU or of ``key_ops`` happens here: callers (the operations) validate their requests first.
    """
    ops = list(key_ops) if key_ops is not None else default_key_ops(vault, material.kty_family)
    with vault.lock:
        refuse_if_deleted(vault, name)
        obj = key_store(vault).get_or_create(name)
        version = KeyVersion(
            version=version_id.lower(),
            material=material,
            attributes=attributes or Attributes(created=now, updated=now),
            key_ops=ops,
            tags=tags,
            managed=managed,
            exportable=exportable,
            release_policy=release_policy,
            hsm=material.kty.endswith("-HSM"),
        )
        obj.add(version.version, version)
        return obj, version


def key_material(vault: Vault, name: str, version: str | None = None) -> KeyMaterial:
    """The private key material of a live key version (latest for ``None``); ``KeyError`` when it is absent."""
    with vault.lock:
        obj = key_store(vault).get(name)
        found = obj.get(version) if obj is not None else None
        if found is None:
            raise KeyError(f"{name}/{version}" if version else name)
        return found.material
