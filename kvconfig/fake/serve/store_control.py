"""The control API's App Configuration endpoints: ``/_kvconfig/appconfig/...`` lists, seeds, dumps and removes the
stores the emulator serves beside its vaults (``--appconfig``), under the control API's rules (``control_api.py``).

A store is named in a path or a seed by its bare name (``contoso-config``: this emulator's
``contoso-config.azconfig.localhost:<port>``) or by a host this emulator serves; any other host gets 400. Listings
show each key-value's metadata (key, label, content type, tags, etag, last modified, locked, and the target of a Key
Vault reference); values only with ``?reveal=1``. The seed body is the ``--appconfig-seed`` file's (a stores mapping,
or a document with an ``appconfig`` part), read by the same seed reader (``appconfig/seed.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from kvconfig.fake.core.wire import FakeRequest
from kvconfig.fake.serve.control_requests import Refused, json_body, limit_of, only, reveal_asked
from kvconfig.fake.serve.host import StoredKeyValue, StoreService, StoreView
from kvconfig.references import APPCONFIG_KEYVAULT_CONTENT_TYPE

__all__ = [
    "DEFAULT_KEY_VALUES",
    "StoreControl",
    "iso_utc",
    "key_value_detail",
    "loopback_store_seed",
    "reference_target",
    "stores_part",
]

DEFAULT_KEY_VALUES = 1000
"""Key-values a store listing shows unless ``?limit=`` asks for another number (at most 10000)."""
_MAX_REFERENCE = 2048


def stores_part(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The stores of an App Configuration seed document (its ``appconfig`` part, or the document itself), or
    ``None`` when that is not a JSON object."""
    stores = data.get("appconfig", data)
    return stores if isinstance(stores, dict) else None


def loopback_store_seed(stores: Mapping[str, Any], domain: str) -> dict[str, Any]:
    """Bare store names (``contoso-config``) as the emulator's store hosts (``contoso-config.<domain>``); a
    ``ValueError`` when two names are one store (a bare name and its host, or two cases): one list would be lost."""
    hosts: dict[str, Any] = {}
    for name, items in stores.items():
        host = (name if "." in name or "://" in name else f"{name}.{domain}").lower()  # stores' hosts ignore case
        if host in hosts:
            raise ValueError(f"the seed names the store {host} twice")
        hosts[host] = items
    return hosts


def reference_target(item: StoredKeyValue) -> str | None:
    """The secret URL a Key Vault reference points at (``None`` for other key-values, or a reference whose value is
    not ``{"uri": "<string>"}``: nothing else of such a value is shown)."""
    media_type = (item.content_type or "").split(";", 1)[0].strip().lower()
    if media_type != APPCONFIG_KEYVAULT_CONTENT_TYPE or item.value is None or len(item.value) > _MAX_REFERENCE:
        return None
    try:
        document = json.loads(item.value)
    except (ValueError, RecursionError):
        return None
    uri = document.get("uri") if isinstance(document, dict) else None
    return uri if isinstance(uri, str) and uri.startswith("https://") else None


def iso_utc(epoch: float) -> str:
    """``2026-12-06T04:23:23+00:00``: App Configuration's timestamp format (a clock moved past year 9999 gives the
    seconds as they are: a listing never fails on a time)."""
    try:
        return datetime.fromtimestamp(int(epoch), timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return str(epoch)


class StoreControl:
    """The ``/_kvconfig/appconfig/...`` endpoints over one emulator's stores. ``domain`` is the stores' domain
    (``azconfig.localhost:<port>``), set by the emulator once its port is bound."""

    def __init__(self, stores: StoreService, domain: str = "") -> None:
        self.stores = stores
        self.domain = domain

    def __repr__(self) -> str:
        return f"StoreControl({self.domain or 'unbound'})"

    def handle(self, method: str, rest: list[str], request: FakeRequest) -> tuple[int, Any]:
        """Answer ``/_kvconfig/appconfig/<rest>``: ``(status, JSON payload)``, or :class:`Refused`."""
        if rest == ["seed"]:
            only(method, "POST")
            return 200, self.seed(json_body(request))
        if rest == ["dump"]:
            only(method, "GET")
            if not reveal_asked(request):
                raise Refused(403, "RevealRequired", "A dump holds key-values' values: ask for it with ?reveal=1.")
            return 200, {"appconfig": self.stores.dump()}
        if rest in (["stores"], ["stores", ""]):
            return self._all_stores(method)
        if len(rest) == 2 and rest[0] == "stores":
            return self._one_store(method, rest[1], request)
        raise Refused(404, "NotFound", f"/_kvconfig/appconfig/{'/'.join(rest)} is not part of the control API.")

    # -- seeding ---------------------------------------------------------------------------------------------------

    def seed(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Load the stores of ``document`` (``--appconfig-seed``'s shape); the endpoints of the stores seeded."""
        return self.seed_hosts(self.hosts_of(document))

    def hosts_of(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """The stores of ``document`` by this emulator's host, checked (each name one of its stores, named once) and
        nothing seeded: a combined seed checks them before its vaults are loaded."""
        stores = stores_part(document)
        if stores is None:
            raise Refused(400, "BadSeed", "'appconfig' must map store names to lists of key-values.")
        hosts: dict[str, Any] = {}
        for name, items in stores.items():
            host = self._host(name)
            if host in hosts:  # "contoso-config" and its host, or two cases of one name: one list would be lost
                raise Refused(400, "BadSeed", f"The App Configuration seed names the store {host} twice.")
            hosts[host] = items
        return hosts

    def seed_hosts(self, hosts: dict[str, Any]) -> dict[str, Any]:
        """Load stores already checked by :meth:`hosts_of`; the endpoints of the stores seeded."""
        try:
            self.stores.seed(hosts)
        except (ValueError, TypeError, KeyError) as exc:  # AppConfigSeedError names the store and the entry
            raise Refused(400, "BadSeed", f"Cannot use the App Configuration seed: {exc}") from None
        return {"stores": [f"https://{host}" for host in hosts]}

    # -- stores ----------------------------------------------------------------------------------------------------

    def _all_stores(self, method: str) -> tuple[int, Any]:
        if method == "DELETE":
            removed = sum(self.stores.remove_store(store.host) for store in self.stores.stores)
            return 200, {"removed": removed}
        only(method, "GET", "DELETE")
        return 200, {"value": [self._summary(store) for store in self._sorted()]}

    def _one_store(self, method: str, name: str, request: FakeRequest) -> tuple[int, Any]:
        only(method, "GET", "DELETE")
        host = self._host(name)
        store = next((store for store in self.stores.stores if store.host == host), None)
        if store is None:
            raise Refused(404, "StoreNotFound", f"There is no App Configuration store {host} in this emulator.")
        if method == "DELETE":
            self.stores.remove_store(host)
            return 200, {"removed": 1}
        limit = limit_of(request, DEFAULT_KEY_VALUES)
        reveal = reveal_asked(request)
        with store.lock:  # one consistent view of the store while it is read
            items = store.sorted_items()
            shown = [key_value_detail(item, reveal=reveal) for item in items[:limit]]
            snapshots = sorted(store.snapshots)
        found = {"name": store.name, "endpoint": store.endpoint, "total": len(items), "key_values": shown}
        return 200, {**found, "snapshots": snapshots}

    def _sorted(self) -> list[StoreView]:
        return sorted(self.stores.stores, key=lambda store: store.host)

    def _summary(self, store: StoreView) -> dict[str, Any]:
        with store.lock:
            count, snapshots = len(store.items), len(store.snapshots)
        return {"name": store.name, "endpoint": store.endpoint, "key_values": count, "snapshots": snapshots}

    def _host(self, name: object) -> str:
        text = str(name).strip().lower()
        host = text.removesuffix(":443") if "." in text else f"{text}.{self.domain}"
        mine = bool(self.domain) and host.endswith(f".{self.domain}")
        if not mine or len(text) > 253 or not self.stores.serves_host(host):
            raise Refused(
                400,
                "BadParameter",
                f"{str(name)[:64]!r} is not a store name (5-50 letters, digits and hyphens) or a "
                "store host of this emulator.",
            )
        return host


def key_value_detail(item: StoredKeyValue, *, reveal: bool) -> dict[str, Any]:
    """One key-value's metadata as the control API lists it; its value only when ``reveal``."""
    found: dict[str, Any] = {
        "key": item.key,
        "label": item.label,
        "content_type": item.content_type,
        "tags": dict(item.tags),
        "etag": item.etag,
        "last_modified": iso_utc(item.last_modified),
        "locked": item.locked,
        "keyvault_reference": reference_target(item),
    }
    if reveal:
        found["value"] = item.value
    return found
