"""The expiry scan runs only when something may be due, yet NearExpiry/Expired still fire once each, in order, at
the same instants: after updates of ``exp``, new versions, deletes, recoveries and purges made between ticks, through
the official SecretClient and KeyClient on a ManualClock.

Each test first lets the vault be scanned with nothing due (so the next due instant is remembered), then changes
state and moves the clock by requests, the way the skip could go wrong."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from azure.keyvault.keys import KeyClient
from azure.keyvault.secrets import SecretClient

from kvconfig.fake import EventGridEvent, FakeKeyVault, ManualClock

START = 1_800_000_000
DAY = 86400
URL = "https://expiry-vault.vault.azure.net"


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def _setup() -> tuple[FakeKeyVault, ManualClock, SecretClient, list[tuple[str, str]]]:
    clock = ManualClock(START)
    fake = FakeKeyVault(clock=clock)
    received: list[tuple[str, str]] = []

    def record(event: EventGridEvent) -> None:
        received.append((event.event_type.rsplit(".", 1)[1], event.subject))

    fake.events.subscribe(record, event_types=["SecretNearExpiry", "SecretExpired", "KeyNearExpiry", "KeyExpired"])
    client = SecretClient(URL, fake.credential(), transport=fake.transport(), retry_total=0)
    return fake, clock, client, received


def test_update_secret_properties_bringing_exp_closer_fires_at_the_new_instants() -> None:
    _fake, clock, client, received = _setup()
    client.set_secret("far", "v", expires_on=_at(START + 400 * DAY))
    client.set_secret("moving", "v", expires_on=_at(START + 300 * DAY))
    client.get_secret("far")  # scanned: nothing due before day 270
    client.update_secret_properties("moving", expires_on=_at(START + 40 * DAY))

    clock.advance(days=10, seconds=-1)
    client.get_secret("far")
    assert received == []
    clock.advance(seconds=2)
    client.get_secret("far")
    assert received == [("SecretNearExpiry", "moving")]
    clock.advance(days=30)
    client.get_secret("far")
    client.get_secret("far")
    assert received == [("SecretNearExpiry", "moving"), ("SecretExpired", "moving")]


def test_a_new_version_expiring_sooner_fires_for_that_version() -> None:
    fake, clock, client, received = _setup()
    client.set_secret("token", "old", expires_on=_at(START + 300 * DAY))
    client.get_secret("token")
    newer = client.set_secret("token", "new", expires_on=_at(START + 31 * DAY))

    clock.advance(days=1, seconds=1)
    client.get_secret("token")
    assert received == [("SecretNearExpiry", "token")]
    assert fake.events.published[-1].data["Version"] == newer.properties.version


def test_a_version_arranged_without_http_is_seen_by_the_next_tick() -> None:
    fake, clock, client, received = _setup()
    client.set_secret("far", "v", expires_on=_at(START + 300 * DAY))
    client.get_secret("far")
    fake.set_secret(URL, "arranged", "v", expires_on=START + 3600)

    client.get_secret("far")
    assert received == [("SecretNearExpiry", "arranged")]
    clock.advance(seconds=3600)
    fake.tick()
    assert received == [("SecretNearExpiry", "arranged"), ("SecretExpired", "arranged")]


def test_deleting_stops_expiry_events_and_recovering_resumes_them() -> None:
    fake, clock, client, received = _setup()
    client.set_secret("gone", "v", expires_on=_at(START + 35 * DAY))
    client.set_secret("purged", "v", expires_on=_at(START + 35 * DAY))
    clock.advance(days=6)
    client.get_secret("gone")
    assert received == [("SecretNearExpiry", "gone"), ("SecretNearExpiry", "purged")]
    client.begin_delete_secret("gone").wait()
    client.begin_delete_secret("purged").wait()
    client.purge_deleted_secret("purged")

    clock.advance(days=30)
    fake.tick()
    client.set_secret("other", "v")
    assert len(received) == 2
    client.begin_recover_deleted_secret("gone").wait()
    client.get_secret("gone")
    assert received[2:] == [("SecretExpired", "gone")]


def test_update_key_properties_changing_exp_fires_key_events() -> None:
    fake, clock, _client, received = _setup()
    keys = KeyClient(URL, fake.credential(), transport=fake.transport(), retry_total=0)
    keys.create_ec_key("signing", curve="P-256", expires_on=_at(START + 300 * DAY))
    keys.get_key("signing")
    keys.update_key_properties("signing", expires_on=_at(START + 30 * DAY + 60))

    clock.advance(seconds=60)
    keys.get_key("signing")
    assert received == [("KeyNearExpiry", "signing")]


def test_a_changed_near_expiry_window_applies_at_once() -> None:
    fake, _clock, client, received = _setup()
    client.set_secret("token", "v", expires_on=_at(START + 50 * DAY))
    client.get_secret("token")
    assert received == []
    fake.events.near_expiry_seconds = 60 * DAY
    client.get_secret("token")
    assert received == [("SecretNearExpiry", "token")]


def test_a_subscriber_calling_the_fake_sees_expiry_events_in_order_before_its_own() -> None:
    clock = ManualClock(START)
    fake = FakeKeyVault(clock=clock)
    headers: dict[str, str] = {"Content-Type": "application/json"}
    received: list[tuple[str, str]] = []

    def react(event: EventGridEvent) -> None:
        received.append((event.event_type.rsplit(".", 1)[1], event.subject))
        if event.subject == "a" and event.event_type.endswith("NearExpiry"):
            fake.handle("PUT", f"{URL}/secrets/c?api-version=7.5", headers, json.dumps({"value": "x"}).encode())

    fake.events.subscribe(react)
    fake.set_secret(URL, "a", "v", expires_on=START + 31 * DAY)
    fake.set_secret(URL, "b", "v", expires_on=START + 32 * DAY)
    fake.tick()
    clock.advance(days=3)
    headers["Authorization"] = "Bearer " + fake.credential().get_token("https://vault.azure.net/.default").token
    fake.handle("GET", f"{URL}/secrets/a?api-version=7.5", headers)

    assert received == [
        ("SecretNearExpiry", "a"),
        ("SecretNearExpiry", "b"),
        ("SecretNewVersionCreated", "c"),
    ]
