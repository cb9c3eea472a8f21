"""Seeding and dumping fake App Configuration stores: the ``appconfig`` part of a kvconfig seed file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from kvconfig.fake.appconfig.state import KeyValue, Store

__all__ = ["AppConfigSeedError", "dump_appconfig_seed", "load_appconfig_seed"]

MAX_SEED_ITEMS = 100_000


class AppConfigSeedError(ValueError):
    """A seed entry that cannot be loaded; the message names the store and the entry's index."""


class SeededStores(Protocol):
    """What seeding needs of the fake App Configuration service (``FakeAppConfiguration`` is one)."""

    @property
    def stores(self) -> list[Store]: ...

    def set(
        self,
        name: str,
        key: str,
        value: str | None,
        *,
        label: str | None = None,
        content_type: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> KeyValue: ...

    def set_secret_reference(self, name: str, key: str, secret_uri: str, *, label: str | None = None) -> KeyValue: ...


def load_appconfig_seed(fake: SeededStores, data: Mapping[str, Any]) -> None:
    if not isinstance(data, Mapping):
        raise AppConfigSeedError("The appconfig seed must map store names to lists of key-values.")
    for store_name, entries in data.items():
        if not isinstance(entries, list) or len(entries) > MAX_SEED_ITEMS:
            raise AppConfigSeedError(f"appconfig.{store_name}: expected a list of at most {MAX_SEED_ITEMS} entries.")
        for index, entry in enumerate(entries):
            where = f"appconfig.{store_name}[{index}]"
            if not isinstance(entry, Mapping) or not isinstance(entry.get("key"), str):
                raise AppConfigSeedError(f"{where}: each entry is an object with a string 'key'.")
            unknown = set(entry) - {"key", "value", "label", "content_type", "tags", "secret_uri"}
            if unknown:
                raise AppConfigSeedError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}.")
            label = entry.get("label")
            if "secret_uri" in entry:
                fake.set_secret_reference(store_name, entry["key"], str(entry["secret_uri"]), label=label)
                continue
            value = entry.get("value")
            if value is not None and not isinstance(value, str):
                value = json.dumps(value)
                content_type = entry.get("content_type", "application/json")
            else:
                content_type = entry.get("content_type")
            fake.set(store_name, entry["key"], value, label=label, content_type=content_type, tags=entry.get("tags"))


def _entry(item: KeyValue) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": item.key, "value": item.value}
    if item.label is not None:
        entry["label"] = item.label
    if item.content_type is not None:
        entry["content_type"] = item.content_type
    if item.tags:
        entry["tags"] = dict(item.tags)
    return entry


def dump_appconfig_seed(fake: SeededStores) -> dict[str, Any]:
    dumped: dict[str, Any] = {}
    for store in fake.stores:
        with store.lock:
            dumped[store.name] = [_entry(item) for item in store.sorted_items()]
    return dumped
