"""What a vault's owner chooses when creating it: kind, SKU, recovery settings, permission model, ARM placement."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["MAX_DELETION_DELAY", "Sku", "VaultKind", "VaultProperties"]

VaultKind = Literal["vault", "managedhsm"]
Sku = Literal["standard", "premium"]
# The longest deletion window a vault may be given, in seconds: the service's windows last a few seconds.
MAX_DELETION_DELAY = 300.0
# A tenant is a GUID or a domain name: it is written into every 401's challenge header and compared with each token's
# tid, so anything else (a quote, a line break, a non-string) would break the header or every request to the vault.
_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass
class VaultProperties:
    """What a vault's owner chooses when creating it."""

    name: str
    host: str
    kind: VaultKind = "vault"
    sku: Sku = "standard"
    soft_delete: bool = True
    retention_days: int = 90
    purge_protection: bool = False
    tenant_id: str = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    # The permission model (Azure RBAC or legacy access policies) and where the vault lives in Azure Resource
    # Manager: used by access control (kvconfig/fake/control/access.py), the audit log and Event Grid topics.
    rbac: bool = True
    location: str = "westus"
    subscription_id: str = "00000000-0000-0000-0000-000000000000"
    resource_group: str = "kvconfig-fake"
    # Seconds a soft delete takes to finish (0: at once). Meanwhile the object is "being deleted", as in the service:
    # its deleted form answers 404 and recover, purge and re-creating its name answer 409 ObjectIsBeingDeleted. A
    # recovery takes as long: meanwhile its live form answers 404 and re-creating its name 409 ObjectIsBeingRecovered.
    deletion_delay: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.tenant_id, str) or not _TENANT.fullmatch(self.tenant_id):
            raise ValueError(f"tenant_id must be a tenant's GUID or domain name, not {self.tenant_id!r}.")
        delay = self.deletion_delay
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not math.isfinite(delay):
            raise ValueError(f"deletion_delay must be a number of seconds, not {delay!r}.")
        if not 0 <= delay <= MAX_DELETION_DELAY:
            raise ValueError(f"deletion_delay must be between 0 and {MAX_DELETION_DELAY:g} seconds, not {delay}.")
        self.deletion_delay = float(delay)
        if self.soft_delete and not 7 <= self.retention_days <= 90:
            raise ValueError(f"retention_days must be between 7 and 90, not {self.retention_days}.")
        if self.purge_protection and not self.soft_delete:
            raise ValueError("purge_protection needs soft delete: a vault without soft delete cannot protect purges.")

    @property
    def recovery_level(self) -> str:
        """The ``recoveryLevel`` attribute the service reports for objects of this vault."""
        if not self.soft_delete:
            return "Purgeable"
        prefix = "Recoverable" if self.retention_days == 90 else "CustomizedRecoverable"
        return prefix if self.purge_protection else f"{prefix}+Purgeable"

    @property
    def recoverable_days(self) -> int:
        return self.retention_days if self.soft_delete else 0

    @property
    def purgeable(self) -> bool:
        return "Purgeable" in self.recovery_level

    @property
    def url(self) -> str:
        return f"https://{self.host}"

    @property
    def resource_id(self) -> str:
        """The vault's Azure Resource Manager id (``/subscriptions/.../providers/Microsoft.KeyVault/vaults/<name>``)."""
        provider = "managedHSMs" if self.kind == "managedhsm" else "vaults"
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.KeyVault/{provider}/{self.name}"
        )

    @property
    def hsm_backed_keys(self) -> bool:
        """Whether HSM-protected key types (``RSA-HSM``, ``EC-HSM``, ``oct-HSM``) are allowed: premium or a pool."""
        return self.kind == "managedhsm" or self.sku == "premium"
