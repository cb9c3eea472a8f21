"""Key rotation: Rotate Key's new version, rotation policies (get/update) and rotation on the fake's clock.

A policy's ``Rotate`` actions fire when time acts on the vault (before each request to it, on ``fake.tick()`` and
``fake.advance(...)``): the tick hook :func:`rotate_due_keys` is registered on the service the first time a policy
is set. A rotation scheduled in the past is made at its scheduled time (``created`` is when it was due), so jumping
the clock a year ahead with ``timeAfterCreate: P90D`` yields the four versions the service would have made.
``Notify`` actions are recorded in ``rotation_notifications(vault)`` (the service emails; the fake remembers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric import rsa

from kvconfig.crypto._jwk import generate_key
from kvconfig.crypto.errors import InvalidKeyError
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.routing import OperationContext, ServiceHost
from kvconfig.fake.core.state import Attributes, Vault, Versioned
from kvconfig.fake.keys.store import KeyVersion, key_store, live_key, new_key_version

__all__ = [
    "LifetimeAction",
    "RotationPolicy",
    "forget_rotation_policy",
    "get_key_rotation_policy",
    "parse_duration",
    "rotate_due_keys",
    "rotate_version",
    "rotation_notifications",
    "update_key_rotation_policy",
]

_POLICIES = "keys.rotation_policies"
_NOTIFICATIONS = "keys.rotation_notifications"
_TRIGGERS = ("timeAfterCreate", "timeBeforeExpiry")
_ACTIONS = {"rotate": "Rotate", "notify": "Notify"}
# The service's own Notify action, added to a vault's policy that has none (seen in recordings of the service).
_DEFAULT_NOTIFY = ("timeBeforeExpiry", "P30D", "Notify")
_MAX_CATCH_UP = 1000
_DURATION = re.compile(
    r"^P(?!$)(?:(?P<Y>\d+)Y)?(?:(?P<M>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
_UNIT_SECONDS = {"Y": 365 * 86400, "M": 30 * 86400, "W": 7 * 86400, "D": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> int:
    """Seconds in an ISO-8601 duration (``P90D``, ``P2Y``, ``P1M``, ``PT12H``); a year is 365 days, a month 30."""
    found = _DURATION.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not an ISO 8601 duration")
    seconds = sum(int(value) * _UNIT_SECONDS[unit] for unit, value in found.groupdict().items() if value)
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return seconds


@dataclass(frozen=True)
class LifetimeAction:
    """One lifetime action: ``trigger`` is ``timeAfterCreate`` or ``timeBeforeExpiry``; ``action`` Rotate/Notify."""

    trigger: str
    duration: str
    action: str

    @property
    def seconds(self) -> int:
        return parse_duration(self.duration)

    def to_wire(self) -> dict[str, Any]:
        return {"trigger": {self.trigger: self.duration}, "action": {"type": self.action}}


@dataclass
class RotationPolicy:
    """A key's rotation policy as stored (per key name; it survives soft delete and goes with purge)."""

    actions: list[LifetimeAction]
    expiry_time: str | None
    created: int
    updated: int


def _policies(vault: Vault) -> dict[str, RotationPolicy]:
    return cast(dict[str, RotationPolicy], vault.extension(_POLICIES, dict))


def rotation_notifications(vault: Vault) -> list[tuple[str, str, int]]:
    """``(key name, version, time)`` of every Notify action that fired in this vault."""
    return cast(list[tuple[str, str, int]], vault.extension(_NOTIFICATIONS, list))


def forget_rotation_policy(vault: Vault, name: str) -> None:
    _policies(vault).pop(name.lower(), None)


def _policy_to_wire(vault: Vault, name: str, policy: RotationPolicy | None) -> dict[str, Any]:
    wire: dict[str, Any] = {"id": f"{vault.url}/keys/{name}/rotationpolicy"}
    if policy is None:
        # Never set: the service answers with its default, which on a vault is the 30-day expiry notice.
        default = [] if vault.properties.kind == "managedhsm" else [LifetimeAction(*_DEFAULT_NOTIFY)]
        wire["lifetimeActions"] = [action.to_wire() for action in default]
        wire["attributes"] = {}
        return wire
    wire["lifetimeActions"] = [action.to_wire() for action in policy.actions]
    attributes: dict[str, Any] = {}
    if policy.expiry_time is not None:
        attributes["expiryTime"] = policy.expiry_time
    attributes["created"] = policy.created
    attributes["updated"] = policy.updated
    wire["attributes"] = attributes
    return wire


def _check_duration(value: object, field_name: str) -> str:
    if not isinstance(value, str):
        raise ServiceError.bad_parameter(f"The value of '{field_name}' must be an ISO 8601 duration such as P90D.")
    try:
        parse_duration(value)
    except ValueError:
        raise ServiceError.bad_parameter(
            f"The value '{value}' of '{field_name}' is not a valid ISO 8601 duration (for example P90D or P2Y)."
        ) from None
    return value


def _parse_actions(vault: Vault, raw: object) -> list[LifetimeAction]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ServiceError.bad_parameter("The property 'lifetimeActions' must be a list.")
    actions: list[LifetimeAction] = []
    for entry in raw:
        trigger = entry.get("trigger") if isinstance(entry, dict) else None
        action = entry.get("action") if isinstance(entry, dict) else None
        if not isinstance(trigger, dict) or not isinstance(action, dict):
            raise ServiceError.bad_parameter("Every lifetime action needs a 'trigger' and an 'action'.")
        present = [name for name in _TRIGGERS if trigger.get(name) is not None]
        if len(present) != 1:
            raise ServiceError.bad_parameter(
                "A lifetime action's trigger must have exactly one of 'timeAfterCreate' and 'timeBeforeExpiry'."
            )
        kind = _ACTIONS.get(str(action.get("type", "")).lower())
        if kind is None:
            raise ServiceError.bad_parameter(
                f"The lifetime action type '{action.get('type')}' is not Rotate or Notify."
            )
        if kind == "Notify" and vault.properties.kind == "managedhsm":
            raise ServiceError.bad_parameter("The lifetime action Notify is only available in Key Vault.")
        actions.append(LifetimeAction(present[0], _check_duration(trigger[present[0]], present[0]), kind))
    return actions


def get_key_rotation_policy(ctx: OperationContext) -> dict[str, Any]:
    """Get Key Rotation Policy: GET /keys/{key-name}/rotationpolicy"""
    with ctx.vault.lock:
        obj = live_key(ctx.vault, ctx.param("name"))
        return _policy_to_wire(ctx.vault, obj.name, _policies(ctx.vault).get(obj.name.lower()))


def update_key_rotation_policy(ctx: OperationContext) -> dict[str, Any]:
    """Update Key Rotation Policy: PUT /keys/{key-name}/rotationpolicy"""
    body = ctx.body()
    actions = _parse_actions(ctx.vault, body.get("lifetimeActions"))
    raw_attributes = body.get("attributes") or {}
    if not isinstance(raw_attributes, dict):
        raise ServiceError.bad_parameter("The property 'attributes' must be an object.")
    expiry = raw_attributes.get("expiryTime")
    expiry_time = _check_duration(expiry, "expiryTime") if expiry is not None else None
    if expiry_time is not None:
        for action in actions:
            if action.trigger == "timeBeforeExpiry" and action.seconds >= parse_duration(expiry_time):
                raise ServiceError.bad_parameter(
                    f"The trigger timeBeforeExpiry {action.duration} must be shorter than the expiryTime {expiry_time}."
                )
    if ctx.vault.properties.kind != "managedhsm" and not any(action.action == "Notify" for action in actions):
        actions.append(LifetimeAction(*_DEFAULT_NOTIFY))
    with ctx.vault.lock:
        obj = live_key(ctx.vault, ctx.param("name"))
        policies = _policies(ctx.vault)
        previous = policies.get(obj.name.lower())
        policy = RotationPolicy(actions, expiry_time, previous.created if previous else ctx.now, ctx.now)
        policies[obj.name.lower()] = policy
    ensure_rotation_hook(ctx.service)
    return _policy_to_wire(ctx.vault, obj.name, policy)


def ensure_rotation_hook(service: ServiceHost) -> None:
    if rotate_due_keys not in service.tick_hooks:
        service.tick_hooks.append(rotate_due_keys)


# -- rotation ------------------------------------------------------------------------------------------------------


def rotate_version(vault: Vault, obj: Versioned[KeyVersion], *, version_id: str, now: int) -> KeyVersion:
    """A new version of ``obj`` with fresh material of the same type, size, curve and exponent; the policy's
    ``expiryTime`` sets its ``exp``. key_ops, tags, exportability and release policy carry over."""
    with vault.lock:
        latest = obj.current()
        old = latest.material
        exponent = None
        if isinstance(old.key, rsa.RSAPrivateKey):
            exponent = old.key.public_key().public_numbers().e
        try:
            material = generate_key(
                old.kty,
                size=old.size if old.kty_family != "EC" else None,
                public_exponent=exponent,
                curve=old.curve,
            )
        except InvalidKeyError as exc:
            # [I] an imported key of a size or exponent Create Key refuses (RSA 1024, 8192): no recording shows the
            # service rotating one; the fake refuses as Create Key would, never with a 500.
            raise ServiceError.bad_parameter(f"The key cannot be rotated: {exc}") from None
        policy = _policies(vault).get(obj.name.lower())
        attributes = Attributes(created=now, updated=now)
        if policy is not None and policy.expiry_time is not None:
            attributes.exp = now + parse_duration(policy.expiry_time)
        _, version = new_key_version(
            vault,
            obj.name,
            material,
            version_id=version_id,
            now=now,
            key_ops=list(latest.key_ops),
            attributes=attributes,
            tags=dict(latest.tags) if latest.tags is not None else None,
            exportable=latest.exportable,
            release_policy=latest.release_policy,
        )
        return version


def _next_rotation(policy: RotationPolicy, current: KeyVersion) -> int | None:
    due: list[int] = []
    for action in policy.actions:
        if action.action != "Rotate":
            continue
        if action.trigger == "timeAfterCreate":
            due.append(current.attributes.created + action.seconds)
        elif current.attributes.exp is not None:
            due.append(max(current.attributes.exp - action.seconds, current.attributes.created))
    return min(due) if due else None


def rotate_due_keys(service: ServiceHost, vault: Vault, now: float) -> None:
    """Tick hook: rotate every key whose policy's Rotate trigger has come, record Notify triggers."""
    policies = vault.extensions.get(_POLICIES)
    if not policies:
        return
    made: list[tuple[str, KeyVersion]] = []
    with vault.lock:
        for lowered, policy in list(cast(dict[str, RotationPolicy], policies).items()):
            obj = key_store(vault).get(lowered)
            if obj is None or obj.current().managed:
                continue
            for _ in range(_MAX_CATCH_UP):
                when = _next_rotation(policy, obj.current())
                if when is None or when > now:
                    break
                try:
                    rotated = rotate_version(vault, obj, version_id=service.ids.new_version(), now=when)
                except ServiceError:
                    break  # a key the fake cannot make again: its policy rotates nothing
                made.append((obj.name, rotated))
            _notify(vault, obj, policy, now)
    events = getattr(service, "events", None)
    for name, version in made:
        if events is not None:
            events.object_changed(
                vault, "Key", name, version.version, nbf=version.attributes.nbf, exp=version.attributes.exp
            )


def _notify(vault: Vault, obj: Versioned[KeyVersion], policy: RotationPolicy, now: float) -> None:
    current = obj.current()
    exp = current.attributes.exp
    if exp is None:
        return
    log = rotation_notifications(vault)
    for action in policy.actions:
        fired = any(name == obj.name and version == current.version for name, version, _ in log)
        if action.action == "Notify" and now >= exp - action.seconds and not fired:
            log.append((obj.name, current.version, int(now)))
