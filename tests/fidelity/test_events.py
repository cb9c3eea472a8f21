"""Event Grid events: real schema, once each and in order, in-process subscribers and webhooks with the handshake."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from kvconfig.fake import EventGridEvent, FakeKeyVault, ManualClock, WebhookValidationError

from .support import VaultUnderTest

START = 1_800_000_000


async def test_setting_secrets_publishes_new_version_events_once_each_in_order(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    received: list[EventGridEvent] = []
    fake.events.subscribe(received.append)
    first = await kv.set("db", "v1")
    second = await kv.set("db", "v2", expires_on=first.properties.created_on + timedelta(days=90))
    await kv.call(kv.client.get_secret, "db")  # reads publish nothing

    assert [event.event_type for event in received] == ["Microsoft.KeyVault.SecretNewVersionCreated"] * 2
    assert [event.data["Version"] for event in received] == [first.properties.version, second.properties.version]
    vault = fake.vault(kv.vault_url)
    event = received[1].to_dict()
    assert set(event) == {"id", "topic", "subject", "eventType", "eventTime", "data", "dataVersion", "metadataVersion"}
    assert event["topic"] == vault.properties.resource_id
    assert event["subject"] == "db"
    assert event["dataVersion"] == "1"
    assert event["metadataVersion"] == "1"
    assert event["eventTime"].endswith("Z")
    assert event["data"] == {
        "Id": second.id,
        "VaultName": vault.name,
        "ObjectType": "Secret",
        "ObjectName": "db",
        "Version": second.properties.version,
        "NBF": None,
        "EXP": int(second.properties.expires_on.timestamp()),
    }
    assert received == fake.events.published


def test_near_expiry_fires_30_days_ahead_and_expired_at_exp_once_each() -> None:
    fake = FakeKeyVault(clock=ManualClock(START))
    received: list[EventGridEvent] = []
    fake.events.subscribe(received.append, event_types=["SecretNearExpiry", "SecretExpired"])
    fake.set_secret("clock-vault", "token", "t", expires_on=START + 40 * 86400)

    fake.advance(days=9)
    assert received == []
    fake.advance(days=1, seconds=1)
    assert [event.event_type for event in received] == ["Microsoft.KeyVault.SecretNearExpiry"]
    fake.advance(days=5)
    assert len(received) == 1
    fake.advance(days=30)
    assert [event.event_type.rsplit(".", 1)[1] for event in received] == ["SecretNearExpiry", "SecretExpired"]
    fake.advance(days=100)
    assert len(received) == 2
    assert received[1].data["EXP"] == START + 40 * 86400


def test_a_jump_past_exp_fires_near_expiry_then_expired_and_requests_also_tick() -> None:
    fake = FakeKeyVault(clock=ManualClock(START))
    fake.set_secret("jump-vault", "token", "t", expires_on=START + 3600)
    fake.clock.advance(days=1)  # type: ignore[attr-defined]
    assert fake.events.published == []
    token = fake.credential().get_token("https://vault.azure.net/.default").token
    url = "https://jump-vault.vault.azure.net/secrets?api-version=7.5"
    fake.handle("GET", url, {"Authorization": f"Bearer {token}"})  # time acts before an authenticated request
    assert [event.event_type.rsplit(".", 1)[1] for event in fake.events.published] == [
        "SecretNearExpiry",
        "SecretExpired",
    ]


def test_access_policy_changes_publish_vault_access_policy_changed() -> None:
    fake = FakeKeyVault()
    vault = fake.create_vault("legacy-vault", rbac=False)
    vault.set_access_policy("app", secrets=["get"])
    (event,) = fake.events.published
    assert event.event_type == "Microsoft.KeyVault.VaultAccessPolicyChanged"
    assert event.data["ObjectType"] == "Vault"
    assert event.data["VaultName"] == "legacy-vault"


class Receiver:
    """A webhook endpoint served by an httpx.MockTransport: answers Event Grid's handshake, records deliveries."""

    def __init__(self, *, answer_handshake: bool = True) -> None:
        self.answer_handshake = answer_handshake
        self.requests: list[tuple[str, list[dict[str, Any]]]] = []
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append((request.headers["aeg-event-type"], body))
        if body[0]["eventType"] == "Microsoft.EventGrid.SubscriptionValidationEvent":
            if not self.answer_handshake:
                return httpx.Response(404)
            return httpx.Response(200, json={"validationResponse": body[0]["data"]["validationCode"]})
        return httpx.Response(200)


def test_webhook_gets_the_validation_handshake_then_each_event_once_in_order() -> None:
    fake = FakeKeyVault()
    receiver = Receiver()
    webhook = fake.events.add_webhook("https://hooks.example/kv", transport=receiver.transport, vault="hook-vault")
    fake.set_secret("hook-vault", "a", "1")  # arranged directly: not an operation, so no event
    token = fake.credential().get_token("https://vault.azure.net/.default").token
    for name in ("a", "b", "a"):
        fake.handle(
            "PUT",
            f"https://hook-vault.vault.azure.net/secrets/{name}?api-version=7.5",
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            json.dumps({"value": "x"}).encode(),
        )
    kinds = [kind for kind, _ in receiver.requests]
    assert kinds == ["SubscriptionValidation", "Notification", "Notification", "Notification"]
    handshake = receiver.requests[0][1][0]
    assert set(handshake["data"]) == {"validationCode"}
    delivered = [body[0] for _, body in receiver.requests[1:]]
    assert [event["subject"] for event in delivered] == ["a", "b", "a"]
    assert [event["id"] for event in delivered] == [event.id for event in webhook.delivered]
    assert webhook.failures == []


def test_webhook_that_fails_the_handshake_is_not_subscribed() -> None:
    fake = FakeKeyVault()
    receiver = Receiver(answer_handshake=False)
    with pytest.raises(WebhookValidationError, match="validation handshake"):
        fake.events.add_webhook("https://hooks.example/kv", transport=receiver.transport)
    fake.set_secret("quiet-vault", "a", "1")
    fake.events.object_changed(fake.vault("quiet-vault"), "Secret", "a", "0" * 32, nbf=None, exp=None)
    assert len(receiver.requests) == 1


def test_unknown_event_types_are_refused() -> None:
    with pytest.raises(ValueError, match="not a Key Vault event type"):
        FakeKeyVault().events.subscribe(lambda event: None, event_types=["SecretRotated"])
