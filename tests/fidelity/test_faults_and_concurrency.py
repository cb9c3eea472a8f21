"""Injected faults, latency, concurrency and not-implemented operations, through the official SecretClient."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.rest import HttpRequest
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets import aio as secrets_aio

from kvconfig import FakeVaultNotImplementedError
from kvconfig.fake import FakeKeyVault
from kvconfig.fake.core.api_versions import at_least
from kvconfig.fake.core.routing import Route
from kvconfig.fake.simulation import VirtualClock, VirtualTimeLoop

from .conftest import DEFAULT_API_VERSION
from .support import FAKE_VAULT_URL, VaultUnderTest

T = TypeVar("T")

# -- faults ---------------------------------------------------------------------------------------------------------


async def test_throttled_twice_with_retry_after_then_sdk_retries_to_success(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    name = kv.name()
    await kv.set(name, "v")
    fault = fake.inject_fault(status=429, retry_after=30, times=2, operation="GetSecret")
    client = kv.make_client(retry_total=3)
    fake.operation_counts.clear()
    started = time.perf_counter()
    assert (await kv.call(client.get_secret, name)).value == "v"
    assert fault.hits == 2
    assert fake.operation_counts["GetSecret"] == 3
    # Retry-After: 30 twice, yet no wall time passed: the SDK waits through the transport, which the fake serves.
    assert time.perf_counter() - started < 5


async def test_throttled_with_retries_off_raises_http_response_error_429(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    fake.inject_fault(status=429, retry_after=1, times=1)
    with pytest.raises(HttpResponseError) as caught:
        await kv.call(kv.client.get_secret, kv.name())
    assert caught.value.status_code == 429
    assert caught.value.error is not None
    assert caught.value.error.code == "Throttled"
    assert caught.value.response is not None
    assert caught.value.response.headers["Retry-After"] == "1"


@pytest.mark.parametrize("status", [500, 503])
async def test_server_error_is_retried_by_the_sdk(kv: VaultUnderTest, status: int) -> None:
    fake = kv.need_fake()
    name = kv.name()
    await kv.set(name, "v")
    fault = fake.inject_fault(status=status, times=2)
    client = kv.make_client(retry_total=3, retry_backoff_factor=0.01)
    assert (await kv.call(client.get_secret, name)).value == "v"
    assert fault.hits == 2


async def test_service_unavailable_with_retries_off_raises_http_response_error(kv: VaultUnderTest) -> None:
    kv.need_fake().inject_fault(status=503, times=None)
    with pytest.raises(HttpResponseError) as caught:
        await kv.call(kv.client.get_secret, kv.name())
    assert caught.value.status_code == 503


async def test_timeout_is_retried_by_the_sdk(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    name = kv.name()
    await kv.set(name, "v")
    fault = fake.inject_fault(error="timeout", times=1, operation="GetSecret")
    client = kv.make_client(retry_total=2, retry_backoff_factor=0.01)
    assert (await kv.call(client.get_secret, name)).value == "v"
    assert fault.hits == 1


async def test_timeout_with_retries_off_raises_service_response_timeout_error(kv: VaultUnderTest) -> None:
    kv.need_fake().inject_fault(error="timeout", times=None)
    with pytest.raises(ServiceResponseTimeoutError):
        await kv.call(kv.client.get_secret, kv.name())


async def test_dropped_connection_raises_service_response_error(kv: VaultUnderTest) -> None:
    kv.need_fake().inject_fault(error="drop", times=None)
    with pytest.raises(ServiceResponseError) as caught:
        await kv.call(kv.client.get_secret, kv.name())
    assert not isinstance(caught.value, ServiceResponseTimeoutError)


async def test_fault_for_one_operation_leaves_others_alone(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    fault = fake.inject_fault(status=500, times=None, operation="SetSecret")
    with pytest.raises(HttpResponseError):
        await kv.call(kv.client.set_secret, kv.name(), "v")
    versions = await kv.collect(kv.client.list_properties_of_secret_versions(kv.name()))
    assert versions == []
    fault.remove()
    assert (await kv.set(kv.name(), "v")).value == "v"


async def test_fault_times_limits_how_often_it_fires(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    name = kv.name()
    await kv.set(name, "v")
    fault = fake.inject_fault(status=500, times=2)
    for _ in range(2):
        with pytest.raises(HttpResponseError):
            await kv.call(kv.client.get_secret, name)
    assert (await kv.call(kv.client.get_secret, name)).value == "v"
    assert fault.hits == 2
    assert fault.exhausted


def _failures_with_seed(seed: int) -> list[bool]:
    fake = FakeKeyVault()
    fake.set_secret("seeded", "s1", "v")
    fake.inject_fault(status=500, times=None, probability=0.5, seed=seed)
    outcome = []
    with SecretClient(
        "https://seeded.vault.azure.net", fake.credential(), transport=fake.transport(), retry_total=0
    ) as c:
        for _ in range(30):
            try:
                c.get_secret("s1")
                outcome.append(False)
            except HttpResponseError:
                outcome.append(True)
    return outcome


def test_fault_probability_with_seed_is_reproducible() -> None:
    first, second = _failures_with_seed(7), _failures_with_seed(7)
    assert first == second
    assert 0 < sum(first) < 30
    assert _failures_with_seed(8) != first


# -- latency ----------------------------------------------------------------------------------------------------------


def _on_simulated_time(clock: VirtualClock, main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main()`` on an event loop whose waits cost no real time: the fake's latency is measured exactly, however
    busy the machine is (ten gets in parallel take one latency, one after the other ten)."""
    loop = VirtualTimeLoop(clock)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def test_latency_applies_to_concurrent_async_gets_in_parallel() -> None:
    clock = VirtualClock()
    fake = FakeKeyVault(latency=0.05, clock=clock)
    fake.set_secret(FAKE_VAULT_URL, "s1", "v")

    async def ten_gets() -> tuple[list[str | None], float]:
        async with secrets_aio.SecretClient(
            FAKE_VAULT_URL, fake.async_credential(), transport=fake.async_transport()
        ) as client:
            await client.get_secret("s1")  # the challenge round trip, outside the measurement
            started = clock.monotonic()
            results = await asyncio.gather(*(client.get_secret("s1") for _ in range(10)))
            return [r.value for r in results], clock.monotonic() - started

    values, elapsed = _on_simulated_time(clock, ten_gets)
    assert values == ["v"] * 10
    assert elapsed == pytest.approx(0.05)  # one latency for all ten; in turn, they would take 0.5 s


def test_latency_under_patch_applies_to_concurrent_aiohttp_gets_in_parallel() -> None:
    from azure.identity.aio import DefaultAzureCredential

    clock = VirtualClock()
    fake = FakeKeyVault(latency=0.05, clock=clock)
    fake.set_secret(FAKE_VAULT_URL, "s1", "v")

    async def ten_gets() -> float:
        async with DefaultAzureCredential() as credential, secrets_aio.SecretClient(FAKE_VAULT_URL, credential) as c:
            await c.get_secret("s1")
            started = clock.monotonic()
            await asyncio.gather(*(c.get_secret("s1") for _ in range(10)))
            return clock.monotonic() - started

    with fake.patch():
        elapsed = _on_simulated_time(clock, ten_gets)
    assert elapsed == pytest.approx(0.05)


def test_latency_delays_a_sync_get() -> None:
    fake = FakeKeyVault(latency=0.05)
    fake.set_secret(FAKE_VAULT_URL, "s1", "v")
    with SecretClient(FAKE_VAULT_URL, fake.credential(), transport=fake.transport()) as client:
        client.get_secret("s1")
        started = time.perf_counter()
        client.get_secret("s1")
        assert time.perf_counter() - started >= 0.05


# -- concurrency ------------------------------------------------------------------------------------------------------


def test_sixteen_threads_setting_one_secret_lose_no_version_and_share_no_id() -> None:
    fake = FakeKeyVault()
    threads, per_thread = 16, 25
    with SecretClient(FAKE_VAULT_URL, fake.credential(), transport=fake.transport(), retry_total=0) as client:
        client.set_secret("shared", "warm-up")
        barrier = threading.Barrier(threads)
        made: list[str] = []
        errors: list[BaseException] = []

        def writer(index: int) -> None:
            try:
                barrier.wait()
                for n in range(per_thread):
                    secret = client.set_secret("shared", f"{index}-{n}")
                    made.append(secret.properties.version or "")
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        workers = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert errors == []
        listed = [p.version for p in client.list_properties_of_secret_versions("shared")]
    assert len(made) == threads * per_thread
    assert len(set(made)) == len(made)
    assert set(made) <= set(listed)
    assert len(listed) == threads * per_thread + 1
    assert fake.operation_counts["SetSecret"] == threads * per_thread + 1
    values = {fake.get_secret_value(FAKE_VAULT_URL, "shared", version) for version in made}
    assert values == {f"{i}-{n}" for i in range(threads) for n in range(per_thread)}


# -- operations the fake does not implement yet -----------------------------------------------------------------------


def _unimplemented_request(fake: FakeKeyVault) -> tuple[str, str]:
    """A request for some route the fake lists but does not implement yet (chosen at run time: others fill them in)."""
    for route in fake.routes.routes:
        if route.handler is None and "vault" in route.kinds and at_least(DEFAULT_API_VERSION, route.since):
            path = route.template.replace("{version?}", "").replace("{version}", "0" * 32)
            return route.method, re.sub(r"\{\w+\}", "x1", path)
    pytest.skip("every route of the fake is implemented")


async def test_unimplemented_operation_raises_fake_vault_not_implemented_error(kv: VaultUnderTest) -> None:
    fake = kv.need_fake()
    method, path = _unimplemented_request(fake)
    body = b"{}" if method in ("PUT", "POST", "PATCH") else None
    with pytest.raises(FakeVaultNotImplementedError) as caught:
        await kv.call(kv.client.send_request, HttpRequest(method, path, content=body))
    assert caught.value.method == method
    assert caught.value.path == path
    assert f"{method} {path}" in str(caught.value)


async def test_placeholder_route_raises_fake_vault_not_implemented_error_through_the_sdk(kv: VaultUnderTest) -> None:
    # Whatever the fake implements by now, a catalogued-but-unimplemented operation must fail loudly.
    fake = kv.need_fake()
    fake.routes.extend([Route("GET", "/futurethings/{name}", "GetFutureThing", None)])
    with pytest.raises(FakeVaultNotImplementedError) as caught:
        await kv.call(kv.client.send_request, HttpRequest("GET", "/futurethings/t1"))
    assert (caught.value.method, caught.value.path) == ("GET", "/futurethings/t1")
    assert fake.operation_counts["GetFutureThing"] == 1


def test_unimplemented_key_operation_raises_through_key_client() -> None:
    keys = pytest.importorskip("azure.keyvault.keys")
    fake = FakeKeyVault()
    get_key = next(route for route in fake.routes.routes if route.operation == "GetKey")
    if get_key.handler is not None:
        pytest.skip("GetKey is implemented now")
    with (
        keys.KeyClient(FAKE_VAULT_URL, fake.credential(), transport=fake.transport()) as client,
        pytest.raises(FakeVaultNotImplementedError) as caught,
    ):
        client.get_key("k1")
    assert caught.value.method == "GET"
    assert caught.value.path == "/keys/k1/"
