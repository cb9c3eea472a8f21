"""Managed HSM full backup and restore, and selective key restore, with their long-running operations.

``KeyVaultBackupClient`` (azure-keyvault-administration) starts a job with ``POST /backup``, ``PUT /restore`` or
``PUT /keys/{name}/restore`` (and the checks ``POST /prebackup``, ``PUT /prerestore``), gets 202 with the job and an
``azure-asyncoperation`` header, and polls ``/backup/{jobId}/pending`` or ``/restore/{jobId}/pending`` until the
status is ``Succeeded`` or ``Failed``.

The blob container URL and the SAS token (or ``useManagedIdentity``) are taken as given: there is no storage account.
The fake keeps each backup itself, under its folder URL (``<container>/mhsm-<pool>-<timestamp>``), for every pool of
the same fake, so a later restore from that folder works, into the same pool or another one. A backup holds a copy of
the pool's keys, every version, as they were when the backup started. A restore from a folder that holds no backup
(or a selective restore of a key the backup does not hold) ends ``Failed`` with an error, which the SDK's poller raises.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.routing import OperationContext, Route, ServiceHost
from kvconfig.fake.core.state import REVISION, Attributes, VaultKind, Versioned

__all__ = ["ROUTES"]

_HSM_ONLY: frozenset[VaultKind] = frozenset({"managedhsm"})
_KEYS = "keys"
_MAX_URL = 2048
_MAX_JOBS = 1000


@dataclass(frozen=True)
class _Backup:
    pool: str
    keys: tuple[Versioned[Any], ...]


@dataclass
class _Job:
    id: str
    kind: str  # "backup" or "restore"
    start: int
    status: str = "InProgress"
    end: int | None = None
    error: dict[str, Any] | None = None
    status_details: str | None = None
    folder_url: str | None = None


@dataclass
class _Storage:
    """One fake's backups by folder URL, and its jobs by id."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    backups: dict[str, _Backup] = field(default_factory=dict)
    jobs: dict[str, _Job] = field(default_factory=dict)


_STORAGE: weakref.WeakKeyDictionary[ServiceHost, _Storage] = weakref.WeakKeyDictionary()


def _storage(service: ServiceHost) -> _Storage:
    found = _STORAGE.get(service)
    if found is None:
        found = _STORAGE.setdefault(service, _Storage())
    return found


# -- copies of the key store ---------------------------------------------------------------------------------------


def _copy_version(version: Any) -> Any:
    """A copy of one object version that later changes to the original (attributes, tags, key_ops) do not reach."""
    if not dataclasses.is_dataclass(version) or isinstance(version, type):
        return copy.copy(version)
    changes: dict[str, Any] = {}
    for item in dataclasses.fields(version):
        value = getattr(version, item.name)
        if isinstance(value, Attributes | dict | list):
            changes[item.name] = copy.copy(value)
    return dataclasses.replace(version, **changes)


def _copy_object(obj: Versioned[Any]) -> Versioned[Any]:
    copied: Versioned[Any] = Versioned(obj.name)
    for version_id, version in obj.versions.items():
        copied.versions[version_id] = _copy_version(version)
    copied.latest = obj.latest
    return copied


# -- request parsing -----------------------------------------------------------------------------------------------


def _container(raw: object) -> str:
    """The blob container URL of SASTokenParameter / PreBackupOperationParameters, with its credential checked."""
    if not isinstance(raw, dict):
        raise ServiceError.missing_field("sasTokenParameters")
    uri = raw.get("storageResourceUri")
    if not isinstance(uri, str) or not uri.startswith("https://") or len(uri) > _MAX_URL:
        raise ServiceError.bad_parameter("The property 'storageResourceUri' must be an https blob container URL.")
    token, managed = raw.get("token"), raw.get("useManagedIdentity")
    if managed is not None and not isinstance(managed, bool):
        raise ServiceError.bad_parameter("The property 'useManagedIdentity' must be true or false.")
    if not managed and (not isinstance(token, str) or not token):
        # [I] the service needs a SAS token unless the pool's managed identity reaches the storage account.
        raise ServiceError.bad_parameter("A SAS token is required unless useManagedIdentity is true.")
    return uri.rstrip("/")


def _folder(body: dict[str, Any], name: str) -> str:
    folder = body.get(name)
    if not isinstance(folder, str) or not folder or len(folder) > 256 or "/" in folder.strip("/"):
        raise ServiceError.missing_field(name)
    return folder.strip("/")


# -- jobs ----------------------------------------------------------------------------------------------------------


def _start(ctx: OperationContext, kind: str) -> _Job:
    storage = _storage(ctx.service)
    job = _Job(id=uuid.uuid4().hex, kind=kind, start=ctx.now)
    with storage.lock:
        if len(storage.jobs) >= _MAX_JOBS:
            storage.jobs.pop(next(iter(storage.jobs)))
        storage.jobs[job.id] = job
    return job


def _job_to_wire(ctx: OperationContext, job: _Job) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "status": job.status,
        "statusDetails": job.status_details,
        "error": job.error,
        "startTime": job.start,
        "endTime": job.end,
        "jobId": job.id,
    }
    if job.kind == "backup":
        wire["azureStorageBlobContainerUri"] = job.folder_url
    return wire


def _accepted(ctx: OperationContext, job: _Job) -> dict[str, Any]:
    status_url = f"{ctx.vault.url}/{job.kind}/{job.id}/pending?api-version={ctx.api_version}"
    ctx.response_headers["azure-asyncoperation"] = status_url
    # The service answers the start with the job in progress; the first status request finds it finished.
    return {**_job_to_wire(ctx, job), "status": "InProgress", "endTime": None, "error": None}


def _finish(job: _Job, now: int, error: tuple[str, str] | None = None) -> None:
    """End a job; a failed one carries ``error`` (code, message) and, as the service's failed jobs do, the message
    again in ``statusDetails`` (C++ session record ``RestoreSelectiveInvalidKeyStatus``)."""
    job.end = now
    if error is None:
        job.status = "Succeeded"
    else:
        code, message = error
        job.status = "Failed"
        job.error = {"code": code, "message": message, "innererror": None}
        job.status_details = message


def full_backup(ctx: OperationContext) -> dict[str, Any]:
    """Full Backup: POST /backup"""
    container = _container(ctx.body())
    stamp = datetime.fromtimestamp(ctx.now, timezone.utc).strftime("%Y%m%d%H%M%S")
    job = _start(ctx, "backup")
    with ctx.vault.lock:
        keys = tuple(_copy_object(obj) for obj in ctx.vault.store(_KEYS).live.values())
    storage = _storage(ctx.service)
    with storage.lock:
        serial = 0
        folder_url = f"{container}/mhsm-{ctx.vault.name}-{stamp}{serial:02d}"
        while folder_url in storage.backups:
            serial += 1
            folder_url = f"{container}/mhsm-{ctx.vault.name}-{stamp}{serial:02d}"
        storage.backups[folder_url] = _Backup(ctx.vault.name, keys)
    job.folder_url = folder_url
    _finish(job, ctx.now)
    return _accepted(ctx, job)


def pre_full_backup(ctx: OperationContext) -> dict[str, Any]:
    """Pre Full Backup: POST /prebackup (checks that a backup could start)"""
    _container(ctx.body())
    job = _start(ctx, "backup")
    _finish(job, ctx.now)
    return _accepted(ctx, job)


def _backup_at(ctx: OperationContext, body: dict[str, Any], folder_field: str) -> tuple[_Job, _Backup | None]:
    container = _container(body.get("sasTokenParameters"))
    folder_url = f"{container}/{_folder(body, folder_field)}"
    job = _start(ctx, "restore")
    storage = _storage(ctx.service)
    with storage.lock:
        found = storage.backups.get(folder_url)
    if found is None:
        # [I] the service relays the storage account's own error here; the fake has no storage account.
        _finish(job, ctx.now, ("BadParameter", f"The folder {folder_url} holds no backup of a Managed HSM."))
    return job, found


def full_restore(ctx: OperationContext) -> dict[str, Any]:
    """Full Restore Operation: PUT /restore"""
    job, found = _backup_at(ctx, ctx.body(), "folderToRestore")
    if found is not None:
        store = ctx.vault.store(_KEYS)
        with ctx.vault.lock:
            store.live.clear()
            for obj in found.keys:
                store.live[obj.name.lower()] = _copy_object(obj)
            REVISION.bump()
        _finish(job, ctx.now)
    return _accepted(ctx, job)


def pre_full_restore(ctx: OperationContext) -> dict[str, Any]:
    """Pre Full Restore Operation: PUT /prerestore (checks that the folder holds a backup)"""
    job, found = _backup_at(ctx, ctx.body(), "folderToRestore")
    if found is not None:
        _finish(job, ctx.now)
    return _accepted(ctx, job)


def selective_key_restore(ctx: OperationContext) -> dict[str, Any]:
    """Selective Key Restore Operation: PUT /keys/{keyName}/restore"""
    name = ctx.param("name")
    job, found = _backup_at(ctx, ctx.body(), "folder")
    if found is not None:
        wanted = next((obj for obj in found.keys if obj.name.lower() == name.lower()), None)
        if wanted is None:
            # [R] code (spaces and all) and message: C++ session record RestoreSelectiveInvalidKeyStatus.
            _finish(job, ctx.now, ("No key versions are updated", "The given key or its versions NOT found"))
        else:
            store = ctx.vault.store(_KEYS)
            with ctx.vault.lock:
                store.live[wanted.name.lower()] = _copy_object(wanted)
                REVISION.bump()
            _finish(job, ctx.now)
    return _accepted(ctx, job)


def _status(ctx: OperationContext, kind: str) -> dict[str, Any]:
    storage = _storage(ctx.service)
    with storage.lock:
        job = storage.jobs.get(ctx.param("job"))
    if job is None or job.kind != kind:
        # [R] C++ session records BackupFullStatusEmptyJobId and RestoreStatusEmptyJobId.
        raise ServiceError(404, "NotFound", "The given jobId is not found")
    return _job_to_wire(ctx, job)


def full_backup_status(ctx: OperationContext) -> dict[str, Any]:
    """Full Backup Status: GET /backup/{jobId}/pending"""
    return _status(ctx, "backup")


def restore_status(ctx: OperationContext) -> dict[str, Any]:
    """Restore Status: GET /restore/{jobId}/pending"""
    return _status(ctx, "restore")


ROUTES: tuple[Route, ...] = (
    Route("POST", "/backup", "FullBackup", full_backup, success=202, kinds=_HSM_ONLY, since="7.2"),
    Route("GET", "/backup/{job}/pending", "FullBackupStatus", full_backup_status, kinds=_HSM_ONLY, since="7.2"),
    Route("POST", "/prebackup", "PreFullBackup", pre_full_backup, success=202, kinds=_HSM_ONLY, since="7.6"),
    Route("PUT", "/restore", "FullRestoreOperation", full_restore, success=202, kinds=_HSM_ONLY, since="7.2"),
    Route("GET", "/restore/{job}/pending", "RestoreStatus", restore_status, kinds=_HSM_ONLY, since="7.2"),
    Route("PUT", "/prerestore", "PreFullRestoreOperation", pre_full_restore, success=202, kinds=_HSM_ONLY, since="7.6"),
    Route(
        "PUT",
        "/keys/{name}/restore",
        "SelectiveKeyRestoreOperation",
        selective_key_restore,
        success=202,
        kinds=_HSM_ONLY,
        since="7.2",
    ),
)
