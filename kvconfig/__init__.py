"""kvconfig: Azure Key Vault references resolved through the official SDK, and an in-process fake Key Vault."""

from __future__ import annotations

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
    "FakeVaultNotImplementedError",
    "KvConfigError",
    "ReferenceSyntaxError",
    "ResolutionError",
    "ResolutionFailure",
    "UntrustedVaultError",
    "__version__",
]
