"""pydantic-settings integration: Key Vault references resolved in any source, secrets read per field, and a base
class that does both with no boilerplate.

* :class:`KeyVaultReferences`: wraps other sources and resolves the references in their values (nested too).
* :class:`KeyVaultSecretsSource`: ``AzureKeyVaultSettingsSource``'s name mapping, read with Get only (no List).
* :class:`AppConfigurationStore`: an App Configuration store as settings (prefix, labels, nesting), references
  resolved, refreshed through a sentinel key; ``store.source(Settings)`` is its pydantic-settings source.
* :class:`KeyVaultSettings`: a ``BaseSettings`` configured through ``model_config``
  (:class:`KeyVaultSettingsConfigDict`), with ``refresh()`` returning a new object and a repr hiding vault values.

Needs pydantic-settings: ``pip install 'kvconfig[settings]'``.
"""

from __future__ import annotations

try:
    import pydantic_settings as _pydantic_settings  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "kvconfig.settings needs pydantic-settings; install it with: pip install 'kvconfig[settings]'"
    ) from exc

from kvconfig.settings._appconfig import AppConfigurationSource, AppConfigurationStore
from kvconfig.settings._base import KeyVaultSettings, KeyVaultSettingsConfigDict, SettingsStatus
from kvconfig.settings._references import KeyVaultReferences
from kvconfig.settings._secrets import KeyVaultSecretsSource

__all__ = [
    "AppConfigurationSource",
    "AppConfigurationStore",
    "KeyVaultReferences",
    "KeyVaultSecretsSource",
    "KeyVaultSettings",
    "KeyVaultSettingsConfigDict",
    "SettingsStatus",
]
