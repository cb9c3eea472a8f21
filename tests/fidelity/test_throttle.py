"""Throttling through the official SecretClient: 429 with Retry-After; the SDK's retry recovers on a ManualClock."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets import aio as secrets_aio

from kvconfig.fake import FakeKeyVault, ManualClock
from kvconfig.fake.control.throttle import DEFAULT_LIMITS, throttle_category

START = 1_800_000_000.0


class Throttled:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.fake = FakeKeyVault(clock=ManualClock(START))
        self.vault = self.fake.create_vault("busy", throttling=3)
        self.fake.set_secret("busy", "s1", "v1")
        self._closeables: list[Any] = []

    def client(self, **options: Any) -> Any:
        if self.mode == "async":
            client: Any = secrets_aio.SecretClient(
                self.vault.url, self.fake.async_credential(), transport=self.fake.async_transport(), **options
            )
        else:
            client = SecretClient(self.vault.url, self.fake.credential(), transport=self.fake.transport(), **options)
        self._closeables.append(client)
        return client

    async def call(self, method: Any, *args: Any) -> Any:
        result = method(*args)
        return await result if self.mode == "async" else result


@pytest.fixture(params=["sync", "async"])
async def busy(request: pytest.FixtureRequest) -> AsyncIterator[Throttled]:
    handle = Throttled(request.param)
    yield handle
    for client in handle._closeables:
        result = client.close()
        if handle.mode == "async":
            await result


async def test_requests_over_the_window_budget_answer_429_with_retry_after(busy: Throttled) -> None:
    client = busy.client(retry_total=0)
    for _ in range(3):  # the SDK's challenge request is answered before throttling and does not count
        await busy.call(client.get_secret, "s1")
    busy.fake.clock.advance(4)  # type: ignore[attr-defined]
    with pytest.raises(HttpResponseError) as caught:
        await busy.call(client.get_secret, "s1")
    error = caught.value
    assert error.status_code == 429
    assert error.error is not None
    assert error.error.code == "Throttled"
    assert error.response is not None
    assert error.response.headers["Retry-After"] == "6"
    assert [event.status for event in busy.fake.audit][-1] == 429


async def test_sdk_retry_waits_out_the_window_on_the_manual_clock_and_succeeds(busy: Throttled) -> None:
    client = busy.client(retry_total=3)
    started = time.perf_counter()
    values = [(await busy.call(client.get_secret, "s1")).value for _ in range(5)]
    assert values == ["v1"] * 5
    statuses = [event.status for event in busy.fake.audit]
    assert statuses.count(429) == 1
    assert statuses.count(200) == 5
    assert busy.fake.clock.now() >= START + 10  # the SDK slept Retry-After through the fake's transport
    assert time.perf_counter() - started < 5


async def test_throttled_requests_do_not_count_and_throttling_can_be_turned_off(busy: Throttled) -> None:
    client = busy.client(retry_total=0)
    for _ in range(3):
        await busy.call(client.get_secret, "s1")
    for _ in range(3):
        with pytest.raises(HttpResponseError):
            await busy.call(client.get_secret, "s1")
    busy.fake.clock.advance(10)  # type: ignore[attr-defined]
    for _ in range(3):
        await busy.call(client.get_secret, "s1")
    busy.fake.throttle("busy", enabled=False)
    for _ in range(10):
        await busy.call(client.get_secret, "s1")


def test_documented_limits_and_categories() -> None:
    assert DEFAULT_LIMITS["secrets"] == 4000
    assert DEFAULT_LIMITS["keys:RSA:2048"] == 4000
    assert DEFAULT_LIMITS["keys:RSA-HSM:2048"] == 2000
    assert DEFAULT_LIMITS["keys:RSA:4096"] == 500
    assert DEFAULT_LIMITS["keys:RSA-HSM:3072:create"] == 10
    assert DEFAULT_LIMITS["keys:EC:P-256:create"] == 20
    fake = FakeKeyVault()
    seen: list[str] = []
    fake.authorizers.append(lambda ctx: seen.append(throttle_category(ctx)))
    token = fake.credential().get_token("https://vault.azure.net/.default").token
    fake.handle("GET", "https://cats.vault.azure.net/secrets?api-version=7.5", {"Authorization": f"Bearer {token}"})
    assert seen == ["secrets"]


def test_category_limits_override_the_documented_ones() -> None:
    fake = FakeKeyVault(clock=ManualClock(START))
    fake.create_vault("tuned")
    fake.throttle("tuned", limits={"secrets": 2})
    token = fake.credential().get_token("https://vault.azure.net/.default").token
    headers = {"Authorization": f"Bearer {token}"}
    statuses = [
        fake.handle("GET", f"https://tuned.vault.azure.net/{path}?api-version=7.5", headers).status
        for path in ("secrets", "deletedsecrets", "secrets")
    ]
    assert statuses == [200, 200, 429]
