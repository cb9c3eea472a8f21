"""The status vocabulary of a reference: what ``check`` reports, and how failures and validity map to it.

Statuses are App Service's Key Vault reference statuses (``SecretNotFound``, ``AccessToKeyVaultDenied``...) plus
``SecretExpired``/``SecretNotYetValid``; the details name the secret and vault, never a value.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kvconfig.errors import KvConfigError, as_written
from kvconfig.references import KeyVaultReference
from kvconfig.resolve._cache import CachedSecret

__all__ = ["UNREACHABLE", "ReferenceStatus", "classify", "validity"]

# Statuses that say the vault could not be read at all (not that the secret is missing or disabled): a refresh keeps
# the last good value for these.
UNREACHABLE = frozenset({"VaultNotFound", "AccessToKeyVaultDenied", "FetchTimedOut", "OtherReasons"})

_DNS_HINTS = (
    "name or service not known",
    "failed to resolve",
    "getaddrinfo",
    "nodename nor servname",
    "no such host",
    "temporary failure in name resolution",
    "no address associated with hostname",
)


@dataclass(frozen=True)
class ReferenceStatus:
    """What ``check`` found for one reference of one setting (never the value)."""

    setting: str
    reference: str
    status: str
    version: str | None = None
    expires_on: datetime | None = None
    not_before: datetime | None = None
    detail: str = ""
    origin: str | None = None
    written: str | None = None  # the reference as the setting holds it

    @property
    def shown(self) -> str:
        """What the user wrote, then the normalised ``SecretUri=`` form when it differs."""
        return as_written(self.written, self.reference)

    @property
    def ok(self) -> bool:
        return self.status == "OK"


def validity(secret: CachedSecret, now: datetime) -> tuple[str, str] | None:
    """``SecretExpired`` or ``SecretNotYetValid`` (and a detail) if ``secret`` is not valid at ``now``, else None."""
    if secret.expires_on is not None and now >= secret.expires_on:
        return "SecretExpired", f"the secret expired on {secret.expires_on.isoformat()}"
    if secret.not_before is not None and now < secret.not_before:
        return "SecretNotYetValid", f"the secret is not valid before {secret.not_before.isoformat()}"
    return None


def classify(exc: BaseException, ref: KeyVaultReference) -> tuple[str, str]:
    """Map an SDK or transport error to App Service's status vocabulary (and a value-free detail)."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
        ServiceResponseTimeoutError,
    )

    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        if getattr(exc, "deadline", None) is not None:  # kvconfig.fleet: still throttled at the start-up deadline
            return "FetchTimedOut", str(exc)
        return "FetchTimedOut", "no answer within the resolver's timeout"
    if isinstance(exc, ResourceNotFoundError):
        if ref.version:
            return "SecretVersionNotFound", f"version {ref.version} of secret {ref.name!r} does not exist"
        return "SecretNotFound", f"secret {ref.name!r} does not exist in {ref.vault_url}"
    if isinstance(exc, ClientAuthenticationError):
        return "AccessToKeyVaultDenied", f"authentication failed: {_service_message(exc)}"
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        inner = _inner_code(exc)
        if exc.status_code == 403 and inner == "SecretDisabled":
            return "SecretDisabled", f"secret {ref.name!r} is disabled"
        if exc.status_code == 403:
            return "AccessToKeyVaultDenied", _service_message(exc)
        if 300 <= exc.status_code < 400:
            return "OtherReasons", (
                f"the vault answered {exc.status_code} (a redirect to another location); Key Vault never redirects, "
                "so kvconfig does not follow it"
            )
        if exc.status_code in (408, 429, 500, 502, 503, 504):
            return "FetchTimedOut", f"the vault answered {exc.status_code} after the SDK's retries"
        return "OtherReasons", f"HTTP {exc.status_code}: {_service_message(exc)}"
    if isinstance(exc, ServiceRequestError):
        message = f"{exc} {getattr(exc, 'inner_exception', '')}".lower()
        inner_name = type(getattr(exc, "inner_exception", None)).__name__.lower()
        if "dns" in inner_name or any(hint in message for hint in _DNS_HINTS):
            return "VaultNotFound", f"the vault host {ref.vault_host} does not resolve"
        if "timeout" in message or "timed out" in message:
            return "FetchTimedOut", "the connection to the vault timed out"
        return "OtherReasons", f"cannot reach {ref.vault_host}: {type(exc).__name__}"
    if isinstance(exc, ServiceResponseTimeoutError):
        return "FetchTimedOut", "the vault did not answer in time, after the SDK's retries"
    if isinstance(exc, ServiceResponseError):
        return "OtherReasons", f"the connection to {ref.vault_host} was lost ({type(exc).__name__})"
    if isinstance(exc, KvConfigError):
        return "OtherReasons", str(exc)
    return "OtherReasons", f"{type(exc).__name__} while reading the secret"


def _service_message(exc: Any) -> str:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None)
    if code or message:
        return f"{code}: {message}" if code else str(message)
    return getattr(exc, "reason", None) or type(exc).__name__


def _inner_code(exc: Any) -> str | None:
    error = getattr(exc, "error", None)
    inner = getattr(error, "innererror", None)
    if isinstance(inner, dict):
        code = inner.get("code")
        return str(code) if code else None
    return None
