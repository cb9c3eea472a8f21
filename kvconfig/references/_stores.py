"""App Configuration store hosts: the clouds' store domains, the fake's loopback domain, and which store endpoints may
receive a credential (an Entra token, or a request signed with an access key).

The same idea as the vault hosts of ``_hosts.py``: a trusted store host is one store name (the service's rule: 5-50
letters, digits and hyphens, a letter or digit at each end) followed by one of :data:`APPCONFIG_STORE_DOMAINS` on
the default port, or by :data:`LOOPBACK_STORE_DOMAIN` on any port (the loopback emulator's stores; the official
client asks tokens for ``https://azconfig.localhost`` there, an audience no cloud issues), or a host the caller
listed (``trusted_hosts``, the entries that also trust vault hosts). The fake App Configuration serves exactly these
domains, from this list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kvconfig.references._hosts import Problem, canonical_host, is_listed, trusted_entries

__all__ = [
    "APPCONFIG_STORE_DOMAINS",
    "LOOPBACK_STORE_DOMAIN",
    "is_store_name",
    "is_trusted_store_host",
    "store_host",
]

#: The domains of App Configuration stores: public cloud (both domains), Azure US Government, Azure China.
APPCONFIG_STORE_DOMAINS: tuple[str, ...] = (
    "azconfig.io",
    "appconfig.azure.com",
    "azconfig.azure.us",
    "azconfig.azure.cn",
)
#: The loopback emulator's store domain: ``<store>.azconfig.localhost:<port>``.
LOOPBACK_STORE_DOMAIN = "azconfig.localhost"

_STORE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{3,48}[A-Za-z0-9]")
_SCHEME = "https://"


def is_store_name(name: str) -> bool:
    """Whether ``name`` is a valid App Configuration store name (5-50 letters, digits and hyphens, a letter or digit
    at each end)."""
    return _STORE_NAME_RE.fullmatch(name) is not None


def store_host(endpoint: str) -> str:
    """The canonical ``host[:port]`` of a store endpoint ``https://host[:port][/]``.

    Raises ``ValueError`` saying what is wrong for anything else: another scheme, user information, a path, a query
    or a fragment, a host that is no DNS name, a bad port.
    """
    if not endpoint[: len(_SCHEME)].lower() == _SCHEME:
        raise ValueError("the store endpoint must start with https://")
    netloc, _, path = endpoint[len(_SCHEME) :].partition("/")
    if path or any(char in netloc for char in "?#"):
        raise ValueError("the store endpoint is https://<host>[:port] only (no path, query or fragment)")
    if "@" in netloc:
        raise ValueError("the store endpoint must not hold user information ('@')")
    try:
        return canonical_host(netloc, label="the store endpoint")
    except Problem as exc:
        raise ValueError(str(exc)) from None


def is_trusted_store_host(host: str, trusted_hosts: Iterable[str] = ()) -> bool:
    """Whether a store at ``host`` (``name[:port]``) may receive a credential: a store name under an App
    Configuration domain of the Azure clouds on the default port, under the loopback store domain on any port, or a
    host equal to (or, for an entry starting with ``.``, under) an entry of ``trusted_hosts``. A malformed ``host``
    is never trusted; a malformed entry of ``trusted_hosts`` raises ``ValueError``."""
    trusted = trusted_entries(trusted_hosts)
    try:
        host = canonical_host(host)
    except Problem:
        return False
    name, _, domain = host.partition(".")
    if is_store_name(name) and (domain in APPCONFIG_STORE_DOMAINS or domain.partition(":")[0] == LOOPBACK_STORE_DOMAIN):
        return True
    return is_listed(host, trusted)
