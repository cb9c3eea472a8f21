"""The api-versions the fake accepts, oldest first, and comparisons between them.

The list is the union of what the installed azure-keyvault-secrets, -keys and -certificates clients can send
(their ``ApiVersion`` enums), the preview versions that shipped in between, and the stable versions of the REST spec
the SDKs skipped (``2025-06-01``: the spec's examples are sent with it); a test checks it covers the SDKs.
"""

from __future__ import annotations

__all__ = ["API_VERSIONS", "LATEST", "at_least", "is_known"]

API_VERSIONS: tuple[str, ...] = (
    "2016-10-01",
    "7.0",
    "7.1",
    "7.2",
    "7.3-preview",
    "7.3",
    "7.4-preview.1",
    "7.4",
    "7.5-preview.1",
    "7.5",
    "7.6-preview.1",
    "7.6-preview.2",
    "7.6",
    "2025-06-01-preview",
    "2025-06-01",
    "2025-07-01",
    "2026-01-01-preview",
    "2026-03-01-preview",  # sent by the newest SDK previews; the service accepts it
    "2026-04-01",
)
LATEST = "2026-04-01"
_ORDER = {version: index for index, version in enumerate(API_VERSIONS)}


def is_known(version: str) -> bool:
    return version in _ORDER


def at_least(version: str, minimum: str) -> bool:
    """True when ``version`` is ``minimum`` or newer (both must be known versions)."""
    return _ORDER[version] >= _ORDER[minimum]
