"""``FakeKeyVault.patch()`` over its life: nested and overlapping patches (of one fake or of two), stopped in any
order, decorating generators, and requests in flight on other threads while patches come and go."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import AsyncIterator, Iterator

import pytest
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential
from azure.identity.aio import DefaultAzureCredential as AsyncDefaultAzureCredential
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets import aio as secrets_aio

from kvconfig.fake import FakeKeyVault

from .test_patch import _snapshot

VAULT = "https://patched.vault.azure.net"


def _read(name: str = "s1") -> str | None:
    with SecretClient(VAULT, DefaultAzureCredential(), retry_total=0) as client:
        return client.get_secret(name).value


def _two_fakes() -> tuple[FakeKeyVault, FakeKeyVault]:
    first, second = FakeKeyVault(), FakeKeyVault()
    first.set_secret(VAULT, "s1", "from-first")
    second.set_secret(VAULT, "s1", "from-second")
    return first, second


def test_nested_patch_of_another_fake_wins_inside_and_hands_back_to_the_outer_one() -> None:
    first, second = _two_fakes()
    before = _snapshot()
    with first.patch():
        assert _read() == "from-first"
        with second.patch():
            assert _read() == "from-second"
        assert _read() == "from-first"
    assert _snapshot() == before


def test_overlapping_patches_stopped_out_of_order_restore_everything() -> None:
    first, second = _two_fakes()
    before = _snapshot()
    outer, inner = first.patch().start(), second.patch().start()
    outer.stop()  # the older one first: the newer one stays in charge
    assert _read() == "from-second"
    inner.stop()
    assert _snapshot() == before


def test_overlapping_patches_of_one_fake_stopped_out_of_order_restore_everything() -> None:
    fake = FakeKeyVault()
    fake.set_secret(VAULT, "s1", "v")
    before = _snapshot()
    outer, inner = fake.patch(identity="outer").start(), fake.patch(identity="inner").start()
    outer.stop()
    assert _read() == "v"
    assert fake.audit.records(operation="SecretGet")[-1].caller == "inner"
    inner.stop()
    assert _snapshot() == before


def test_a_stopped_patch_can_start_again() -> None:
    fake = FakeKeyVault()
    fake.set_secret(VAULT, "s1", "again")
    before = _snapshot()
    patch = fake.patch()
    for _ in range(3):
        with patch:
            assert _read() == "again"
        assert _snapshot() == before


def test_patch_decorating_a_generator_is_active_while_it_runs() -> None:
    fake = FakeKeyVault()
    fake.set_secret(VAULT, "s1", "generated")
    before = _snapshot()

    @fake.patch()
    def values() -> Iterator[str | None]:
        yield _read()
        yield _read()

    produced = values()
    assert _snapshot() == before  # nothing is patched until the generator runs
    assert list(produced) == ["generated", "generated"]
    assert _snapshot() == before


async def test_patch_decorating_an_async_generator_is_active_while_it_runs() -> None:
    fake = FakeKeyVault()
    fake.set_secret(VAULT, "s1", "generated-async")
    before = _snapshot()

    @fake.patch()
    async def values() -> AsyncIterator[str | None]:
        async with (
            AsyncDefaultAzureCredential() as credential,
            secrets_aio.SecretClient(VAULT, credential, retry_total=0) as client,
        ):
            yield (await client.get_secret("s1")).value

    assert [value async for value in values()] == ["generated-async"]
    assert _snapshot() == before


def test_patch_decorating_a_generator_restores_when_it_is_closed_early() -> None:
    fake = FakeKeyVault()
    fake.set_secret(VAULT, "s1", "early")
    before = _snapshot()

    @fake.patch()
    def values() -> Iterator[str | None]:
        while True:
            yield _read()

    produced = values()
    assert next(produced) == "early"
    produced.close()
    assert _snapshot() == before


def test_requests_in_flight_on_other_threads_while_another_fakes_patch_comes_and_goes() -> None:
    # Patching is process-wide: while the other fake's patch is active it serves every thread (and knows no secret
    # s1); once it stops, the same client reaches the first fake again. Nothing else, and nothing left patched.
    fake = FakeKeyVault(latency=0.005)
    fake.set_secret(VAULT, "s1", "steady")
    other = FakeKeyVault()
    before = _snapshot()
    outcomes: list[str] = []
    stop = threading.Event()
    with fake.patch(), SecretClient(VAULT, DefaultAzureCredential(), retry_total=0) as client:
        client.get_secret("s1")  # challenge and token

        def read() -> None:
            while not stop.is_set():
                try:
                    outcomes.append(str(client.get_secret("s1").value))
                except ResourceNotFoundError:
                    outcomes.append("not found")
                except ClientAuthenticationError as exc:
                    # A fake rejects the other fake's tokens (a foreign signing key is a bad signature, as a foreign
                    # issuer is for the service). The SDK answers a 401 by fetching a new token and resending, so
                    # this only surfaces when a patch flips again between that token and the resend: a genuine
                    # race of switching fakes under live traffic, not a leak of patch state.
                    outcomes.append("unauthorized" if exc.status_code == 401 else repr(exc))
                except AttributeError as exc:
                    # The same race inside the SDK: azure-core's bearer policy and Key Vault's challenge policy built on
                    # it are not thread-safe: a 401 on one thread clears the client's cached token while another thread
                    # reads it ('NoneType' ... 'token').
                    place = traceback.extract_tb(exc.__traceback__)[-1].filename
                    in_sdk_auth = place.endswith(("policies/_authentication.py", "_shared/challenge_auth_policy.py"))
                    outcomes.append("unauthorized" if in_sdk_auth else repr(exc))
                except Exception as exc:  # anything else is the failure this test looks for
                    outcomes.append(repr(exc))

        readers = [threading.Thread(target=read) for _ in range(4)]
        for reader in readers:
            reader.start()
        for _ in range(50):
            with other.patch():
                time.sleep(0.001)
            time.sleep(0.001)
        # The readers reach the first fake again now that the other's patch is gone: wait for one of them to say so
        # (on a busy machine, a reader may not have finished a single request during the flips).
        flips_done, deadline = len(outcomes), time.monotonic() + 30
        while "steady" not in outcomes[flips_done:] and time.monotonic() < deadline:
            time.sleep(0.005)
        stop.set()
        for reader in readers:
            reader.join(10)
        assert client.get_secret("s1").value == "steady"
    assert _snapshot() == before
    assert set(outcomes) <= {"steady", "not found", "unauthorized"}
    assert "steady" in outcomes[flips_done:]


@pytest.mark.parametrize("order", ["lifo", "fifo"])
def test_patches_started_and_stopped_from_different_threads_restore_everything(order: str) -> None:
    first, second = _two_fakes()
    before = _snapshot()
    patches = [first.patch(), second.patch()]
    for patch in patches:
        worker = threading.Thread(target=patch.start)
        worker.start()
        worker.join()
    for patch in reversed(patches) if order == "lifo" else patches:
        worker = threading.Thread(target=patch.stop)
        worker.start()
        worker.join()
    assert _snapshot() == before


def test_credentials_made_under_a_patch_close_harmlessly_after_it_ends() -> None:
    # A resolver or client made under the patch and closed later (a fixture's teardown, garbage collection).
    fake = FakeKeyVault()
    with fake.patch():
        sync_credential = DefaultAzureCredential()
    sync_credential.close()


async def test_async_credentials_made_under_a_patch_close_harmlessly_after_it_ends() -> None:
    fake = FakeKeyVault()
    with fake.patch():
        credential = AsyncDefaultAzureCredential()
    await credential.close()
    async with credential:
        pass
