"""Trusted key ids: which Key Vault key an envelope's header may make kvconfig build a client (and send a token) for.

An envelope's header is read before anything in it is authenticated, so its ``key_id`` is attacker-controlled text.
The Azure wrappers hand a key id to the caller's ``client_factory`` only after :func:`trusted_key_id` accepted it:
a versioned key id (``https://<host>/keys/<name>/<version>``) on a host kvconfig trusts. Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit

from kvconfig.errors import UntrustedVaultError
from kvconfig.references import is_trusted_host

from .errors import EnvelopeKeyError

__all__ = ["MANAGED_HSM_SUFFIXES", "MAX_KEY_ID_LENGTH", "host_of", "key_encryption_key_id", "trusted_key_id"]

#: Managed HSM pools hold keys, so a key id may point there (unlike a secret reference); one label before the suffix.
MANAGED_HSM_SUFFIXES: Final = (".managedhsm.azure.net", ".managedhsm.azure.cn", ".managedhsm.usgovcloudapi.net")
#: Longer than any real key id (host up to 253, name up to 127, version 32), short enough to show in an error.
MAX_KEY_ID_LENGTH: Final = 512

_KEY_NAME_RE: Final = re.compile(r"[0-9A-Za-z-]{1,127}")
_VERSION_RE: Final = re.compile(r"[0-9A-Fa-f]{32}")
_SHAPE: Final = "https://<vault>.vault.azure.net/keys/<name>/<version>"


def _shown(key_id: object) -> str:
    text = repr(key_id)
    return text if len(text) <= 120 else f"{text[:117]}..."


def host_of(key_id: str | None) -> str | None:
    """The lower-cased ``host[:port]`` of a key id (``:443`` dropped), or None when it has none."""
    if not isinstance(key_id, str):
        return None
    try:
        netloc = urlsplit(key_id).netloc.lower()
    except ValueError:
        return None
    netloc = netloc.removesuffix(":443")
    return netloc or None


def _is_managed_hsm(host: str) -> bool:
    for suffix in MANAGED_HSM_SUFFIXES:
        label = host[: -len(suffix)]
        if host.endswith(suffix) and label and "." not in label:
            return is_trusted_host(host, (host,))  # the same host validation as every trusted host
    return False


def _split_key_id(text: str) -> tuple[str, str, str | None] | None:
    """``(host[:port], name, version or None)`` of ``https://<host>/keys/<name>[/<version>]`` (no user information,
    query or fragment; name ``[0-9A-Za-z-]{1,127}``, version 32 hex digits); ``None`` for anything else."""
    if not text or len(text) > MAX_KEY_ID_LENGTH or not text.isascii() or not text.isprintable() or "\\" in text:
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or parts.username is not None or parts.password is not None:
        return None
    segments = parts.path.split("/")
    if (
        parts.query
        or parts.fragment
        or len(segments) not in (3, 4)
        or segments[0]
        or segments[1] != "keys"
        or not _KEY_NAME_RE.fullmatch(segments[2])
        or (len(segments) == 4 and not _VERSION_RE.fullmatch(segments[3]))
    ):
        return None
    host = (parts.hostname or "") + ("" if port in (None, 443) else f":{port}")
    return host, segments[2], segments[3] if len(segments) == 4 else None


def _is_key_host(host: str, trusted_hosts: Iterable[str]) -> bool:
    return is_trusted_host(host, trusted_hosts) or _is_managed_hsm(host)


def trusted_key_id(key_id: object, *, trusted_hosts: Iterable[str] = (), own_hosts: Iterable[str] = ()) -> str:
    """Check an envelope's key id before any client exists for it; return it in canonical form.

    Accepted: a string ``https://<host>/keys/<name>/<version>`` (no user information, query or fragment; name
    ``[0-9A-Za-z-]{1,127}``, version 32 hex digits) whose host is a Key Vault host of the Azure clouds (kvconfig's
    trusted-host rule), a Managed HSM pool of the Azure clouds, a host of ``own_hosts`` (the wrapper's own client's
    vault) or one ``trusted_hosts`` lists (same syntax as the resolver's ``trusted_hosts``). Anything else raises
    :class:`EnvelopeKeyError`, and nothing is sent anywhere.
    """
    if not isinstance(key_id, str):
        raise EnvelopeKeyError(f"An envelope's key id must be a string, not {type(key_id).__name__}.")
    split = _split_key_id(key_id)
    if split is None:
        raise EnvelopeKeyError(f"The envelope's key id {_shown(key_id)} is not a Key Vault key id ({_SHAPE}).")
    host, name, version = split
    if version is None:
        raise EnvelopeKeyError(
            f"The envelope's key id {_shown(key_id)} is not a versioned Key Vault key id ({_SHAPE})."
        )
    if not (_is_key_host(host, trusted_hosts) or host in set(own_hosts)):
        raise EnvelopeKeyError(
            f"The envelope's key id {_shown(key_id)} names the host {host!r}, which is not a trusted Key Vault host; "
            "no client was made and nothing was sent. If that host is yours, list it in the wrapper's trusted_hosts."
        )
    return f"https://{host}/keys/{name}/{version}"


def key_encryption_key_id(value: str, *, trusted_hosts: Iterable[str] = ()) -> str:
    """Check a key id a user gives for a key-encryption key (``--key``, ``KVCONFIG_REDIS_KEK``); return it unchanged.

    Accepted: ``https://<host>/keys/<name>`` (wrapping with the key's current version) or ``.../<name>/<version>``,
    on a trusted Key Vault host, a Managed HSM pool of the Azure clouds or a host ``trusted_hosts`` lists. A malformed
    id raises ``ValueError``; an id on any other host raises :class:`~kvconfig.errors.UntrustedVaultError` (its
    ``host`` says which), before any client exists for it. Callers word the message for their option or variable.
    """
    split = _split_key_id(value)
    if split is None:
        raise ValueError(
            "give a Key Vault key id: https://<vault>/keys/<name> or https://<vault>/keys/<name>/<version>."
        )
    if not _is_key_host(split[0], trusted_hosts):
        raise UntrustedVaultError(split[0])
    return value
