"""Certificates in the fake's state: versions, the per-name policy and pending operation, issuers, contacts, and
their wire shapes (CertificateBundle, CertificateItem, CertificateOperation, CertificatePolicy, deleted shapes).

A certificate lives in ``vault.store("certificates")`` as a :class:`CertificateObject` (a ``Versioned`` that also
holds the policy and the pending operation, so both are soft-deleted, recovered and purged with it). Issuers,
contacts and the EmailContacts notifications are vault-wide and live in the vault's ``"certificates"`` extension.
The private key of every version is kept here too: it is what backups carry and what ``reuse_key`` renews with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, cast

from cryptography import x509

from kvconfig.fake.certificates.policy import CONTENT_TYPE_PKCS12, CertificatePrivateKey
from kvconfig.fake.certificates.x509 import cer_b64, csr_b64, thumbprint_x5t, validity_window
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.objects import attributes_to_wire, with_deletion
from kvconfig.fake.core.routing import OperationContext
from kvconfig.fake.core.state import Attributes, ObjectStore, Vault, Versioned

__all__ = [
    "CANCELLED_DETAILS",
    "IN_PROGRESS_DETAILS",
    "KIND",
    "MERGE_DETAILS",
    "SANS_SINCE",
    "CertificateNotification",
    "CertificateObject",
    "CertificateVaultState",
    "CertificateVersion",
    "Issuer",
    "PendingOperation",
    "bundle",
    "certificate_id",
    "certificate_store",
    "deleted",
    "get_object",
    "get_or_create_object",
    "issuer_to_wire",
    "item",
    "live_certificate",
    "operation_to_wire",
    "pending_bundle",
    "policy_to_wire",
    "refuse_if_in_window",
    "vault_state",
]

KIND = "certificate"
STORE = "certificates"
IN_PROGRESS_DETAILS = (
    "Pending certificate created. Certificate request is in progress. This may take some time based on the issuer "
    "provider. Please check again later."
)
# Unknown issuer: the service's create-certificate scenarios document this wording.
MERGE_DETAILS = "Pending certificate created. Please Perform Merge to complete the request."
# [R] a cancelled operation carries no status_details at all (empty: left out of the answer), and until it is
# cancelled it keeps the in-progress details with cancellation_requested true (.NET session record
# CertificateClientLiveTests/VerifyCancelCertificateOperation, 2024; azure-sdk-for-js nock recordings, 2020).
CANCELLED_DETAILS = ""
# Policy fields that arrived with later api-versions: answers in older versions leave them out, as the service does.
SANS_SINCE = "2025-06-01-preview"  # uris and ipAddresses: absent from the 7.6 swagger, present in 2025-07-01
_PRESERVE_ORDER_SINCE = "7.6"


@dataclass
class CertificateVersion:
    """One version of a certificate: the X.509 certificate, the chain above it, its key and attributes."""

    version: str
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    private_key: CertificatePrivateKey = field(repr=False)
    attributes: Attributes
    tags: dict[str, str] | None = None
    preserve_order: bool | None = None
    content_type: str = CONTENT_TYPE_PKCS12


@dataclass
class PendingOperation:
    """The certificate operation at ``/certificates/{name}/pending``.

    ``issued`` holds a certificate (and chain) the issuer has signed but the vault has not stored yet: the
    operation answers ``inProgress`` until the vault's next request completes it (see ``issuance.py``).
    """

    request_id: str
    issuer: dict[str, object]
    csr: x509.CertificateSigningRequest
    private_key: CertificatePrivateKey = field(repr=False)
    policy: dict[str, Any]
    attributes: Attributes
    tags: dict[str, str] | None = None
    preserve_order: bool | None = None
    status: str = "inProgress"
    status_details: str = IN_PROGRESS_DETAILS
    cancellation_requested: bool = False
    error: dict[str, Any] | None = None
    target: str | None = None
    issued: tuple[x509.Certificate, ...] | None = None
    # When ``issued`` may be stored, on the issuance clock (``issuance.py``); None: only a cancel or delete ends it.
    ready_at: float | None = 0.0
    # The id of the version the operation makes: the service makes it, disabled and without a certificate, when the
    # request starts, and a GET of a certificate that has no other version answers it (a recorded answer).
    version: str = ""

    @property
    def in_progress(self) -> bool:
        return self.status == "inProgress"


@dataclass
class CertificateObject(Versioned[CertificateVersion]):
    """A certificate: its versions, its management policy and its pending operation (if any)."""

    policy: dict[str, Any] | None = None
    pending: PendingOperation | None = None
    # (version, lifetime action index) pairs already acted on, so a trigger fires once per version.
    fired: set[tuple[str, int]] = field(default_factory=set)

    @property
    def has_versions(self) -> bool:
        return bool(self.versions)


@dataclass
class Issuer:
    """A certificate issuer set in the vault. ``password`` never leaves the fake."""

    name: str
    provider: str
    attributes: Attributes
    account_id: str | None = None
    password: str | None = field(default=None, repr=False)
    org_details: dict[str, Any] | None = None


@dataclass(frozen=True)
class CertificateNotification:
    """What the EmailContacts lifetime action would have emailed: who, about which certificate version, when."""

    vault: str
    certificate: str
    version: str
    contacts: tuple[str, ...]
    expires: int | None
    time: int


@dataclass
class CertificateVaultState:
    """Vault-wide certificate state: issuers (by lower-case name), contacts, EmailContacts notifications."""

    issuers: dict[str, Issuer] = field(default_factory=dict)
    contacts: list[dict[str, str]] | None = None
    notifications: list[CertificateNotification] = field(default_factory=list)


def certificate_store(vault: Vault) -> ObjectStore[CertificateVersion]:
    return cast(ObjectStore[CertificateVersion], vault.store(STORE))


def vault_state(vault: Vault) -> CertificateVaultState:
    return cast(CertificateVaultState, vault.extension(STORE, CertificateVaultState))


def get_object(vault: Vault, name: str) -> CertificateObject | None:
    return cast("CertificateObject | None", certificate_store(vault).get(name))


def get_or_create_object(vault: Vault, name: str) -> CertificateObject:
    store = certificate_store(vault)
    found = get_object(vault, name)
    if found is None:
        found = CertificateObject(name)
        store.live[name.lower()] = found
    return found


def refuse_if_in_window(vault: Vault, name: str) -> None:
    """409 for recovering or purging a certificate whose soft delete or recovery has not finished."""
    store = certificate_store(vault)
    if store.being_deleted(name) is not None:
        raise ServiceError.being_deleted(KIND)
    recovering = store.being_recovered(name)
    if recovering is not None:
        raise ServiceError.recovery_in_progress(KIND, certificate_id(vault, recovering.name, recovering.latest))


def live_certificate(vault: Vault, name: str) -> CertificateObject:
    """The certificate with at least one version; 404 CertificateNotFound otherwise (a pending-only one too)."""
    obj = get_object(vault, name)
    if obj is None or not obj.has_versions:
        raise ServiceError.object_not_found(KIND, name)
    return obj


def certificate_id(vault: Vault, name: str, version: str | None = None) -> str:
    return f"{vault.url}/certificates/{name}" + (f"/{version}" if version else "")


# -- rendering -------------------------------------------------------------------------------------------------


def policy_to_wire(ctx: OperationContext, obj: CertificateObject) -> dict[str, Any]:
    """The CertificatePolicy as GET policy answers it, trimmed to what the request's api-version has."""
    policy = dict(obj.policy or {})
    x509_props = dict(policy.get("x509_props") or {})
    sans = x509_props.get("sans")
    if isinstance(sans, dict) and not ctx.api_at_least(SANS_SINCE):
        sans = {kind: values for kind, values in sans.items() if kind not in ("uris", "ipAddresses")}
    # The service's policies always carry sans (an empty object when there are none) and basic_constraints
    # (recorded answers: "sans": {}, "basic_constraints": {"ca": false}).
    x509_props["sans"] = sans if isinstance(sans, dict) else {}
    x509_props.setdefault("basic_constraints", {"ca": False})
    policy["x509_props"] = x509_props
    if not ctx.api_at_least("2026-04-01"):
        policy.pop("platformManaged", None)  # not in older api-versions' model
    return {"id": f"{certificate_id(ctx.vault, obj.name)}/policy", **policy}


def _attributes(ctx: OperationContext, version: CertificateVersion) -> dict[str, Any]:
    return attributes_to_wire(version.attributes, ctx.vault.properties, ctx)


def bundle(
    ctx: OperationContext, obj: CertificateObject, version: CertificateVersion, *, policy: bool
) -> dict[str, Any]:
    """The CertificateBundle: ids of the certificate and its backing key and secret (same version), ``x5t``,
    ``cer``, attributes, tags, and the policy when the latest version was asked for by name."""
    vault_url = ctx.vault.url
    wire: dict[str, Any] = {
        "id": certificate_id(ctx.vault, obj.name, version.version),
        "kid": f"{vault_url}/keys/{obj.name}/{version.version}",
        "sid": f"{vault_url}/secrets/{obj.name}/{version.version}",
        "x5t": thumbprint_x5t(version.cert),
        "cer": cer_b64(version.cert),
        "attributes": _attributes(ctx, version),
    }
    if version.tags is not None:
        wire["tags"] = version.tags
    if policy and obj.policy is not None:
        wire["policy"] = policy_to_wire(ctx, obj)
    if policy and obj.pending is not None and obj.pending.in_progress:
        wire["pending"] = {"id": f"{certificate_id(ctx.vault, obj.name)}/pending"}
    wire["contentType"] = version.content_type
    if version.preserve_order is not None and ctx.api_at_least(_PRESERVE_ORDER_SINCE):
        wire["preserveCertOrder"] = version.preserve_order
    return wire


def pending_bundle(
    ctx: OperationContext, obj: CertificateObject, op: PendingOperation, *, policy: bool
) -> dict[str, Any]:
    """The CertificateBundle of the version a create makes before it is issued: disabled, with the validity the
    policy asks for from the request's time, and no certificate yet (no ``kid``, ``sid``, ``x5t`` or ``cer``), as a
    recording of the service shows it while a create is in progress."""
    started = op.attributes.created
    months = int((op.policy.get("x509_props") or {}).get("validity_months", 12))
    not_before, not_after = validity_window(datetime.fromtimestamp(started, timezone.utc), months)
    attributes = Attributes(
        created=started,
        updated=started,
        enabled=False,
        nbf=int(not_before.timestamp()),
        exp=int(not_after.timestamp()),
    )
    wire: dict[str, Any] = {
        "id": certificate_id(ctx.vault, obj.name, op.version),
        "attributes": attributes_to_wire(attributes, ctx.vault.properties, ctx),
    }
    if op.tags is not None:
        wire["tags"] = op.tags
    if policy and obj.policy is not None:
        wire["policy"] = policy_to_wire(ctx, obj)
    if policy and op.in_progress:
        wire["pending"] = {"id": f"{certificate_id(ctx.vault, obj.name)}/pending"}
    return wire


def item(ctx: OperationContext, obj: CertificateObject, *, version: CertificateVersion | None = None) -> dict[str, Any]:
    """A CertificateItem: versionless id (lists of certificates) or versioned (lists of versions)."""
    shown = version if version is not None else (obj.current() if obj.has_versions else None)
    wire: dict[str, Any] = {"id": certificate_id(ctx.vault, obj.name, version.version if version else None)}
    if shown is None:
        # A certificate still being provisioned (listed with includePending=true).
        if obj.pending is not None:
            wire["attributes"] = attributes_to_wire(obj.pending.attributes, ctx.vault.properties, ctx)
        return wire
    wire["attributes"] = _attributes(ctx, shown)
    if shown.tags is not None:
        wire["tags"] = shown.tags
    wire["x5t"] = thumbprint_x5t(shown.cert)
    return wire


def deleted(ctx: OperationContext, obj: CertificateObject, wire: dict[str, Any]) -> dict[str, Any]:
    """Add ``recoveryId``, ``deletedDate`` and ``scheduledPurgeDate`` to a bundle or item of a deleted certificate."""
    return with_deletion(ctx, "deletedcertificates", obj, wire)


def operation_to_wire(ctx: OperationContext, obj: CertificateObject, op: PendingOperation) -> dict[str, Any]:
    """The CertificateOperation: ``status`` is always a string (the SDK's poller calls ``.lower()`` on it)."""
    wire: dict[str, Any] = {
        "id": f"{certificate_id(ctx.vault, obj.name)}/pending",
        "issuer": dict(op.issuer),
        "csr": csr_b64(op.csr),
        "cancellation_requested": op.cancellation_requested,
        "status": op.status,
    }
    if op.status_details:
        wire["status_details"] = op.status_details
    if op.error is not None:
        wire["error"] = op.error
    if op.target is not None:
        wire["target"] = op.target
    if op.preserve_order is not None and ctx.api_at_least(_PRESERVE_ORDER_SINCE):
        wire["preserveCertOrder"] = op.preserve_order
    wire["request_id"] = op.request_id
    return wire


def issuer_to_wire(vault: Vault, issuer: Issuer) -> dict[str, Any]:
    """The IssuerBundle; the credentials' ``pwd`` is never echoed (SetCertificateIssuer example)."""
    wire: dict[str, Any] = {"id": f"{vault.url}/certificates/issuers/{issuer.name}", "provider": issuer.provider}
    if issuer.account_id is not None:
        wire["credentials"] = {"account_id": issuer.account_id}
    if issuer.org_details is not None:
        wire["org_details"] = {"zip": 0, **issuer.org_details}  # the service's OrganizationDetails carry zip (0)
    attrs = issuer.attributes
    wire["attributes"] = {"enabled": attrs.enabled, "created": attrs.created, "updated": attrs.updated}
    return wire
