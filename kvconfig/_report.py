"""The status table of a ``check``: what the CLI and the framework commands print, never a value.

One line per reference (setting, status, short version, expiry date, reference), columns padded to the widest cell
but the last; then, after a blank line, the detail of each reference that failed.
"""

from __future__ import annotations

from collections.abc import Iterable

from kvconfig._status import ReferenceStatus

__all__ = ["format_status_table"]

_HEADER = ("SETTING", "STATUS", "VERSION", "EXPIRES", "REFERENCE")


def format_status_table(statuses: Iterable[ReferenceStatus]) -> str:
    """The statuses ``SecretResolver.check`` returned, as a plain-text table (statuses hold no values)."""
    items = list(statuses)
    rows = [_HEADER]
    for item in items:
        expires = item.expires_on.date().isoformat() if item.expires_on else "-"
        rows.append((item.setting, item.status, (item.version or "-")[:8], expires, item.reference))
    widths = [max(len(row[index]) for row in rows) for index in range(4)]
    lines = ["  ".join([*(row[index].ljust(widths[index]) for index in range(4)), row[4]]) for row in rows]
    details = [f"  {item.setting}: {item.detail}" for item in items if not item.ok and item.detail]
    return "\n".join(lines + (["", *details] if details else []))
