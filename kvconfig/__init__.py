"""kvconfig: Azure Key Vault references resolved through the official SDK, and an in-process fake Key Vault.

>>> from kvconfig import SecretResolver
>>> settings = SecretResolver().resolve({"DB_PASSWORD": "@Microsoft.KeyVault(VaultName=myvault;SecretName=db)"})
"""

from __future__ import annotations

from kvconfig._cache import CachedSecret, SecretCache
from kvconfig._progress import FetchProgress
from kvconfig._reference import (
    KeyVaultReference,
    find_references,
    is_reference,
    is_trusted_host,
    parse_appconfig_reference,
    parse_reference,
)
from kvconfig._report import format_status_summary, format_status_table
from kvconfig._resolver import ExpiryWarning, SecretResolver
from kvconfig._results import RefreshEvent, ResolutionReport, ResolvedSettings
from kvconfig._sources import ConfigSource, SourceError, from_dotenv, from_environ, from_file, from_mapping
from kvconfig._startup import merge_sources, resolve_environ
from kvconfig._status import ReferenceStatus
from kvconfig.errors import (
    FakeVaultNotImplementedError,
    KvConfigError,
    ReferenceSyntaxError,
    ResolutionError,
    ResolutionFailure,
    UntrustedVaultError,
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
