"""The managed identity a platform reads Key Vault with, as its configuration names it, and the credential for it.

App Service's ``keyVaultReferenceIdentity`` and a Container App secret's ``identity`` name either the app's
system-assigned identity (``SystemAssigned``, ``system``) or a user-assigned one by its ARM resource id
(``/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>``).
kvconfig also takes a user-assigned identity's client id (a GUID), which is what azure-identity's
``managed_identity_client_id`` expects.

The credential is azure-identity's: ``DefaultAzureCredential`` (with ``managed_identity_client_id`` for a client id),
so the same command works on a developer's machine (Azure CLI login, environment) and in Azure (the managed
identity). A resource id cannot be given to ``DefaultAzureCredential``: it gets a chain of the developer credentials
and then ``ManagedIdentityCredential(identity_config={"resource_id": ...})``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ManagedIdentity", "parse_identity"]

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_RESOURCE_ID = re.compile(
    r"^/subscriptions/[^/\s]+/resourceGroups/[^/\s]+/providers/Microsoft\.ManagedIdentity/"
    r"userAssignedIdentities/[^/\s]{1,128}$",
    re.IGNORECASE,
)
_SYSTEM = frozenset({"system", "systemassigned"})


@dataclass(frozen=True)
class ManagedIdentity:
    """A user-assigned managed identity (by ARM resource id or client id); ``None`` stands for the system one."""

    kind: Literal["resource_id", "client_id"]
    value: str

    @property
    def name(self) -> str:
        """The identity's short name: the last segment of a resource id, or the client id."""
        return self.value.rsplit("/", 1)[-1]

    def credential(self) -> Any:
        """A sync azure-identity credential that acts as this identity in Azure (developer credentials elsewhere)."""
        from azure.identity import ChainedTokenCredential, DefaultAzureCredential, ManagedIdentityCredential

        if self.kind == "client_id":
            return DefaultAzureCredential(managed_identity_client_id=self.value)
        return ChainedTokenCredential(
            DefaultAzureCredential(exclude_managed_identity_credential=True),
            ManagedIdentityCredential(identity_config={"resource_id": self.value}),
        )

    def same_as(self, resource_id: str) -> bool:
        """Whether ``resource_id`` (from the app's ``identity.userAssignedIdentities``) names this identity."""
        return self.kind == "resource_id" and self.value.lower() == resource_id.strip().lower()

    def __str__(self) -> str:
        return self.value


def parse_identity(text: object) -> ManagedIdentity | None:
    """``None`` for the system-assigned identity, else the user-assigned one; ``ValueError`` says what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("an identity is 'system' or a user-assigned identity's resource id (or client id)")
    value = text.strip()
    if value.lower() in _SYSTEM:
        return None
    if _GUID.match(value):
        return ManagedIdentity("client_id", value.lower())
    if _RESOURCE_ID.match(value):
        return ManagedIdentity("resource_id", value)
    raise ValueError(
        f"{value!r} is neither 'system' nor a user-assigned identity's resource id "
        "(/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>) "
        "nor a client id (a GUID)"
    )
