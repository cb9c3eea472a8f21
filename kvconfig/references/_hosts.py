"""Vault hosts: the Azure clouds' vault suffixes, canonical ``host[:port]`` and the trusted-host rule.

Only a trusted host ever receives a token: one DNS label under a suffix of :data:`TRUSTED_VAULT_SUFFIXES` on the
default port, or a host the caller listed. Rules R1, R2, ... are those of ``docs/references.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

__all__ = [
    "CLOUD_VAULT_SUFFIXES",
    "TRUSTED_VAULT_SUFFIXES",
    "CloudName",
    "Problem",
    "TrustedEntry",
    "canonical_host",
    "cloud_vault_suffix",
    "is_listed",
    "is_trusted",
    "is_trusted_host",
    "trusted_entries",
]

CloudName = Literal["public", "china", "usgov", "germany"]

#: Cloud name -> DNS suffix of its vaults; ``VaultName=`` references are built on the suffix of the chosen cloud.
CLOUD_VAULT_SUFFIXES: dict[str, str] = {
    "public": "vault.azure.net",
    "china": "vault.azure.cn",
    "usgov": "vault.usgovcloudapi.net",
    "germany": "vault.microsoftazure.de",
}

#: Host suffixes that are Key Vault vaults in the Azure clouds, so receive a token without being listed.
#: Managed HSM (``.managedhsm.azure.net``) is deliberately absent: an HSM holds keys only, never secrets, so a
#: secret reference pointing there is a mistake or an attack, and not sending it a token costs nothing.
TRUSTED_VAULT_SUFFIXES: tuple[str, ...] = (
    ".vault.azure.net",
    ".vault.azure.cn",
    ".vault.usgovcloudapi.net",
    ".vault.microsoftazure.de",
)

# The Azure CLI's cloud names (`az cloud list`), accepted as aliases so users can pass the name they already have.
_CLOUD_ALIASES = {
    "azurecloud": "public",
    "azurechinacloud": "china",
    "azureusgovernment": "usgov",
    "azuregermancloud": "germany",
}

_DNS_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PORT_RE = re.compile(r"[0-9]{1,5}")


class Problem(Exception):
    """What is wrong with a reference, before we know how to locate it; turned into ReferenceSyntaxError."""


def is_trusted_host(host: str, trusted_hosts: Iterable[str] = ()) -> bool:
    """Whether a vault at ``host`` (``name[:port]``) may receive a token.

    True for one DNS label followed by a suffix in :data:`TRUSTED_VAULT_SUFFIXES` on the default port, or for a
    host that equals an entry of ``trusted_hosts`` or lies under an entry that starts with ``.`` (or ``*.``).
    Case-insensitive; ``:443`` is the same as no port. A malformed ``host`` is never trusted; a malformed entry of
    ``trusted_hosts`` raises ``ValueError``.
    """
    return is_trusted(host, trusted_entries(trusted_hosts))


def canonical_host(netloc: str, *, label: str = "vault host") -> str:
    """Validate ``host[:port]`` and return it lower-cased, with a ``:443`` port dropped and the port normalised."""
    if not netloc:
        raise Problem(f"{label} has no host")
    if not netloc.isascii():
        raise Problem(f"{label} host must be ASCII")
    if netloc.startswith("["):
        raise Problem(f"{label} must name a host, not an IPv6 address")
    host, colon, port_text = netloc.lower().partition(":")
    if colon:
        if not _PORT_RE.fullmatch(port_text) or not 0 < int(port_text) < 65536:
            raise Problem(f"{label} has an invalid port {port_text!r}")
        port = int(port_text)
    else:
        port = 443
    if len(host) > 253 or not all(_DNS_LABEL_RE.fullmatch(part) for part in host.split(".")):
        raise Problem(f"{label} has an invalid host name {host!r}")
    return host if port == 443 else f"{host}:{port}"


def cloud_vault_suffix(cloud: str) -> str:
    key = cloud.lower()
    key = _CLOUD_ALIASES.get(key, key)
    try:
        return CLOUD_VAULT_SUFFIXES[key]
    except KeyError:
        raise ValueError(f"unknown cloud {cloud!r}; expected one of {', '.join(CLOUD_VAULT_SUFFIXES)}") from None


# (host or suffix, is_suffix); hosts and suffixes keep a ":port" only when it is not 443, like canonical hosts.
TrustedEntry = tuple[str, bool]


def trusted_entries(trusted_hosts: Iterable[str]) -> tuple[TrustedEntry, ...]:
    if isinstance(trusted_hosts, str):
        trusted_hosts = (trusted_hosts,)  # a lone string would otherwise be trusted character by character
    entries: list[TrustedEntry] = []
    for entry in trusted_hosts:
        text = entry.strip()
        is_suffix = text.startswith((".", "*."))
        try:
            host = canonical_host(text[text.index(".") + 1 :] if is_suffix else text)
        except Problem:
            raise ValueError(
                f"trusted_hosts entry {entry!r} must be a host such as 'myvault.localhost:8443' or a suffix such as "
                "'.localhost:8443' (no scheme, path or user information)"
            ) from None
        entries.append((f".{host}" if is_suffix else host, is_suffix))
    return tuple(entries)


def is_trusted(host: str, trusted: tuple[TrustedEntry, ...]) -> bool:
    try:
        host = canonical_host(host)
    except Problem:
        return False
    for suffix in TRUSTED_VAULT_SUFFIXES:
        # Exactly one label before the suffix: "a.b.vault.azure.net" is no vault, and "vault.azure.net" is the
        # service itself. A port makes endswith() fail, so only the default port is trusted here.
        if host.endswith(suffix) and "." not in host[: -len(suffix)] and len(host) > len(suffix):
            return True
    return is_listed(host, trusted)


def is_listed(host: str, trusted: tuple[TrustedEntry, ...]) -> bool:
    """Whether the canonical ``host`` is one of ``trusted`` or lies under one of its suffixes."""
    for entry, is_suffix in trusted:
        if is_suffix:
            # ".localhost:8443" covers "x.localhost:8443": compare the names and the ports separately.
            entry_name, _, entry_port = entry.partition(":")
            name, _, port = host.partition(":")
            if port == entry_port and name.endswith(entry_name) and len(name) > len(entry_name):
                return True
        elif host == entry:
            return True
    return False
