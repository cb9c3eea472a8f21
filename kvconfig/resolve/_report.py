"""The status table of a ``check`` and its summary line: what the CLI and the framework commands print, never a value.

One line per reference (setting, status, short version, expiry date, reference), columns padded to the widest cell
but the last; then, after a blank line, the detail of each reference that failed and where it came from. The summary
counts what resolved: ``3 of 4 references resolved (1 expired).``
"""

from __future__ import annotations

from collections.abc import Iterable

from kvconfig.resolve._status import ReferenceStatus

__all__ = ["format_status_summary", "format_status_table"]

_HEADER = ("SETTING", "STATUS", "VERSION", "EXPIRES", "REFERENCE")

# Statuses of a secret that was read but is outside its validity window: a warning unless strict, as when resolving.
_VALIDITY = {"SecretExpired": "expired", "SecretNotYetValid": "not yet valid"}


def format_status_table(statuses: Iterable[ReferenceStatus]) -> str:
    """The statuses ``SecretResolver.check`` returned, as a plain-text table (statuses hold no values)."""
    items = list(statuses)
    rows = [_HEADER]
    for item in items:
        expires = item.expires_on.date().isoformat() if item.expires_on else "-"
        rows.append((item.setting, item.status, (item.version or "-")[:8], expires, item.shown))
    widths = [max(len(row[index]) for row in rows) for index in range(4)]
    lines = ["  ".join([*(row[index].ljust(widths[index]) for index in range(4)), row[4]]) for row in rows]
    details = [
        f"  {item.setting}{f' ({item.origin})' if item.origin else ''}: {item.detail}"
        for item in items
        if not item.ok and item.detail
    ]
    return "\n".join(lines + (["", *details] if details else []))


def format_status_summary(statuses: Iterable[ReferenceStatus], *, strict: bool = True) -> str:
    """The closing line of a check: ``"2 of 3 references resolved."``.

    An expired or not-yet-valid secret counts as resolved unless ``strict`` (as ``SecretResolver(strict=...)``
    treats it); either way the line says how many there are: ``"1 of 1 references resolved (1 expired)."``.
    """
    items = list(statuses)
    windows = [_VALIDITY[item.status] for item in items if item.status in _VALIDITY]
    resolved = sum(1 for item in items if item.ok) + (0 if strict else len(windows))
    notes = [f"{windows.count(label)} {label}" for label in _VALIDITY.values() if label in windows]
    return f"{resolved} of {len(items)} references resolved" + (f" ({', '.join(notes)})." if notes else ".")
