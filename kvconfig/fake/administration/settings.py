"""Managed HSM pool settings over REST: ``GET /settings``, ``GET`` and ``PATCH /settings/{name}``.

The pool has one setting the service documents, ``AllowKeyManagementOperationsThroughARM`` (boolean, ``false`` by
default): whether keys may be managed through Azure Resource Manager. The fake has no ARM plane, so the value is
stored and answered, and changes nothing on the data plane (where the service applies it neither).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, cast

from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.routing import OperationContext, Route
from kvconfig.fake.core.state import Vault, VaultKind

__all__ = ["ROUTES", "SETTINGS"]

_HSM_ONLY: frozenset[VaultKind] = frozenset({"managedhsm"})
_STATE = "administration.settings"
# name -> (type, default value), as the service lists them.
SETTINGS: dict[str, tuple[str, str]] = {"AllowKeyManagementOperationsThroughARM": ("boolean", "false")}


@dataclass
class _Settings:
    lock: threading.Lock = field(default_factory=threading.Lock)
    values: dict[str, str] = field(default_factory=lambda: {name: default for name, (_, default) in SETTINGS.items()})


def _settings(vault: Vault) -> _Settings:
    return cast(_Settings, vault.extension(_STATE, _Settings))


def _known(name: str) -> str:
    for known in SETTINGS:
        if known.lower() == name.lower():
            return known
    # [R] 400, not 404, for GET and PATCH alike: Go session records TestGetSetting_InvalidSettingName and
    # TestUpdateSetting_InvalidSettingName (azure-sdk-assets, go/sdk/security/keyvault/azadmin).
    raise ServiceError(
        400, "InvalidSetting", "Invalid setting name. Please check the spelling of the setting name to update."
    )


def _to_wire(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value, "type": SETTINGS[name][0]}


def get_settings(ctx: OperationContext) -> dict[str, Any]:
    """Get Settings: GET /settings"""
    state = _settings(ctx.vault)
    with state.lock:
        return {"settings": [_to_wire(name, value) for name, value in state.values.items()]}


def get_setting(ctx: OperationContext) -> dict[str, Any]:
    """Get Setting: GET /settings/{setting-name}"""
    name = _known(ctx.param("setting"))
    state = _settings(ctx.vault)
    with state.lock:
        return _to_wire(name, state.values[name])


def update_setting(ctx: OperationContext) -> dict[str, Any]:
    """Update Setting: PATCH /settings/{setting-name}"""
    name = _known(ctx.param("setting"))
    if not ctx.request.body:
        # [R] Go session record TestUpdateSetting_InvalidUpdateSettingRequest.
        raise ServiceError(400, "Nocontentprovided", "No content provided")
    value = ctx.body().get("value")
    if not isinstance(value, str):
        raise ServiceError.missing_field("value")
    if SETTINGS[name][0] == "boolean":
        if value.lower() not in ("true", "false"):
            raise ServiceError.bad_parameter(f"The value of the setting '{name}' must be 'true' or 'false'.")  # [I]
        value = value.lower()
    state = _settings(ctx.vault)
    with state.lock:
        state.values[name] = value
        return _to_wire(name, value)


ROUTES: tuple[Route, ...] = (
    Route("GET", "/settings", "GetSettings", get_settings, kinds=_HSM_ONLY, since="7.5"),
    Route("GET", "/settings/{setting}", "GetSetting", get_setting, kinds=_HSM_ONLY, since="7.5"),
    Route("PATCH", "/settings/{setting}", "UpdateSetting", update_setting, kinds=_HSM_ONLY, since="7.5"),
)
