"""Which hosts are vaults: the DNS suffixes of Key Vault and Managed HSM in each Azure cloud, with their
token audience (the challenge's ``resource``) and login authority."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kvconfig.fake.core.properties import VaultKind

__all__ = ["DEFAULT_DOMAINS", "VaultDomain", "loopback_domains", "match_domain", "valid_vault_name"]


@dataclass(frozen=True)
class VaultDomain:
    """A family of vault hosts: ``<name>.<suffix>``."""

    suffix: str
    resource: str
    authority: str
    kind: VaultKind = "vault"


DEFAULT_DOMAINS: tuple[VaultDomain, ...] = (
    VaultDomain("vault.azure.net", "https://vault.azure.net", "https://login.microsoftonline.com"),
    VaultDomain("vault.azure.cn", "https://vault.azure.cn", "https://login.chinacloudapi.cn"),
    VaultDomain("vault.usgovcloudapi.net", "https://vault.usgovcloudapi.net", "https://login.microsoftonline.us"),
    VaultDomain("vault.microsoftazure.de", "https://vault.microsoftazure.de", "https://login.microsoftonline.de"),
    VaultDomain(
        "managedhsm.azure.net", "https://managedhsm.azure.net", "https://login.microsoftonline.com", "managedhsm"
    ),
    VaultDomain("managedhsm.azure.cn", "https://managedhsm.azure.cn", "https://login.chinacloudapi.cn", "managedhsm"),
    VaultDomain(
        "managedhsm.usgovcloudapi.net",
        "https://managedhsm.usgovcloudapi.net",
        "https://login.microsoftonline.us",
        "managedhsm",
    ),
)

# Azure's rule for vault (and Managed HSM) names: 3-24 characters, letters, digits and single hyphens, starting with
# a letter and ending with a letter or digit.
_VAULT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")


def valid_vault_name(name: str) -> bool:
    return bool(_VAULT_NAME.match(name)) and "--" not in name


def match_domain(host: str, domains: tuple[VaultDomain, ...]) -> tuple[str, VaultDomain] | None:
    """Split ``myvault.vault.azure.net`` (lower case, ``:port`` only when not 443) into vault name and domain."""
    for domain in domains:
        tail = "." + domain.suffix
        if host.endswith(tail):
            name = host[: -len(tail)]
            if "." not in name and valid_vault_name(name):
                return name, domain
    return None


def loopback_domains(port: int) -> tuple[VaultDomain, ...]:
    """The loopback emulator's vault hosts on ``port``: ``<name>.localhost:<port>`` (Key Vault) and
    ``<name>.managedhsm.localhost:<port>`` (Managed HSM).

    The challenge's ``resource`` is the parent domain with the same port (``https://localhost:8443``), the only shape
    the SDK's challenge-resource check accepts for a host on a port other than 443.
    """
    if not 0 < port < 65536:
        raise ValueError(f"{port} is not a TCP port.")
    tail = "" if port == 443 else f":{port}"
    authority = "https://login.microsoftonline.com"
    return (
        VaultDomain(f"managedhsm.localhost{tail}", f"https://managedhsm.localhost{tail}", authority, "managedhsm"),
        VaultDomain(f"localhost{tail}", f"https://localhost{tail}", authority),
    )
