"""The audit log: one record per request, with the fields of Key Vault's ``AuditEvent`` diagnostic logs.

Every request the router answers is recorded, also denied and failed ones and the SDK's unauthenticated challenge
request (a 401 record with no identity). Records never hold a value or a body: only what the service's own logs hold
(operation, result, caller, client address, request URI, duration). Field names and ``operationName`` values follow
Microsoft's "Azure Key Vault logging" reference; names for operations that reference does not list are marked
``[inferred]``.

Recording is on the request path, so it keeps only a flat, immutable snapshot of the router's
:class:`RequestRecord`, the access decision and the vault's resource id; the :class:`AuditEvent` is built when someone
reads the log (:meth:`AuditLog.records`, iteration, :meth:`AuditLog.to_jsonl`). The log keeps the
newest ``max_records`` records (default :data:`DEFAULT_MAX_RECORDS`, ``None`` for no bound); ``dropped`` counts the
older ones it let go.

>>> fake.audit.records(operation="SecretGet", identity="app")
>>> fake.audit.to_jsonl("audit.jsonl")
>>> fake.audit.max_records = 1_000_000
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

from kvconfig.fake.control.access import take_decision
from kvconfig.fake.core.router import RequestRecord
from kvconfig.fake.core.routing import ServiceHost
from kvconfig.fake.core.wire import _REASONS, _parse_url

__all__ = ["AUDIT_OPERATION_NAMES", "DEFAULT_MAX_RECORDS", "AuditEvent", "AuditLog"]

# About 0.5 KB per kept record (URL, request id, object id and the tuple holding them): ~50 MB at the bound, which
# only long runs (``kvconfig fake serve``, benchmarks) reach.
DEFAULT_MAX_RECORDS = 100_000

# REST operation -> AuditEvent operationName.
AUDIT_OPERATION_NAMES: dict[str, str] = {
    # secrets
    "GetSecret": "SecretGet",
    "SetSecret": "SecretSet",
    "UpdateSecret": "SecretUpdate",
    "DeleteSecret": "SecretDelete",
    "GetSecrets": "SecretList",
    "GetSecretVersions": "SecretListVersions",
    "PurgeDeletedSecret": "SecretPurge",
    "BackupSecret": "SecretBackup",
    "RestoreSecret": "SecretRestore",
    "RecoverDeletedSecret": "SecretRecover",
    "GetDeletedSecret": "SecretGetDeleted",
    "GetDeletedSecrets": "SecretListDeleted",
    # keys
    "CreateKey": "KeyCreate",
    "GetKey": "KeyGet",
    "ImportKey": "KeyImport",
    "DeleteKey": "KeyDelete",
    "sign": "KeySign",
    "verify": "KeyVerify",
    "wrapKey": "KeyWrap",
    "unwrapKey": "KeyUnwrap",
    "encrypt": "KeyEncrypt",
    "decrypt": "KeyDecrypt",
    "UpdateKey": "KeyUpdate",
    "GetKeys": "KeyList",
    "GetKeyVersions": "KeyListVersions",
    "PurgeDeletedKey": "KeyPurge",
    "BackupKey": "KeyBackup",
    "RestoreKey": "KeyRestore",
    "RecoverDeletedKey": "KeyRecover",
    "GetDeletedKey": "KeyGetDeleted",
    "GetDeletedKeys": "KeyListDeleted",
    "RotateKey": "KeyRotate",
    "GetKeyRotationPolicy": "KeyRotationPolicyGet",
    "UpdateKeyRotationPolicy": "KeyRotationPolicySet",
    "release": "KeyRelease",  # [inferred]
    "GetKeyAttestation": "KeyGetAttestation",  # [inferred]
    "GetRandomBytes": "GetRandomBytes",  # [inferred]
    # certificates
    "GetCertificate": "CertificateGet",
    "CreateCertificate": "CertificateCreate",
    "ImportCertificate": "CertificateImport",
    "UpdateCertificate": "CertificateUpdate",
    "GetCertificates": "CertificateList",
    "GetCertificateVersions": "CertificateListVersions",
    "DeleteCertificate": "CertificateDelete",
    "PurgeDeletedCertificate": "CertificatePurge",
    "BackupCertificate": "CertificateBackup",
    "RestoreCertificate": "CertificateRestore",
    "RecoverDeletedCertificate": "CertificateRecover",
    "GetDeletedCertificate": "CertificateGetDeleted",
    "GetDeletedCertificates": "CertificateListDeleted",
    "GetCertificatePolicy": "CertificatePolicyGet",
    "UpdateCertificatePolicy": "CertificatePolicyUpdate",
    "GetCertificateContacts": "CertificateContactsGet",
    "SetCertificateContacts": "CertificateContactsSet",
    "DeleteCertificateContacts": "CertificateContactsDelete",
    "GetCertificateIssuer": "CertificateIssuerGet",
    "SetCertificateIssuer": "CertificateIssuerSet",
    "UpdateCertificateIssuer": "CertificateIssuerUpdate",
    "DeleteCertificateIssuer": "CertificateIssuerDelete",
    "GetCertificateIssuers": "CertificateIssuersList",
    "GetCertificateOperation": "CertificatePendingGet",
    "MergeCertificate": "CertificatePendingMerge",
    "UpdateCertificateOperation": "CertificatePendingUpdate",
    "DeleteCertificateOperation": "CertificatePendingDelete",
}

_OID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"
_UPN_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"


def _timestamp(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


@dataclass(frozen=True)
class AuditEvent:
    """One ``AuditEvent`` record. :meth:`to_dict` gives the log's JSON shape (camelCase, as exported by Azure)."""

    time: str
    resource_id: str
    operation_name: str
    operation_version: str
    result_type: str
    result_signature: str
    result_description: str
    duration_ms: int
    caller_ip_address: str
    correlation_id: str
    identity: dict[str, Any] | None
    properties: dict[str, Any]
    category: str = "AuditEvent"
    # For querying in tests; not part of the exported record.
    status: int = field(default=0, compare=False)
    vault: str = field(default="", compare=False)
    caller: str | None = field(default=None, compare=False)
    caller_object_id: str | None = field(default=None, compare=False)
    epoch: float = field(default=0.0, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "time": self.time,
            "resourceId": self.resource_id,
            "operationName": self.operation_name,
            "operationVersion": self.operation_version,
            "category": self.category,
            "resultType": self.result_type,
            "resultSignature": self.result_signature,
            "resultDescription": self.result_description,
            "durationMs": str(self.duration_ms),
            "callerIpAddress": self.caller_ip_address,
            "correlationId": self.correlation_id,
        }
        if self.identity is not None:
            record["identity"] = self.identity
        record["properties"] = self.properties
        return record


# What recording keeps of one request: a plain tuple of strings, numbers, booleans and None, in this order. Such a
# tuple is immutable and, holding no container, is dropped from the garbage collector's watch after its first
# collection: a full buffer of RequestRecord or AuditEvent objects made every full collection walk 100,000 objects,
# which cost more per request than recording itself.
_Snapshot = tuple[
    float,  # time (epoch seconds)
    str,  # url
    "str | None",  # operation (for a request turned away before routing, the one its URL addresses)
    "str | None",  # vault name
    int,  # status
    "str | None",  # error code
    float,  # duration (seconds)
    "str | None",  # client address
    "str | None",  # x-ms-request-id
    "str | None",  # User-Agent
    "str | None",  # object id
    "str | None",  # caller name
    "str | None",  # caller object id
    "str | None",  # caller app id
    "bool | None",  # access policy match (None: no access decision)
    "bool | None",  # RBAC authorized
    "str | None",  # applied role assignment id
    str,  # the vault's resource id, upper case ("" when the vault is gone)
]


class AuditLog:
    """The fake's audit log: a listener on every request, queryable, clearable and exportable as JSON lines.

    It keeps the newest ``max_records`` records (``None``: all of them); ``dropped`` counts those it let go since
    the last :meth:`clear`. ``enabled = False`` stops recording.
    """

    def __init__(self, service: ServiceHost, *, max_records: int | None = DEFAULT_MAX_RECORDS) -> None:
        self._service = service
        self._lock = threading.Lock()
        self._snapshots: deque[_Snapshot] = deque(maxlen=_check_bound(max_records))
        self._dropped = 0
        self.enabled = True

    @property
    def max_records(self) -> int | None:
        """How many records the log keeps (the newest); ``None`` keeps every record. Lowering it drops the oldest."""
        return self._snapshots.maxlen

    @max_records.setter
    def max_records(self, value: int | None) -> None:
        bound = _check_bound(value)
        with self._lock:
            kept = deque(self._snapshots, maxlen=bound)
            self._dropped += len(self._snapshots) - len(kept)
            self._snapshots = kept

    @property
    def dropped(self) -> int:
        """How many records were let go to stay within ``max_records`` since the log was made or last cleared."""
        return self._dropped

    # -- recording -------------------------------------------------------------------------------------------------

    def __call__(self, record: RequestRecord) -> None:
        decision = take_decision()
        if not self.enabled:
            return
        # What could change after the request is looked up now: the vault (it may be deleted later) and, for a
        # request turned away before routing, the operation its URL addresses (routes may be added later).
        _scheme, hostname, path, port = _parse_url(record.url)[0]
        host = hostname if port in (None, 443) else f"{hostname}:{port}"
        located = self._service.locate_existing_vault(host)
        resource_id = located.properties.resource_id.upper() if located is not None else ""
        operation = record.operation
        if operation is None:
            # Requests turned away before routing (the SDK's challenge request, a bad token): name the operation
            # the URL addresses, as the service's logs do.
            matched = self._service.routes.match(record.method, path)
            operation = matched[0].operation if matched else None
        identity = record.identity
        snapshot: _Snapshot = (
            record.time,
            record.url,
            operation,
            record.vault,
            record.status,
            record.error_code,
            record.duration,
            record.client_ip,
            record.request_id,
            record.user_agent,
            record.object_id,
            identity.name if identity is not None else None,
            identity.object_id if identity is not None else None,
            identity.app_id if identity is not None else None,
            decision.access_policy_match if decision is not None else None,
            decision.rbac_authorized if decision is not None else None,
            decision.assignment.id if decision is not None and decision.assignment is not None else None,
            resource_id,
        )
        with self._lock:
            snapshots = self._snapshots
            if len(snapshots) == snapshots.maxlen:
                self._dropped += 1
            snapshots.append(snapshot)

    def _events(self) -> list[AuditEvent]:
        with self._lock:
            snapshots = list(self._snapshots)
        return [_build(snapshot) for snapshot in snapshots]

    # -- querying --------------------------------------------------------------------------------------------------

    def records(
        self,
        *,
        operation: str | None = None,
        identity: str | None = None,
        vault: str | None = None,
        status: int | None = None,
        result_type: str | None = None,
        since: float | None = None,
    ) -> list[AuditEvent]:
        """Records in order, filtered by ``operationName`` (``SecretGet``) or REST name (``GetSecret``), caller name
        or object id, vault name, HTTP status, result type (``Success``/``Failure``) or time (epoch seconds)."""
        wanted_operation = AUDIT_OPERATION_NAMES.get(operation, operation) if operation else None
        return [
            event
            for event in self._events()
            if (wanted_operation is None or event.operation_name == wanted_operation)
            and (identity is None or identity in (event.caller, event.caller_object_id))
            and (vault is None or event.vault == vault.lower())
            and (status is None or event.status == status)
            and (result_type is None or event.result_type == result_type)
            and (since is None or event.epoch >= since)
        ]

    def latest(self, count: int) -> list[AuditEvent]:
        """The newest ``count`` records, oldest first: builds only those (the portal shows the log's tail)."""
        with self._lock:
            newest_first = list(itertools.islice(reversed(self._snapshots), max(0, count)))
        return [_build(snapshot) for snapshot in reversed(newest_first)]

    def clear(self) -> None:
        with self._lock:
            self._snapshots.clear()
            self._dropped = 0

    def to_jsonl(self, target: str | Path | IO[str]) -> int:
        """Write every record as one JSON object per line (the log's exported shape); returns the count."""
        lines = [json.dumps(event.to_dict(), separators=(",", ":")) for event in self._events()]
        text = "".join(line + "\n" for line in lines)
        if isinstance(target, (str, Path)):
            Path(target).write_text(text, encoding="utf-8")
        else:
            target.write(text)
        return len(lines)

    def __iter__(self) -> Iterator[AuditEvent]:
        return iter(self._events())

    def __len__(self) -> int:
        with self._lock:
            return len(self._snapshots)

    def __repr__(self) -> str:
        dropped = f", {self._dropped} dropped" if self._dropped else ""
        return f"AuditLog({len(self)} records{dropped})"


def _check_bound(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"max_records must be a whole number of records (0 or more) or None, not {value!r}.")
    return value


def _build(snapshot: _Snapshot) -> AuditEvent:
    (
        epoch,
        url,
        operation,
        vault,
        status,
        error_code,
        duration,
        client_ip,
        request_id,
        user_agent,
        object_id,
        caller,
        caller_object_id,
        caller_app_id,
        access_policy_match,
        rbac_authorized,
        assignment_id,
        resource_id,
    ) = snapshot
    split = urlsplit(url)
    name = AUDIT_OPERATION_NAMES.get(operation, operation) if operation else "Authentication"
    properties: dict[str, Any] = {
        "id": object_id or f"{split.scheme}://{split.netloc}{split.path}",
        "clientInfo": user_agent or "",
        "httpStatusCode": status,
        "requestUri": url,
        "isAccessPolicyMatch": bool(access_policy_match),
        "tlsVersion": "TLS1_2",
    }
    if rbac_authorized is not None:
        properties["isRbacAuthorized"] = rbac_authorized
        if assignment_id is not None:
            properties["appliedAssignmentId"] = assignment_id
    claims: dict[str, Any] | None = None
    if caller is not None and caller_object_id is not None:
        claim: dict[str, str] = {_OID_CLAIM: caller_object_id, _UPN_CLAIM: caller}
        if caller_app_id:
            claim["appid"] = caller_app_id
        claims = {"claim": claim}
    if status == 0:
        result_type, signature = "Failure", error_code or "ConnectionFault"
    elif status < 400:
        result_type, signature = "Success", _REASONS.get(status, str(status))
    else:
        result_type, signature = "Failure", _REASONS.get(status, str(status))
    return AuditEvent(
        time=_timestamp(epoch),
        resource_id=resource_id,
        operation_name=name,
        operation_version=dict(parse_qsl(split.query)).get("api-version", ""),
        result_type=result_type,
        result_signature=signature,
        result_description=error_code or "",
        duration_ms=round(duration * 1000),
        caller_ip_address=client_ip or "",
        correlation_id=request_id or "",
        identity=claims,
        properties=properties,
        status=status,
        vault=vault or "",
        caller=caller,
        caller_object_id=caller_object_id,
        epoch=epoch,
    )
