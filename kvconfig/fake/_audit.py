"""The audit log: one record per request, with the fields of Key Vault's ``AuditEvent`` diagnostic logs.

Every request the router answers is recorded, also denied and failed ones and the SDK's unauthenticated challenge
request (a 401 record with no identity). Records never hold a value or a body: only what the service's own logs hold
(operation, result, caller, client address, request URI, duration). Field names and ``operationName`` values follow
Microsoft's "Azure Key Vault logging" reference; names for operations that reference does not list are marked
``[inferred]``.

>>> fake.audit.records(operation="SecretGet", identity="app")
>>> fake.audit.to_jsonl("audit.jsonl")
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from kvconfig.fake._access import take_decision
from kvconfig.fake._router import RequestRecord
from kvconfig.fake._wire import _REASONS

if TYPE_CHECKING:
    from kvconfig.fake._service import FakeKeyVault

__all__ = ["AUDIT_OPERATION_NAMES", "AuditEvent", "AuditLog"]

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


class AuditLog:
    """The fake's audit log: a listener on every request, queryable, clearable and exportable as JSON lines."""

    def __init__(self, service: FakeKeyVault) -> None:
        self._service = service
        self._records: list[AuditEvent] = []
        self._lock = threading.Lock()
        self.enabled = True

    # -- recording -------------------------------------------------------------------------------------------------

    def __call__(self, record: RequestRecord) -> None:
        decision = take_decision()
        if not self.enabled:
            return
        event = self._build(record, decision)
        with self._lock:
            self._records.append(event)

    def _build(self, record: RequestRecord, decision: Any) -> AuditEvent:
        split = urlsplit(record.url)
        operation = record.operation
        if operation is None:
            # Requests turned away before routing (the SDK's challenge request, a bad token): name the operation
            # the URL addresses, as the service's logs do.
            matched = self._service.routes.match(record.method, split.path)
            operation = matched[0].operation if matched else None
        name = AUDIT_OPERATION_NAMES.get(operation, operation) if operation else "Authentication"
        host = (split.hostname or "").lower()
        host = host if split.port in (None, 443) else f"{host}:{split.port}"
        located = self._service.locate_existing_vault(host)
        resource_id = located.properties.resource_id.upper() if located is not None else ""
        status = record.status
        identity = record.identity
        properties: dict[str, Any] = {
            "id": record.object_id or f"{split.scheme}://{split.netloc}{split.path}",
            "clientInfo": record.user_agent or "",
            "httpStatusCode": status,
            "requestUri": record.url,
            "isAccessPolicyMatch": bool(decision.access_policy_match) if decision is not None else False,
            "tlsVersion": "TLS1_2",
        }
        if decision is not None and decision.rbac_authorized is not None:
            properties["isRbacAuthorized"] = decision.rbac_authorized
            if decision.assignment is not None:
                properties["appliedAssignmentId"] = decision.assignment.id
        claims: dict[str, Any] | None = None
        if identity is not None:
            claim: dict[str, str] = {_OID_CLAIM: identity.object_id, _UPN_CLAIM: identity.name}
            if identity.app_id:
                claim["appid"] = identity.app_id
            claims = {"claim": claim}
        if status == 0:
            result_type, signature = "Failure", record.error_code or "ConnectionFault"
        elif status < 400:
            result_type, signature = "Success", _REASONS.get(status, str(status))
        else:
            result_type, signature = "Failure", _REASONS.get(status, str(status))
        return AuditEvent(
            time=_timestamp(record.time),
            resource_id=resource_id,
            operation_name=name,
            operation_version=dict(parse_qsl(split.query)).get("api-version", ""),
            result_type=result_type,
            result_signature=signature,
            result_description=record.error_code or "",
            duration_ms=round(record.duration * 1000),
            caller_ip_address=record.client_ip or "",
            correlation_id=record.request_id or "",
            identity=claims,
            properties=properties,
            status=status,
            vault=record.vault or "",
            caller=identity.name if identity else None,
            caller_object_id=identity.object_id if identity else None,
            epoch=record.time,
        )

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
        with self._lock:
            found = list(self._records)
        return [
            event
            for event in found
            if (wanted_operation is None or event.operation_name == wanted_operation)
            and (identity is None or identity in (event.caller, event.caller_object_id))
            and (vault is None or event.vault == vault.lower())
            and (status is None or event.status == status)
            and (result_type is None or event.result_type == result_type)
            and (since is None or event.epoch >= since)
        ]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def to_jsonl(self, target: str | Path | IO[str]) -> int:
        """Write every record as one JSON object per line (the log's exported shape); returns the count."""
        with self._lock:
            lines = [json.dumps(event.to_dict(), separators=(",", ":")) for event in self._records]
        text = "".join(line + "\n" for line in lines)
        if isinstance(target, (str, Path)):
            Path(target).write_text(text, encoding="utf-8")
        else:
            target.write(text)
        return len(lines)

    def __iter__(self) -> Iterator[AuditEvent]:
        with self._lock:
            return iter(list(self._records))

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __repr__(self) -> str:
        return f"AuditLog({len(self)} records)"
