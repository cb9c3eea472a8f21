"""Throttling, opt-in per vault: the service's documented limits per 10-second window, on the fake's clock.

Facts (Microsoft's "Azure Key Vault service limits" and "throttling guidance"): limits are per vault and region, per
10 seconds; secrets, managed storage account keys and vault transactions allow 4,000; keys have a CREATE budget and
an "all other transactions" budget per key type and size, software and HSM-protected (table below). The thresholds
are weighted and enforced on their sum: a request costs ``1 / limit`` of its category, and the vault is throttled
once the costs in the window would pass 1. A throttled request answers 429 with ``Retry-After`` (seconds until the
window ends) and does not count toward the limit.

Each window starts with the first request after the previous one ended. With a :class:`ManualClock`, the SDK's retry
(which honours ``Retry-After`` and sleeps through ``transport.sleep`` = ``fake.pass_time``) moves the clock into the
next window and succeeds, with no real sleeping.

Key categories need the key's type and size: for CreateKey/ImportKey they come from the request; otherwise from the
stored key's version: the keys module's ``material`` (``kty_family``, ``size``, ``curve``) and ``hsm`` flag, or
``kty`` with ``key_size``/``crv``, or a ``key``/``jwk`` mapping. Unknown keys count as RSA 2048 software keys.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.wire import b64url_decode

if TYPE_CHECKING:
    from kvconfig.fake.core.routing import OperationContext
    from kvconfig.fake.core.state import Vault

__all__ = ["DEFAULT_LIMITS", "WINDOW_SECONDS", "Throttle", "ThrottlePolicy", "throttle_category"]

WINDOW_SECONDS = 10.0

# (kty without -HSM, size or curve) -> (HSM create, HSM other, software create, software other)
_KEY_LIMITS: dict[tuple[str, str], tuple[int, int, int, int]] = {
    ("RSA", "2048"): (10, 2000, 20, 4000),
    ("RSA", "3072"): (10, 500, 20, 1000),
    ("RSA", "4096"): (10, 250, 20, 500),
    ("EC", "P-256"): (10, 2000, 20, 4000),
    ("EC", "P-384"): (10, 2000, 20, 4000),
    ("EC", "P-521"): (10, 2000, 20, 4000),
    ("EC", "P-256K"): (10, 2000, 20, 4000),
}


def _key_categories() -> dict[str, int]:
    limits: dict[str, int] = {}
    for (kty, size), (hsm_create, hsm_other, sw_create, sw_other) in _KEY_LIMITS.items():
        limits[f"keys:{kty}-HSM:{size}:create"] = hsm_create
        limits[f"keys:{kty}-HSM:{size}"] = hsm_other
        limits[f"keys:{kty}:{size}:create"] = sw_create
        limits[f"keys:{kty}:{size}"] = sw_other
    return limits


# Category names: "secrets" and "vault" (certificates and everything else), and "keys:<kty>:<size>[:create]" with
# kty RSA, RSA-HSM, EC, EC-HSM (oct keys count as "vault").
DEFAULT_LIMITS: dict[str, int] = {"secrets": 4000, "vault": 4000, **_key_categories()}

_KEY_CREATES = frozenset({"CreateKey", "ImportKey", "RotateKey"})


@dataclass(frozen=True)
class ThrottlePolicy:
    """The limits of one vault: ``limits`` per category, or ``limit`` for every category (for tests)."""

    limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    window: float = WINDOW_SECONDS

    def limit_for(self, category: str) -> int:
        return self.limits.get(category) or self.limits.get("vault") or DEFAULT_LIMITS["vault"]


@dataclass
class _Window:
    policy: ThrottlePolicy
    start: float = -math.inf
    used: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def throttle_category(ctx: OperationContext) -> str:
    """The limit category a request counts against."""
    operation = ctx.route.operation
    first = ctx.route.template.strip("/").split("/")[0].lower()
    if first in ("secrets", "deletedsecrets"):
        return "secrets"
    if first not in ("keys", "deletedkeys"):
        return "vault"
    kty, size = _key_profile(ctx)
    if (kty.removesuffix("-HSM"), size) not in _KEY_LIMITS:
        return "vault"
    return f"keys:{kty}:{size}" + (":create" if operation in _KEY_CREATES else "")


def _key_profile(ctx: OperationContext) -> tuple[str, str]:
    operation = ctx.route.operation
    if operation in ("CreateKey", "ImportKey"):
        try:
            body = ctx.body()
        except ServiceError:
            return "RSA", "2048"
        inner = body.get("key")
        source: Mapping[str, Any] = inner if isinstance(inner, dict) else body
        profile = _profile_of(source)
        if operation == "ImportKey" and body.get("Hsm") is True and profile[0] in ("RSA", "EC"):
            profile = (profile[0] + "-HSM", profile[1])
        return profile
    name = ctx.params.get("name")
    if not name:
        return "RSA", "2048"
    store = ctx.vault.stores.get("keys")
    obj = store.get(name) if store is not None else None
    if obj is None:
        return "RSA", "2048"
    version: Any = obj.get(ctx.params.get("version") or None)
    if version is None:
        return "RSA", "2048"
    for attribute in ("key", "jwk"):
        jwk = getattr(version, attribute, None)
        if isinstance(jwk, Mapping):
            return _profile_of(jwk)
    material = getattr(version, "material", None)  # the keys module's KeyVersion: a kvconfig.crypto KeyMaterial
    if material is not None and isinstance(getattr(material, "kty_family", None), str):
        kty = material.kty_family + ("-HSM" if getattr(version, "hsm", False) else "")
        return _profile_of({"kty": kty, "key_size": getattr(material, "size", None), "crv": material.curve})
    kty = getattr(version, "kty", None)
    if isinstance(kty, str):
        size, curve = getattr(version, "key_size", None), getattr(version, "crv", None)
        return _profile_of({"kty": kty, "key_size": size, "crv": curve})
    return "RSA", "2048"


def _profile_of(source: Mapping[str, Any]) -> tuple[str, str]:
    kty = str(source.get("kty") or "RSA")
    if kty.startswith("EC"):
        return kty, str(source.get("crv") or "P-256")
    if kty.startswith("RSA"):
        size = source.get("key_size")
        modulus = source.get("n")
        if size is None and isinstance(modulus, str):
            try:
                size = len(b64url_decode(modulus).lstrip(b"\0")) * 8
            except ValueError:
                size = 2048
        return kty, str(size or 2048)
    return kty, ""


class Throttle:
    """The authorizer that enforces throttling on the vaults it was enabled for (``fake.throttle(...)``)."""

    _KEY = "throttle"

    def configure(self, vault: Vault, policy: ThrottlePolicy | None) -> None:
        """Enable throttling on ``vault`` with ``policy``, or turn it off with ``None``."""
        with vault.lock:
            if policy is None:
                vault.extensions.pop(self._KEY, None)
            else:
                vault.extensions[self._KEY] = _Window(policy)

    def __call__(self, ctx: OperationContext) -> None:
        window = ctx.vault.extensions.get(self._KEY)
        if not isinstance(window, _Window):
            return
        now = ctx.service.clock.now()
        cost = 1.0 / max(window.policy.limit_for(throttle_category(ctx)), 1)
        with window.lock:
            if now >= window.start + window.policy.window:
                window.start, window.used = now, 0.0
            if window.used + cost > 1.0 + 1e-9:
                retry_after = max(1, math.ceil(window.start + window.policy.window - now))
                raise ServiceError.throttled(retry_after)
            window.used += cost
