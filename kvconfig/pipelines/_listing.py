"""``*`` in a secrets filter: every enabled secret of a vault that has not expired, as both CI tasks download them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from kvconfig.errors import KvConfigError

__all__ = ["MAX_LISTED", "list_enabled_secrets"]

MAX_LISTED = 10_000  # a vault with more is not a CI step's business; the bound keeps the step's memory and time finite


def list_enabled_secrets(
    vault_url: str, credential: Any, *, now: datetime | None = None, **client_options: Any
) -> list[str]:
    """The names of ``vault_url``'s enabled, unexpired secrets, sorted (List Secrets through the official SDK)."""
    from azure.core.exceptions import AzureError
    from azure.keyvault.secrets import SecretClient

    moment = now or datetime.now(timezone.utc)
    names: list[str] = []
    try:
        with SecretClient(vault_url, credential, **client_options) as client:
            for props in client.list_properties_of_secrets():
                if len(names) >= MAX_LISTED:
                    raise KvConfigError(f"{vault_url} lists more than {MAX_LISTED} secrets; name the ones to read.")
                if props.enabled is False or (props.expires_on is not None and props.expires_on <= moment):
                    continue
                if props.name:
                    names.append(props.name)
    except AzureError as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise KvConfigError(f"Cannot list the secrets of {vault_url} (secrets filter '*'): {reason}.") from exc
    return sorted(names)
