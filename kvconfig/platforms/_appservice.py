"""App Service app settings as kvconfig reads them: an ``az webapp config appsettings list`` export, an ARM/Bicep
``appSettings`` array, or a whole ``Microsoft.Web/sites`` resource, with App Service's Key Vault reference rules.

The rules: the app reads its references with ``keyVaultReferenceIdentity`` (a user-assigned identity chosen per
app; the system-assigned identity otherwise), a reference without a version is read again within 24 hours
(:data:`APP_SERVICE_TTL`), and each reference's status is one of the portal's (:func:`portal_status`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kvconfig.platforms._document import Document, PlatformError, read_document
from kvconfig.platforms._identity import ManagedIdentity, parse_identity
from kvconfig.sources import ConfigSource, PathPart

__all__ = ["APP_SERVICE_TTL", "PORTAL_STATUSES", "AppServiceSettings", "from_appsettings", "portal_status"]

#: App Service reads a reference without a version again within 24 hours.
APP_SERVICE_TTL = 24 * 3600.0

#: The statuses the portal shows for a Key Vault reference (the ARM ``ResolveStatus`` values).
PORTAL_STATUSES = frozenset(
    {
        "Initialized",
        "Resolved",
        "InvalidSyntax",
        "MSINotEnabled",
        "VaultNotFound",
        "SecretNotFound",
        "SecretVersionNotFound",
        "AccessToKeyVaultDenied",
        "OtherReasons",
        "FetchTimedOut",
        "UnauthorizedClient",
    }
)

_WHAT = "app settings"
_SITE_TYPE = "microsoft.web/sites"


@dataclass(frozen=True)
class AppServiceSettings:
    """An app's settings and how App Service reads their references.

    ``identity`` is the ``keyVaultReferenceIdentity`` (``None``: the system-assigned identity); ``ttl`` is how long a
    versionless reference's value is kept (:data:`APP_SERVICE_TTL`); ``slot_settings`` names the settings marked
    ``slotSetting`` (they stay with a deployment slot when slots are swapped).
    """

    source: ConfigSource
    identity: ManagedIdentity | None = None
    ttl: float = APP_SERVICE_TTL
    slot_settings: frozenset[str] = field(default_factory=frozenset)

    def credential(self) -> Any:
        """The credential App Service's rule picks: the ``keyVaultReferenceIdentity``, else ``None`` (the default)."""
        return self.identity.credential() if self.identity is not None else None


def portal_status(status: str) -> str:
    """A kvconfig status as the portal shows it: ``OK`` is ``Resolved``; kvconfig's own finer statuses
    (``SecretDisabled``, ``SecretExpired``, ``SecretNotYetValid``, ``UntrustedVault``) are ``OtherReasons``."""
    if status == "OK":
        return "Resolved"
    return status if status in PORTAL_STATUSES else "OtherReasons"


def from_appsettings(path: str | os.PathLike[str], *, reference_identity: str | None = None) -> AppServiceSettings:
    """Read an app's settings from ``path``: a JSON (or YAML) array of ``{"name", "value"[, "slotSetting"]}``, an
    object holding ``appSettings`` (or ``siteConfig.appSettings``), or a ``Microsoft.Web/sites`` resource (or an ARM
    template with one) whose ``keyVaultReferenceIdentity`` and ``identity`` are checked as App Service checks them.

    ``reference_identity`` overrides the file's ``keyVaultReferenceIdentity``. Raises :class:`PlatformError` naming
    the file and line for a malformed entry, a name given twice, or an identity the app does not have.
    """
    document = read_document(path, _WHAT, bicep=True)
    site_path, site = _site(document)
    settings_path = _settings_path(document, site_path, site)
    entries = _value_at(document.data, settings_path)
    if not isinstance(entries, list):
        raise document.fail(settings_path, 'appSettings is an array of {"name": ..., "value": ...} objects.')
    settings: dict[str, Any] = {}
    origins: dict[str, str] = {}
    seen: dict[str, str] = {}
    slot = set()
    for index, entry in enumerate(entries):
        at = (*settings_path, index)
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise document.fail(at, f'app setting [{index}] needs a "name" (text) and a "value".')
        name = entry["name"]
        if name.lower() in seen:
            raise document.fail(
                (*at, "name"), f"app setting {name!r} is given twice (also at {seen[name.lower()]}); names are unique."
            )
        seen[name.lower()] = document.origin((*at, "name"))
        value = entry.get("value")
        if isinstance(value, Mapping | list):
            raise document.fail((*at, "value"), f"the value of app setting {name!r} is an object or a list, not text.")
        settings[name] = "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
        origins[name] = document.origin((*at, "value")) if "value" in entry else document.origin(at)
        if entry.get("slotSetting") is True:
            slot.add(name)
    source = ConfigSource(settings, origins, "appsettings", document.path)
    identity = _reference_identity(document, site_path, site, reference_identity)
    if site is not None and "identity" in site and _has_references(settings):
        _require_identity(document, site_path, site, identity)
    return AppServiceSettings(source, identity, APP_SERVICE_TTL, frozenset(slot))


def _site(document: Document) -> tuple[tuple[PathPart, ...], Mapping[str, Any] | None]:
    """The ``Microsoft.Web/sites`` resource in the file (itself, or the one in an ARM template), if any."""
    data = document.data
    if not isinstance(data, Mapping):
        return (), None
    resources = data.get("resources")
    if isinstance(resources, list):
        sites = [
            index
            for index, resource in enumerate(resources)
            if isinstance(resource, Mapping) and str(resource.get("type", "")).lower() == _SITE_TYPE
        ]
        if len(sites) != 1:
            raise document.fail(
                ("resources",),
                f"the template holds {len(sites)} Microsoft.Web/sites resources; kvconfig reads a template with one.",
            )
        return ("resources", sites[0]), resources[sites[0]]
    if "properties" in data or str(data.get("type", "")).lower() == _SITE_TYPE:
        return (), data
    return (), None


def _settings_path(
    document: Document, site_path: tuple[PathPart, ...], site: Mapping[str, Any] | None
) -> tuple[PathPart, ...]:
    data = document.data
    if isinstance(data, list):
        return ()
    candidates: list[tuple[PathPart, ...]] = [("appSettings",), ("siteConfig", "appSettings")]
    if site is not None:
        candidates = [(*site_path, "properties", "siteConfig", "appSettings"), *candidates]
    for candidate in candidates:
        if _value_at(data, candidate) is not None:
            return candidate
    raise document.fail(
        (),
        'no app settings found: kvconfig reads an array of {"name", "value"} objects, '
        "an object with 'appSettings', or a Microsoft.Web/sites resource with siteConfig.appSettings.",
    )


def _reference_identity(
    document: Document, site_path: tuple[PathPart, ...], site: Mapping[str, Any] | None, override: str | None
) -> ManagedIdentity | None:
    where: tuple[PathPart, ...] = (*site_path, "properties", "keyVaultReferenceIdentity")
    written = override if override is not None else _value_at(document.data, where)
    if written is None:
        return None
    try:
        identity = parse_identity(written)
    except ValueError as exc:
        if override is not None:
            raise PlatformError(f"--keyvault-reference-identity: {exc}.") from None
        raise document.fail(where, f"keyVaultReferenceIdentity: {exc}.") from None
    app_identity = site.get("identity") if site is not None else None
    if identity is None or not isinstance(app_identity, Mapping):
        return identity  # no identity block to check against: the file is only the settings
    assigned = app_identity.get("userAssignedIdentities")
    names = [str(key) for key in assigned] if isinstance(assigned, Mapping) else []
    if identity.kind == "resource_id" and not any(identity.same_as(name) for name in names):
        raise document.fail(
            where if override is None else (*site_path, "identity"),
            f"keyVaultReferenceIdentity names the user-assigned identity {identity.name!r}, which the app does not "
            "have (its identity.userAssignedIdentities); App Service reports its references as UnauthorizedClient.",
        )
    return identity


def _require_identity(
    document: Document, site_path: tuple[PathPart, ...], site: Mapping[str, Any], identity: ManagedIdentity | None
) -> None:
    """App Service's MSINotEnabled: the identity that reads the references must be enabled on the app."""
    app_identity = site.get("identity")
    kind = str(app_identity.get("type") or "None") if isinstance(app_identity, Mapping) else "None"
    wanted = "UserAssigned" if identity is not None else "SystemAssigned"
    if wanted.lower() not in kind.lower().replace(" ", ""):
        raise document.fail(
            (*site_path, "identity"),
            f"the app's Key Vault references need its {wanted.lower().replace('assigned', '-assigned')} identity, "
            f"but its identity type is {kind!r}; App Service reports them as MSINotEnabled.",
        )


def _has_references(settings: Mapping[str, Any]) -> bool:
    return any(isinstance(value, str) and "@microsoft.keyvault(" in value.lower() for value in settings.values())


def _value_at(data: Any, path: tuple[PathPart, ...]) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(data, list) or part >= len(data):
                return None
        elif not isinstance(data, Mapping) or part not in data:
            return None
        data = data[part]
    return data
