"""kvconfig: Azure Key Vault references resolved through the official SDK, and an in-process fake Key Vault.

>>> from kvconfig import SecretResolver
>>> settings = SecretResolver().resolve({"DB_PASSWORD": "@Microsoft.KeyVault(VaultName=myvault;SecretName=db)"})
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
        KeyCollisionError,
        SourceError,
        UntrustedStoreError,
        from_appconfig,
        from_dotenv,
        from_environ,
        from_file,
        from_mapping,
    )

__version__ = "0.1.0"

# The public names load on first use (PEP 562), so that ``import kvconfig.cli`` or ``import kvconfig.fake`` does not
# pay for the resolver, asyncio and the Azure SDK they may never touch (``kvconfig fake serve`` starts faster).
# ``tests/unit/test_lazy_imports.py`` pins the table against ``__all__``.
_LAZY: dict[str, str] = {
    "CachedSecret": "kvconfig.resolve",
    "ConfigSource": "kvconfig.sources",
    "ExpiryWarning": "kvconfig.resolve",
    "FakeVaultNotImplementedError": "kvconfig.errors",
    "FetchProgress": "kvconfig.resolve",
    "KeyCollisionError": "kvconfig.sources",
    "KeyVaultReference": "kvconfig.references",
    "KvConfigError": "kvconfig.errors",
    "ReferenceStatus": "kvconfig.resolve",
    "ReferenceSyntaxError": "kvconfig.errors",
    "RefreshEvent": "kvconfig.resolve",
    "ResolutionError": "kvconfig.errors",
    "ResolutionFailure": "kvconfig.errors",
    "ResolutionReport": "kvconfig.resolve",
    "ResolvedSettings": "kvconfig.resolve",
    "SecretCache": "kvconfig.resolve",
    "SecretResolver": "kvconfig.resolve",
    "SourceError": "kvconfig.sources",
    "UntrustedStoreError": "kvconfig.sources",
    "UntrustedVaultError": "kvconfig.errors",
    "find_references": "kvconfig.references",
    "format_status_summary": "kvconfig.resolve",
    "format_status_table": "kvconfig.resolve",
    "from_appconfig": "kvconfig.sources",
    "from_dotenv": "kvconfig.sources",
    "from_environ": "kvconfig.sources",
    "from_file": "kvconfig.sources",
    "from_mapping": "kvconfig.sources",
    "is_reference": "kvconfig.references",
    "is_trusted_host": "kvconfig.references",
    "merge_sources": "kvconfig.resolve",
    "parse_appconfig_reference": "kvconfig.references",
    "parse_reference": "kvconfig.references",
    "resolve_environ": "kvconfig.resolve",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kvconfig' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CachedSecret",
    "ConfigSource",
    "ExpiryWarning",
    "FakeVaultNotImplementedError",
    "FetchProgress",
    "KeyCollisionError",
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
    "UntrustedStoreError",
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
