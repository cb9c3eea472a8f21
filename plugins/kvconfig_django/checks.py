"""System check: every Key Vault reference still present in the settings is an Error.

* ``kvconfig.E001``: a reference that cannot be resolved, with its App Service status (``SecretNotFound``...).
* ``kvconfig.E002``: a reference that resolves but was never resolved into the settings (``resolve_settings`` was
  not called, or ran before the setting was defined).

A healthy project has no reference left in its settings, so the check reads the vault only when something is wrong.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings  # type: ignore[import-untyped]  # no stubs installed
from django.core.checks import CheckMessage, Error  # type: ignore[import-untyped]

from kvconfig import ReferenceStatus, SecretResolver
from kvconfig_django._settings import find_references, recorded_failures, reference_origins

__all__ = ["check_references", "reference_statuses"]


def settings_namespace() -> dict[str, Any]:
    return {name: getattr(settings, name) for name in dir(settings) if name.isupper()}


def reference_statuses(flat: dict[str, str]) -> list[ReferenceStatus]:
    """Read every reference of ``flat`` now; each status names where its reference came from (``"settings"`` unless
    ``resolve_settings``/``env`` recorded otherwise, e.g. ``"environment: DB_PASSWORD"``)."""
    if not flat:
        return []
    recorded = reference_origins()
    with SecretResolver(embedded=True) as resolver:
        return resolver.check(flat, origins={key: recorded.get(key, "settings") for key in flat})


def check_references(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    flat, _paths = find_references(settings_namespace())
    recorded = recorded_failures()
    messages: list[CheckMessage] = []
    for status in reference_statuses(flat):
        if status.ok:
            messages.append(
                Error(
                    f"Setting {status.setting}{_where(status.origin)} holds a Key Vault reference that was never "
                    f"resolved: {status.shown}",
                    hint="Call kvconfig_django.resolve_settings(globals()) at the end of settings.py.",
                    obj=status.setting,
                    id="kvconfig.E002",
                )
            )
            continue
        detail = f": {status.detail}" if status.detail else ""
        earlier = recorded.get(status.setting)
        hint = f"At start-up it failed with {earlier.status}." if earlier and earlier.status != status.status else None
        messages.append(
            Error(
                f"Setting {status.setting}{_where(status.origin)}: Key Vault reference {status.shown} "
                f"cannot be resolved [{status.status}]{detail}",
                hint=hint,
                obj=status.setting,
                id="kvconfig.E001",
            )
        )
    return messages


def _where(origin: str | None) -> str:
    return f" ({origin})" if origin else ""
