"""Putting fetched values in place: each setting's references replaced by their secrets, or a failure per reference.

A setting resolves only when every reference in it does; a failing one keeps its text (the caller decides whether to
raise, keep or omit it). Expired or not-yet-valid secrets are failures when ``strict``, else a note (an
``ExpiryWarning`` for the caller). Nothing here reads a vault: ``fetched`` holds what ``_clients`` read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kvconfig.errors import ResolutionFailure
from kvconfig.resolve._clients import Fetched, Key
from kvconfig.resolve._collection import Entry, written_reference
from kvconfig.resolve._results import ResolvedSettings
from kvconfig.resolve._status import ReferenceStatus, validity

__all__ = ["assemble", "statuses_of"]

logger = logging.getLogger("kvconfig")


def assemble(
    settings: Mapping[str, Any],
    entries: list[Entry],
    fetched: Mapping[Key, Fetched],
    *,
    now: datetime,
    strict: bool,
) -> tuple[ResolvedSettings, list[ResolutionFailure], list[str]]:
    """``settings`` with the references of ``entries`` replaced, the failures, and the expiry notes."""
    result = ResolvedSettings(settings)
    failures: list[ResolutionFailure] = []
    notes: list[str] = []
    for entry in entries:
        pieces: list[str] = []
        position = 0
        failed = False
        for start, end, ref in entry.refs:
            item = fetched[ref.key]
            status, detail = item.status, item.detail
            if item.secret is not None and status == "OK":
                invalid = validity(item.secret, now)
                if invalid is not None:
                    if strict:
                        status, detail = invalid
                    else:
                        note = f"Setting {entry.setting!r}: {invalid[1]} ({ref})"
                        logger.warning("%s", note)
                        notes.append(note)
            if status != "OK" or item.secret is None:
                written = written_reference(entry.text[start:end])
                failures.append(ResolutionFailure(entry.setting, str(ref), status, detail, entry.origin, written))
                failed = True
                continue
            pieces.append(entry.text[position:start])
            pieces.append(item.secret.value)
            position = end
        if failed:
            continue
        pieces.append(entry.text[position:])
        result[entry.setting] = "".join(pieces)
    return result, failures, notes


def statuses_of(
    entries: list[Entry], failures: list[ResolutionFailure], fetched: Mapping[Key, Fetched], now: datetime
) -> list[ReferenceStatus]:
    """What ``check`` reports: a status per reference of each setting (failures of collection included), by setting;
    never a value."""
    statuses = [
        ReferenceStatus(f.setting, f.reference, f.status, detail=f.detail, origin=f.origin, written=f.written)
        for f in failures
    ]
    for entry in entries:
        for start, end, ref in entry.refs:
            item = fetched[ref.key]
            secret = item.secret
            status, detail = item.status, item.detail
            if secret is not None and status == "OK":
                status, detail = validity(secret, now) or ("OK", "")
            statuses.append(
                ReferenceStatus(
                    entry.setting,
                    str(ref),
                    status,
                    version=secret.version if secret else None,
                    expires_on=secret.expires_on if secret else None,
                    not_before=secret.not_before if secret else None,
                    detail=detail,
                    origin=entry.origin,
                    written=written_reference(entry.text[start:end]),
                )
            )
    statuses.sort(key=lambda status: status.setting)
    return statuses
