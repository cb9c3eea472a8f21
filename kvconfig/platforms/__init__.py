"""Where Key Vault is consumed: the platforms' own configuration files, read as written, resolved as each platform
resolves them.

- Azure Functions: ``local.settings.json`` (:func:`from_local_settings`).
- App Service: an app settings export or ARM/Bicep ``appSettings`` (:func:`from_appsettings`), with
  ``keyVaultReferenceIdentity``, the 24-hour refresh of versionless references and the portal's statuses.
- Container Apps: a Container App definition (:func:`read_containerapp`), its ``keyVaultUrl`` secrets read with each
  secret's identity (:func:`resolve_containerapp`).

Readers return :class:`~kvconfig.ConfigSource` objects (or models) whose every part names its file and line; a file
the platform would refuse raises :class:`PlatformError`. This wing sits above :mod:`kvconfig.resolve` and below the
CLI. See docs/platforms/.
"""

from __future__ import annotations

from kvconfig.platforms._appservice import (
    APP_SERVICE_TTL,
    PORTAL_STATUSES,
    AppServiceSettings,
    from_appsettings,
    portal_status,
)
from kvconfig.platforms._containerapps import AppSecret, Container, ContainerApp, EnvVar, read_containerapp
from kvconfig.platforms._document import MAX_FILE_BYTES, PlatformError
from kvconfig.platforms._functions import CONNECTION_STRING_PREFIX, from_local_settings
from kvconfig.platforms._identity import ManagedIdentity, parse_identity
from kvconfig.platforms._resolution import (
    OpenResolver,
    check_containerapp,
    opener,
    resolve_containerapp,
    resolve_containerapp_secrets,
)

__all__ = [
    "APP_SERVICE_TTL",
    "CONNECTION_STRING_PREFIX",
    "MAX_FILE_BYTES",
    "PORTAL_STATUSES",
    "AppSecret",
    "AppServiceSettings",
    "Container",
    "ContainerApp",
    "EnvVar",
    "ManagedIdentity",
    "OpenResolver",
    "PlatformError",
    "check_containerapp",
    "from_appsettings",
    "from_local_settings",
    "opener",
    "parse_identity",
    "portal_status",
    "read_containerapp",
    "resolve_containerapp",
    "resolve_containerapp_secrets",
]
