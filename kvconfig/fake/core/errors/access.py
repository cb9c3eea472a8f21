"""Errors of access control, network rules, throttling and Managed HSM activation (kvconfig/fake/control/)."""

from __future__ import annotations

from kvconfig.fake.core.errors._base import Error, ServiceErrorBase

__all__ = ["AccessErrors"]


class AccessErrors(ServiceErrorBase):
    """Errors of access control, network rules, throttling and Managed HSM activation (kvconfig/fake/control/)."""

    # The 403 messages keep the service's line structure (``\r\n`` separated ``Key: value`` lines) because clients
    # and log tooling parse them; the inner error codes are the service's.

    @classmethod
    def untrusted_token(cls: type[Error]) -> Error:
        return cls(
            401,
            "Unauthorized",
            "AKV10022: Invalid token: the vault enforces access control and the token was not issued by this fake's "
            "authority (use FakeKeyVault.credential()).",
        )

    @classmethod
    def forbidden_by_rbac(cls: type[Error], caller: str, action: str, resource: str, vault: str) -> Error:
        return cls(
            403,
            "Forbidden",
            "Caller is not authorized to perform action on resource.\r\n"
            "If role assignments, deny assignments or role definitions were changed recently, please observe "
            "propagation time.\r\n"
            f"Caller: {caller}\r\n"
            f"Action: '{action}'\r\n"
            f"Resource: '{resource.lower()}'\r\n"
            "Assignment: (not found)\r\n"
            "DenyAssignmentId: null\r\n"
            "DecisionReason: null \r\n"
            f"Vault: {vault}\r\n",
            inner="ForbiddenByRbac",
        )

    @classmethod
    def access_denied_by_policy(cls: type[Error], caller: str, collection: str, permission: str, vault: str) -> Error:
        return cls(
            403,
            "Forbidden",
            f"The user, group or application '{caller}' does not have {collection} {permission} permission on key "
            f"vault '{vault}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
            inner="AccessDenied",
        )

    @classmethod
    def forbidden_by_firewall(cls: type[Error], client_ip: str, caller: str, vault: str) -> Error:
        return cls(
            403,
            "Forbidden",
            "Client address is not authorized and caller is not a trusted service.\r\n"
            f"Client address: {client_ip}\r\n"
            f"Caller: {caller}\r\n"
            f"Vault: {vault}",
            inner="ForbiddenByFirewall",
        )

    @classmethod
    def throttled(cls: type[Error], retry_after: int) -> Error:
        # 429 is the one 4xx that carries Retry-After: azure-core's retry policy honours it.
        return cls(
            429,
            "Throttled",
            "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
            headers={"Retry-After": str(retry_after)},
        )

    @classmethod
    def security_domain_not_activated(cls: type[Error], pool: str) -> Error:
        # [I] No recording of this answer was found; the code and wording follow the service's patterns.
        return cls(
            403,
            "Forbidden",
            f"The Managed HSM '{pool}' is not activated: download its security domain to activate it before using "
            "keys.",
            inner="SecurityDomainNotActivated",
        )
