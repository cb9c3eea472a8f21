"""The reference grammar: the text forms that point at a Key Vault secret, and which vault (and App Configuration
store) hosts may get a token.

The bottom of the resolver side: it imports nothing of kvconfig but :mod:`kvconfig.errors`. ``docs/references.md``
is its specification. Users import these names from :mod:`kvconfig`; this package's ``__all__`` is what the other
wings (sources, resolve, settings, cli) use.
"""

from __future__ import annotations

from kvconfig.references._grammar import (
    APPCONFIG_KEYVAULT_CONTENT_TYPE,
    KeyVaultReference,
    find_references,
    is_reference,
    parse_appconfig_reference,
    parse_reference,
)
from kvconfig.references._hosts import (
    CLOUD_VAULT_SUFFIXES,
    TRUSTED_VAULT_SUFFIXES,
    CloudName,
    cloud_vault_suffix,
    is_trusted_host,
    trusted_entries,
)
from kvconfig.references._stores import (
    APPCONFIG_STORE_DOMAINS,
    LOOPBACK_STORE_DOMAIN,
    is_store_name,
    is_trusted_store_host,
    store_host,
)

__all__ = [
    "APPCONFIG_KEYVAULT_CONTENT_TYPE",
    "APPCONFIG_STORE_DOMAINS",
    "CLOUD_VAULT_SUFFIXES",
    "LOOPBACK_STORE_DOMAIN",
    "TRUSTED_VAULT_SUFFIXES",
    "CloudName",
    "KeyVaultReference",
    "cloud_vault_suffix",
    "find_references",
    "is_reference",
    "is_store_name",
    "is_trusted_host",
    "is_trusted_store_host",
    "parse_appconfig_reference",
    "parse_reference",
    "store_host",
    "trusted_entries",
]
