"""kvconfig: Azure Key Vault references resolved through the official SDK, and an in-process fake Key Vault.

>>> from kvconfig import SecretResolver
>>> settings = SecretResolver().resolve({"DB_PASSWORD": "@Microsoft.KeyVault(VaultName=myvault;SecretName=db)"})
"""

from __future__ import annotations

from kvconfig.errors import (
    FakeVaultNotImplementedError,
    KvConfigError,
    ReferenceSyntaxError,
    ResolutionError,
    ResolutionFailure,
    UntrustedVaultError,
)
from kvconfig.references import (
    KeyVaultReference,
    find_references,
    is_reference,
    is_trusted_host,
    parse_appconfig_reference,
    parse_reference,
)
from kvconfig.resolve import (
    CachedSecret,
    ExpiryWarning,
    FetchProgress,
    ReferenceStatus,
    RefreshEvent,
    ResolutionReport,
    ResolvedSettings,
    SecretCache,
    SecretResolver,
    format_status_summary,
    format_status_table,
    merge_sources,
    resolve_environ,
)
from kvconfig.sources import (
    ConfigSource,
    SourceError,
    from_appconfig,
    from_dotenv,
    from_environ,
    from_file,
    from_mapping,
)

__version__ = "0.1.0"

__all__ = [
    "CachedSecret",
    "ConfigSource",
    "ExpiryWarning",
    "FakeVaultNotImplementedError",
    "FetchProgress",
    "KeyVaultReference",
    "KvConfigError",
    "ReferenceStatus",
    "ReferenceSyntaxError",
    "RefreshEvent",
    "ResolutionError",
    "ResolutionFailure",
    "ResolutionReport",
    "ResolvedSettings",
    "SecretCache",
    "SecretResolver",
    "SourceError",
    "UntrustedVaultError",
    "__version__",
    "find_references",
    "format_status_summary",
    "format_status_table",
    "from_appconfig",
    "from_dotenv",
    "from_environ",
    "from_file",
    "from_mapping",
    "is_reference",
    "is_trusted_host",
    "merge_sources",
    "parse_appconfig_reference",
    "parse_reference",
    "resolve_environ",
]
