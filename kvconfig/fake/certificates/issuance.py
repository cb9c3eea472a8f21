"""Issuing certificate versions: Self, Unknown and CA-backed issuers, completing operations, lifetime actions.

``start_issuance`` makes the key (or reuses the current one, ``reuse_key``) and the CSR, and asks the issuer:

* ``Self`` signs at once; ``Unknown`` waits for MergeCertificate; an issuer set in the vault with a provider
  (``DigiCert``, ``GlobalSign``, any other) is served by the fake's certificate authority
  (:attr:`FakeKeyVault.certificate_authority`), which signs at once with that provider's intermediate CA.
* Issuance takes time, as in the service: the operation answers ``inProgress`` (CreateCertificate returns 202 with
  it) until the issuer's time has passed (:data:`DEFAULT_ISSUANCE_SECONDS`, or what
  :func:`set_issuance_time` gives an issuer; ``None`` never finishes by itself). Then the tick hook
  :func:`certificate_tick` stores the signed certificate as a new version with its backing key and secret, and the
  operation turns ``completed``. Until then ``cancel_certificate_operation`` can stop it: the operation ends
  ``cancelled`` on the vault's next request, and nothing is stored.
* Time here is the *issuance clock*: the fake's clock plus the waits the SDK asked for and the fake skipped
  (``ServiceHost.skipped_waits``; every wait counts at least a second). So a poller finishes without real sleeping
  whatever the clock, even at ``_polling_interval=0``, and a ``ManualClock`` moved by the test finishes it as well.

The same hook runs the policy's lifetime actions on the fake's clock: at ``lifetime_percentage`` of the current
version's validity or ``days_before_expiry`` before its end, ``AutoRenew`` issues a new version (for Self and
CA-backed issuers) and ``EmailContacts`` records a :class:`CertificateNotification` for the vault's contacts
(``FakeKeyVault.certificate_notifications``). Each trigger fires once per version.
"""

from __future__ import annotations

import uuid
import weakref
from datetime import datetime, timezone
from typing import Any

from cryptography import x509

from kvconfig.fake.certificates.authority import FakeCertificateAuthority
from kvconfig.fake.certificates.backing import add_backing_objects
from kvconfig.fake.certificates.policy import CertificatePrivateKey, key_props_for
from kvconfig.fake.certificates.state import (
    CANCELLED_DETAILS,
    MERGE_DETAILS,
    CertificateNotification,
    CertificateObject,
    CertificateVersion,
    PendingOperation,
    certificate_id,
    certificate_store,
    vault_state,
)
from kvconfig.fake.certificates.x509 import build_certificate, build_csr, generate_private_key, validity_window
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.routing import ServiceHost
from kvconfig.fake.core.state import Attributes, Vault

__all__ = [
    "DEFAULT_ISSUANCE_SECONDS",
    "adopt_certificate_authority",
    "certificate_authority_of",
    "certificate_tick",
    "complete_operation",
    "ensure_certificate_hook",
    "existing_certificate_authority",
    "issuance_time",
    "set_issuance_time",
    "start_issuance",
    "store_version",
]

_AUTHORITIES: weakref.WeakKeyDictionary[ServiceHost, FakeCertificateAuthority] = weakref.WeakKeyDictionary()
# How long an issuer takes, in seconds of the issuance clock: Self and the fake CA sign in a couple of seconds.
DEFAULT_ISSUANCE_SECONDS = 2.0
_ISSUANCE_TIMES: weakref.WeakKeyDictionary[ServiceHost, dict[str, float | None]] = weakref.WeakKeyDictionary()


def set_issuance_time(service: ServiceHost, issuer: str, seconds: float | None) -> None:
    """How long ``issuer`` (``Self``, an issuer's name or its provider, ``*`` for all) takes to sign on ``service``;
    ``None``: it never finishes by itself (a test cancels or deletes the request)."""
    if seconds is not None and seconds < 0:
        raise ValueError("An issuance time cannot be negative.")
    _ISSUANCE_TIMES.setdefault(service, {})[issuer.lower()] = seconds


def issuance_time(service: ServiceHost, issuer: str, provider: str | None = None) -> float | None:
    """The seconds ``issuer`` takes on ``service`` (its own setting, then its provider's, then ``*``, then the
    default)."""
    times = _ISSUANCE_TIMES.get(service, {})
    for key in (issuer.lower(), (provider or "").lower(), "*"):
        if key in times:
            return times[key]
    return DEFAULT_ISSUANCE_SECONDS


def _issuance_clock(service: ServiceHost, now: float) -> float:
    return now + service.skipped_waits


def certificate_authority_of(service: ServiceHost) -> FakeCertificateAuthority:
    """The fake CA of one ServiceHost (made on first use, shared by its vaults)."""
    found = _AUTHORITIES.get(service)
    if found is None:
        found = _AUTHORITIES.setdefault(service, FakeCertificateAuthority())
    return found


def existing_certificate_authority(service: ServiceHost) -> FakeCertificateAuthority | None:
    """The service's fake CA if one was made (for saving it), never making one."""
    return _AUTHORITIES.get(service)


def adopt_certificate_authority(service: ServiceHost, authority: FakeCertificateAuthority) -> None:
    """Make ``authority`` (a saved one, restored) the service's fake CA."""
    _AUTHORITIES[service] = authority


def ensure_certificate_hook(service: ServiceHost) -> None:
    """Register :func:`certificate_tick` on the service (once); certificate operations call this."""
    if certificate_tick not in service.tick_hooks:
        service.tick_hooks.append(certificate_tick)


def _issuer_name(policy: dict[str, Any]) -> str:
    issuer = policy.get("issuer") or {}
    return str(issuer.get("name") or "Unknown")


def _same_key_kind(key: CertificatePrivateKey, policy: dict[str, Any]) -> bool:
    wanted = policy.get("key_props") or {}
    actual = key_props_for(key)
    return bool(
        str(wanted.get("kty", "RSA")).split("-")[0] == actual["kty"]
        and wanted.get("key_size") == actual["key_size"]
        and wanted.get("crv") == actual.get("crv")
    )


def start_issuance(
    service: ServiceHost,
    vault: Vault,
    obj: CertificateObject,
    policy: dict[str, Any],
    *,
    now: int,
    attributes: Attributes,
    tags: dict[str, str] | None,
    preserve_order: bool | None,
    version_id: str | None = None,
) -> PendingOperation:
    """Make the key and CSR of a new version, ask the issuer, and set it as the certificate's pending operation.

    ``version_id`` is the id of the version the operation will store (an operation passes ``ctx.new_version()``;
    ``None`` makes one). Raises 400 for an issuer name that is neither ``Self``, ``Unknown`` nor set in the vault
    (or is disabled).
    """
    issuer_name = _issuer_name(policy)
    provider: str | None = None
    if issuer_name.lower() not in ("self", "unknown"):
        issuer = vault_state(vault).issuers.get(issuer_name.lower())
        if issuer is None or not issuer.attributes.enabled:
            raise ServiceError.unknown_certificate_issuer(issuer_name)
        provider = issuer.provider
    key_props = policy.get("key_props") or {}
    current = obj.current() if obj.has_versions else None
    if key_props.get("reuse_key") and current is not None and _same_key_kind(current.private_key, policy):
        key = current.private_key
    else:
        key = generate_private_key(key_props)
    csr = build_csr(policy, key)
    op = PendingOperation(
        request_id=uuid.uuid4().hex,
        issuer=dict(policy.get("issuer") or {"name": issuer_name}),
        csr=csr,
        private_key=key,
        policy=policy,
        attributes=attributes,
        tags=tags,
        preserve_order=preserve_order,
        version=(version_id or service.ids.new_version()).lower(),
    )
    months = int((policy.get("x509_props") or {}).get("validity_months", 12))
    not_before, not_after = validity_window(datetime.fromtimestamp(now, timezone.utc), months)
    if issuer_name.lower() == "self":
        op.issued = (build_certificate(policy, key, not_before=not_before, not_after=not_after),)
    elif provider is not None:
        issued = certificate_authority_of(service).issue(
            csr, provider, validity_months=months, not_before=not_before, not_after=not_after
        )
        op.issued = tuple(issued)
    else:
        op.status_details = MERGE_DETAILS
    if op.issued is not None:
        seconds = issuance_time(service, issuer_name, provider)
        op.ready_at = None if seconds is None else _issuance_clock(service, now) + seconds
    obj.pending = op
    return op


def store_version(
    service: ServiceHost,
    vault: Vault,
    obj: CertificateObject,
    certs: tuple[x509.Certificate, ...] | list[x509.Certificate],
    key: CertificatePrivateKey,
    *,
    now: int,
    policy: dict[str, Any],
    enabled: bool = True,
    tags: dict[str, str] | None = None,
    preserve_order: bool | None = None,
    version_id: str | None = None,
) -> CertificateVersion:
    """Store a new version (leaf first in ``certs``) with its backing key and secret; it becomes the latest.

    ``version_id`` is the new version's id (an operation passes ``ctx.new_version()``); ``None`` makes one.
    """
    leaf, chain = certs[0], tuple(certs[1:])
    attributes = Attributes(
        created=now,
        updated=now,
        enabled=enabled,
        nbf=int(leaf.not_valid_before_utc.timestamp()),
        exp=int(leaf.not_valid_after_utc.timestamp()),
    )
    version = CertificateVersion(
        version=(version_id or service.ids.new_version()).lower(),
        cert=leaf,
        chain=chain,
        private_key=key,
        attributes=attributes,
        tags=tags,
        preserve_order=preserve_order,
        content_type=str((policy.get("secret_props") or {}).get("contentType")),
    )
    key_props = policy.get("key_props") or {}
    with vault.lock:
        previous = obj.latest or None
        add_backing_objects(
            vault,
            obj.name,
            version,
            kty=str(key_props.get("kty", "RSA")),
            exportable=bool(key_props.get("exportable", True)),
            now=now,
            previous_version=previous,
        )
        obj.add(version.version, version)
    return version


def complete_operation(
    service: ServiceHost,
    vault: Vault,
    obj: CertificateObject,
    certs: tuple[x509.Certificate, ...],
    now: int,
    *,
    version_id: str | None = None,
) -> CertificateVersion:
    """Finish the pending operation with signed ``certs``: store the version (with ``version_id`` when given, else
    the id the operation was started with), mark the operation completed."""
    op = obj.pending
    assert op is not None
    version_id = version_id or op.version or None
    version = store_version(
        service,
        vault,
        obj,
        certs,
        op.private_key,
        now=now,
        policy=obj.policy or op.policy,
        enabled=op.attributes.enabled,
        tags=op.tags,
        preserve_order=op.preserve_order,
        version_id=version_id,
    )
    op.status = "completed"
    op.status_details = ""
    op.issued = None
    op.target = certificate_id(vault, obj.name)
    return version


def certificate_tick(service: ServiceHost, vault: Vault, now: float) -> None:
    """Let time act on the vault's certificates: complete issued operations, then run due lifetime actions."""
    moment = int(now)
    made: list[tuple[str, CertificateVersion]] = []
    with vault.lock:
        for found in certificate_store(vault):
            obj = found if isinstance(found, CertificateObject) else None
            if obj is None:
                continue
            before = set(obj.versions)
            op = obj.pending
            if op is not None and op.in_progress and op.issued is not None:
                if op.cancellation_requested:
                    op.status, op.status_details, op.issued = "cancelled", CANCELLED_DETAILS, None
                elif op.ready_at is not None and _issuance_clock(service, now) >= op.ready_at:
                    complete_operation(service, vault, obj, op.issued, moment)
            if obj.has_versions and obj.policy is not None:
                _run_lifetime_actions(service, vault, obj, moment)
            made += [(obj.name, version) for key, version in obj.versions.items() if key not in before]
    # Versions issued here (not by a request the events listener sees: MergeCertificate, ImportCertificate) are
    # announced once the vault lock is released, as key rotation does.
    for name, version in made:
        attrs = version.attributes
        service.events.object_changed(vault, "Certificate", name, version.version, nbf=attrs.nbf, exp=attrs.exp)


def _trigger_time(trigger: dict[str, Any], cert: x509.Certificate) -> float | None:
    start = cert.not_valid_before_utc.timestamp()
    end = cert.not_valid_after_utc.timestamp()
    if "lifetime_percentage" in trigger:
        return start + (end - start) * int(trigger["lifetime_percentage"]) / 100
    if "days_before_expiry" in trigger:
        return end - int(trigger["days_before_expiry"]) * 86400
    return None


def _run_lifetime_actions(service: ServiceHost, vault: Vault, obj: CertificateObject, now: int) -> None:
    assert obj.policy is not None
    current = obj.current()
    for index, action in enumerate(obj.policy.get("lifetime_actions") or []):
        if (current.version, index) in obj.fired:
            continue
        due = _trigger_time(action.get("trigger") or {}, current.cert)
        if due is None or now < due:
            continue
        obj.fired.add((current.version, index))
        kind = str((action.get("action") or {}).get("action_type", ""))
        if kind == "EmailContacts":
            contacts = vault_state(vault).contacts or []
            vault_state(vault).notifications.append(
                CertificateNotification(
                    vault=vault.name,
                    certificate=obj.name,
                    version=current.version,
                    contacts=tuple(str(contact.get("email", "")) for contact in contacts),
                    expires=current.attributes.exp,
                    time=now,
                )
            )
        elif kind == "AutoRenew":
            _renew(service, vault, obj, current, now)


def _renew(service: ServiceHost, vault: Vault, obj: CertificateObject, current: CertificateVersion, now: int) -> None:
    assert obj.policy is not None
    if _issuer_name(obj.policy).lower() == "unknown" or (obj.pending is not None and obj.pending.in_progress):
        return  # nothing can sign without a merge; a pending request is already under way
    try:
        op = start_issuance(
            service,
            vault,
            obj,
            obj.policy,
            now=now,
            attributes=Attributes(created=now, updated=now),
            tags=dict(current.tags) if current.tags is not None else None,
            preserve_order=current.preserve_order,
        )
    except ServiceError:
        return  # the policy's issuer was deleted or disabled: the service's renewal would fail the same way
    if op.issued is not None:
        complete_operation(service, vault, obj, op.issued, now)
