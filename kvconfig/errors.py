"""kvconfig's exception tree.

Every error kvconfig raises derives from :class:`KvConfigError`::

    KvConfigError
    ├── ReferenceSyntaxError (also ValueError)   a malformed Key Vault reference; names the setting and its origin
    ├── UntrustedVaultError                      a vault host outside the trusted suffixes; nothing was sent to it
    ├── ResolutionError                          one or more references failed to resolve; ``.failures`` lists each
    └── FakeVaultNotImplementedError             an operation the fake Key Vault does not implement yet

Messages name settings, references and where they came from (file and line), never a secret value.
Errors from the Azure SDK are chained (``raise ... from exc``), not mirrored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "FakeVaultNotImplementedError",
    "KvConfigError",
    "ReferenceSyntaxError",
    "ResolutionError",
    "ResolutionFailure",
    "UntrustedVaultError",
]


class KvConfigError(Exception):
    """Base class of every error kvconfig raises."""


class ReferenceSyntaxError(KvConfigError, ValueError):
    """A Key Vault reference is malformed.

    ``setting`` and ``origin`` (such as ``".env:3"``) say where the text came from when known; ``reason`` says what
    is wrong. The offending text is only quoted when it cannot hold a secret value (it is a reference, not a value).
    """

    def __init__(self, reason: str, *, setting: str | None = None, origin: str | None = None) -> None:
        self.reason = reason
        self.setting = setting
        self.origin = origin
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.setting:
            where.append(f"setting {self.setting!r}")
        if self.origin:
            where.append(f"from {self.origin}")
        prefix = f"Invalid Key Vault reference in {' '.join(where)}: " if where else "Invalid Key Vault reference: "
        return prefix + self.reason

    def located(self, *, setting: str | None = None, origin: str | None = None) -> ReferenceSyntaxError:
        """Return a copy that also names the setting and origin (keeps what is already known)."""
        return ReferenceSyntaxError(self.reason, setting=self.setting or setting, origin=self.origin or origin)


class UntrustedVaultError(KvConfigError):
    """A reference points at a host that is not a trusted Key Vault host; no request (and no token) was sent."""

    def __init__(self, host: str, *, setting: str | None = None, origin: str | None = None) -> None:
        self.host = host
        self.setting = setting
        self.origin = origin
        where = ""
        if setting:
            where += f" in setting {setting!r}"
        if origin:
            where += f" from {origin}"
        super().__init__(
            f"Refusing to send a Key Vault token to untrusted host {host!r}{where}. Trusted hosts are the Key Vault "
            "suffixes of the Azure clouds; list other hosts explicitly with trusted_hosts=... if you mean it."
        )


@dataclass(frozen=True)
class ResolutionFailure:
    """One setting whose reference could not be resolved.

    ``status`` uses App Service's vocabulary (``SecretNotFound``, ``SecretVersionNotFound``, ``VaultNotFound``,
    ``AccessToKeyVaultDenied``, ``InvalidSyntax``, ``FetchTimedOut``, ``OtherReasons``) plus ``SecretDisabled``,
    ``SecretExpired``, ``SecretNotYetValid`` and ``UntrustedVault``. ``detail`` is a human sentence without values.
    """

    setting: str
    reference: str
    status: str
    detail: str = ""
    origin: str | None = None
    #: The reference as the setting holds it, when it differs from the normalised ``reference``.
    written: str | None = None

    @property
    def shown(self) -> str:
        """What the user wrote, then the normalised form: ``<written> (normalised: <SecretUri= form>)``."""
        return as_written(self.written, self.reference)

    def __str__(self) -> str:
        where = f" ({self.origin})" if self.origin else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.setting}{where} -> {self.shown} [{self.status}]{detail}"


def as_written(written: str | None, reference: str) -> str:
    """A reference for a report: the text the user wrote first, then the normalised form when they differ."""
    if not written or written == reference:
        return reference
    return f"{written} (normalised: {reference})"


class ResolutionError(KvConfigError):
    """One or more references could not be resolved; ``failures`` lists every one of them."""

    def __init__(self, failures: Sequence[ResolutionFailure]) -> None:
        self.failures: tuple[ResolutionFailure, ...] = tuple(failures)
        lines = "\n".join(f"  - {failure}" for failure in self.failures)
        count = len(self.failures)
        noun = "reference" if count == 1 else "references"
        super().__init__(f"{count} Key Vault {noun} could not be resolved:\n{lines}")


class FakeVaultNotImplementedError(KvConfigError, NotImplementedError):
    """The fake Key Vault received a request for an operation it does not implement yet."""

    def __init__(self, method: str, path: str) -> None:
        self.method = method
        self.path = path
        super().__init__(
            f"The kvconfig fake Key Vault does not implement {method} {path} yet. "
            "Please open an issue naming this operation."
        )
