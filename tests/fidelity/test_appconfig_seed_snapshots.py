"""Snapshots in seed files: a seeded snapshot is what the official client (sync and aio, HMAC and Entra, transport
and patch) reads back; a store whose snapshots were made through the client dumps to a seed that re-seeds an
identical store."""

from __future__ import annotations

from typing import Any

import pytest
from azure.appconfiguration import ConfigurationSettingsFilter

from kvconfig.fake import ManualClock
from kvconfig.fake.appconfig import FakeAppConfiguration
from kvconfig.fake.appconfig.seed import AppConfigSeedError

from .appconfig_support import STORE, StoreUnderTest

VAULT_URI = "https://contoso-app.vault.azure.net/secrets/db"
SEED: dict[str, Any] = {
    STORE: {
        "key_values": [
            {"key": "app:color", "value": "green"},
            {"key": "app:color", "value": "red", "label": "prod"},
            {"key": "app:size", "value": "L", "locked": True},
        ],
        "snapshots": [
            {
                "name": "release-1",
                "filters": [{"key": "app:*"}, {"key": "app:*", "label": "prod"}],
                "composition_type": "key",
                "retention_period": 7200,
                "status": "archived",
                "created": "2026-11-30T10:00:00+00:00",
                "expires": "2099-01-01T00:00:00+00:00",
                "tags": {"team": "a"},
                "description": "before the colour change",
                "items": [
                    {"key": "app:color", "value": "blue", "label": "prod"},
                    {"key": "app:db", "secret_uri": VAULT_URI},
                ],
            },
            {"name": "composed", "filters": [{"key": "app:*"}], "composition_type": "key_label"},
        ],
    }
}


async def test_a_seeded_snapshot_is_what_the_client_reads(store: StoreUnderTest) -> None:
    store.fake.seed(SEED)

    got = await store.call(store.client.get_snapshot, "release-1")
    assert (got.name, got.status, got.composition_type, got.retention_period) == ("release-1", "archived", "key", 7200)
    assert got.created.isoformat() == "2026-11-30T10:00:00+00:00"
    assert got.expires.isoformat() == "2099-01-01T00:00:00+00:00"
    assert got.tags == {"team": "a"}
    assert [(f.key, f.label) for f in got.filters] == [("app:*", None), ("app:*", "prod")]
    assert got.items_count == 2
    frozen = await store.collect(store.client.list_configuration_settings(snapshot_name="release-1"))
    assert [(s.key, s.label, s.value) for s in frozen] == [
        ("app:color", "prod", "blue"),
        ("app:db", None, f'{{"uri": "{VAULT_URI}"}}'),
    ]
    assert frozen[1].content_type.startswith("application/vnd.microsoft.appconfig.keyvaultref+json")
    # Without items, the seed's filters are applied to the store's key-values as seeded.
    composed = await store.collect(store.client.list_configuration_settings(snapshot_name="composed"))
    assert [(s.key, s.label, s.value) for s in composed] == [("app:color", None, "green"), ("app:size", None, "L")]
    recovered = await store.call(store.client.recover_snapshot, "release-1")
    assert (recovered.status, recovered.expires) == ("ready", None)
    locked = await store.call(store.client.get_configuration_setting, "app:size")
    assert locked.read_only


async def test_a_dumped_store_re_seeds_identically(store: StoreUnderTest) -> None:
    store.fake.set(STORE, "app:color", "blue")
    store.fake.set(STORE, "app:color", "red", label="prod")
    store.fake.set(STORE, "other", "x")
    filters = [ConfigurationSettingsFilter(key="app:*"), ConfigurationSettingsFilter(key="app:*", label="prod")]
    for name, composition in (("by-key", "key"), ("by-key-label", "key_label")):
        poller = await store.call(
            store.client.begin_create_snapshot,
            name,
            filters,
            composition_type=composition,
            retention_period=3600,
            tags={"n": name},
        )
        await store.call(poller.result)
    await store.call(store.client.archive_snapshot, "by-key")
    store.fake.set(STORE, "app:color", "changed", label="prod")  # after the snapshots: they keep "red"

    dumped = store.fake.dump()
    again = FakeAppConfiguration()
    again.seed(dumped)

    assert again.dump() == dumped
    snapshots = {entry["name"]: entry for entry in dumped[store.fake.store(STORE).name]["snapshots"]}
    assert snapshots["by-key"]["status"] == "archived"
    assert "expires" in snapshots["by-key"]
    assert [item["value"] for item in snapshots["by-key"]["items"]] == ["red"]
    from azure.appconfiguration import AzureAppConfigurationClient

    with AzureAppConfigurationClient.from_connection_string(
        again.connection_string(STORE), transport=again.transport()
    ) as client:
        original = await store.call(store.client.get_snapshot, "by-key-label")
        copy = client.get_snapshot("by-key-label")
        fields = ("name", "status", "composition_type", "retention_period", "created", "expires", "tags", "items_count")
        assert {f: getattr(copy, f) for f in fields} == {f: getattr(original, f) for f in fields}
        assert [(f.key, f.label) for f in copy.filters] == [(f.key, f.label) for f in original.filters]
        assert [(s.key, s.label, s.value) for s in client.list_configuration_settings(snapshot_name="by-key")] == [
            ("app:color", "prod", "red")
        ]


def test_an_archived_snapshot_past_its_retention_is_not_dumped() -> None:
    clock = ManualClock()
    fake = FakeAppConfiguration(clock=clock)
    old = {"name": "old", "filters": [{"key": "*"}], "status": "archived", "retention_period": 3600}
    fake.seed({STORE: {"key_values": [], "snapshots": [old]}})
    assert [entry["name"] for entry in fake.dump()[STORE]["snapshots"]] == ["old"]
    clock.advance(3601)
    assert fake.dump()[STORE] == []


@pytest.mark.parametrize(
    ("snapshot", "message"),
    [
        ({"filters": [{"key": "*"}]}, "string 'name'"),
        ({"name": "s", "filters": []}, "1 to 3 filters"),
        ({"name": "s", "filters": [{"key": "a*b"}]}, ".filters:"),
        ({"name": "s", "filters": [{"key": "*"}], "retention_period": 60}, "retention_period"),
        ({"name": "s", "filters": [{"key": "*"}], "status": "provisioning"}, "'status'"),
        ({"name": "s", "filters": [{"key": "*"}], "created": "yesterday"}, "ISO 8601"),
        ({"name": "s", "filters": [{"key": "*"}], "expires": "2099-01-01T00:00:00Z"}, "only an archived"),
        ({"name": "s", "filters": [{"key": "*"}], "items": [{"key": "k"}, {"key": "k", "label": "x"}]}, "once"),
        ({"name": "s", "filters": [{"key": "*"}], "colour": "red"}, "unknown field(s) colour"),
    ],
)
def test_bad_snapshot_entries_name_the_entry(snapshot: dict[str, Any], message: str) -> None:
    with pytest.raises(AppConfigSeedError, match=r"appconfig\.fidelity-store\.snapshots\[0\]") as raised:
        FakeAppConfiguration().seed({STORE: {"snapshots": [snapshot]}})
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "bad",
    [
        {"other-store": [{"key": "k", "bogus": 1}]},  # a later store's entry
        {STORE: {"key_values": [{"key": "app:new", "value": "x"}], "snapshots": [{"name": "s", "filters": []}]}},
    ],
    ids=["later-store", "snapshot-after-key-values"],
)
async def test_a_refused_seed_leaves_every_store_as_it_was(store: StoreUnderTest, bad: dict[str, Any]) -> None:
    store.fake.seed(SEED)
    before = store.fake.dump()
    color = await store.call(store.client.get_configuration_setting, "app:color")
    # What the first store gets before the refused entry is reached: a new key-value and a changed one.
    seed = {STORE: [{"key": "app:new", "value": "x"}, {"key": "app:color", "value": "changed"}], **bad}

    with pytest.raises(AppConfigSeedError):
        store.fake.seed(seed)

    assert store.fake.dump() == before
    assert sorted(part for part in store.fake.dump()) == [STORE]
    again = await store.call(store.client.get_configuration_setting, "app:color")
    assert (again.value, again.etag) == ("green", color.etag)
