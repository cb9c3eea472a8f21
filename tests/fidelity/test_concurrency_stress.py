"""The fake under threads and asyncio, through the official SDK: invariants that must hold however requests
interleave (no lost versions, unique ids, one audit record per request, events once, exact throttle budgets)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets import aio as secrets_aio

from kvconfig.fake import FakeKeyVault, ManualClock
from kvconfig.fake.serve.transport import FakeAsyncTransport, FakeTransport

from .support import FAKE_VAULT_URL

THREADS = 16


@pytest.fixture(autouse=True)
def _switch_often() -> Iterator[None]:
    # Thread switches every few microseconds instead of every 5 ms: interleavings a loaded CI machine would produce.
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


class _CountingTransport(FakeTransport):
    """Counts the requests the SDK really sent (challenge requests and retries included)."""

    def __init__(self, fake: FakeKeyVault) -> None:
        super().__init__(fake)
        self.sent = 0
        self._lock = threading.Lock()

    def send(self, request: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.sent += 1
        return super().send(request, **kwargs)


class _CountingAsyncTransport(FakeAsyncTransport):
    def __init__(self, fake: FakeKeyVault) -> None:
        super().__init__(fake)
        self.sent = 0

    async def send(self, request: Any, **kwargs: Any) -> Any:
        self.sent += 1
        return await super().send(request, **kwargs)


def _run_threads(count: int, work: Callable[[int], None]) -> list[str]:
    """Run ``work(index)`` on ``count`` threads started together; the tracebacks of those that raised."""
    barrier = threading.Barrier(count)
    errors: list[str] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as exc:  # surfaced by the caller
            errors.append("".join(traceback.format_exception(exc)))

    workers = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert not any(worker.is_alive() for worker in workers), "a worker thread hung"
    return errors


def _expected(exc: BaseException) -> bool:
    """The service errors mixed operations on shared names legitimately meet: 404 and 409 (deleted / not deleted)."""
    return isinstance(exc, HttpResponseError) and exc.status_code in (404, 409)


def test_sixteen_threads_mixing_set_get_delete_recover_on_shared_names_keep_every_version() -> None:
    fake = FakeKeyVault()
    transport = _CountingTransport(fake)
    names = [f"shared-{n}" for n in range(4)]
    made: dict[str, list[str]] = {name: [] for name in names}
    made_lock = threading.Lock()
    unexpected: list[BaseException] = []
    with SecretClient(FAKE_VAULT_URL, fake.credential(), transport=transport, retry_total=0) as client:
        # The challenge, the token and each operation's SDK models once (see the keys test below), then the threads.
        client.set_secret("warm-up", "v")
        client.get_secret("warm-up")
        client.update_secret_properties("warm-up", tags={"by": "main"})
        list(client.list_properties_of_secret_versions("warm-up"))
        client.begin_delete_secret("warm-up").wait()
        client.begin_recover_deleted_secret("warm-up").wait()

        def work(index: int) -> None:
            rng = random.Random(index)
            for step in range(30):
                name = rng.choice(names)
                action = rng.choice(("set", "set", "get", "delete", "recover", "update", "versions"))
                try:
                    if action == "set":
                        secret = client.set_secret(name, f"{index}-{step}")
                        with made_lock:
                            made[name].append(secret.properties.version or "")
                    elif action == "get":
                        client.get_secret(name)
                    elif action == "delete":
                        client.begin_delete_secret(name)  # not waited for: the fake finishes deletes at once
                    elif action == "recover":
                        client.begin_recover_deleted_secret(name)
                    elif action == "update":
                        client.update_secret_properties(name, tags={"by": str(index)})
                    else:
                        list(client.list_properties_of_secret_versions(name))
                except Exception as exc:
                    if not _expected(exc):
                        unexpected.append(exc)

        errors = _run_threads(THREADS, work)
    assert errors == []
    assert unexpected == []
    every = [version for versions in made.values() for version in versions]
    assert len(every) == len(set(every)), "two sets returned the same version id"
    vault = fake.vault(FAKE_VAULT_URL)
    for name, versions in made.items():
        obj = vault.secrets.get(name) or vault.secrets.get_deleted(name)
        kept = set(obj.versions) if obj is not None else set()
        assert set(versions) <= kept, f"versions of {name} were lost"
    assert len(fake.audit) == transport.sent
    request_ids = [event.correlation_id for event in fake.audit]
    assert len(set(request_ids)) == len(request_ids)


async def test_two_hundred_concurrent_async_gets_each_get_their_secret_and_one_audit_record() -> None:
    fake = FakeKeyVault()
    for n in range(200):
        fake.set_secret(FAKE_VAULT_URL, f"s{n}", f"value-{n}")
    transport = _CountingAsyncTransport(fake)
    async with (
        fake.async_credential() as credential,
        secrets_aio.SecretClient(FAKE_VAULT_URL, credential, transport=transport, retry_total=0) as client,
    ):
        secrets = await asyncio.gather(*(client.get_secret(f"s{n}") for n in range(200)))
    assert [secret.value for secret in secrets] == [f"value-{n}" for n in range(200)]
    assert len(fake.audit) == transport.sent
    assert len(fake.audit.records(operation="GetSecret", status=200)) == 200
    assert len({event.correlation_id for event in fake.audit}) == transport.sent


def test_threads_first_using_the_same_vault_share_one_vault() -> None:
    for _round in range(20):
        fake = FakeKeyVault()
        url = "https://first-use.vault.azure.net"

        def work(index: int, fake: FakeKeyVault = fake, url: str = url) -> None:
            with SecretClient(url, fake.credential(), transport=fake.transport(), retry_total=0) as client:
                client.set_secret(f"s{index}", "v")

        assert _run_threads(8, work) == []
        assert len(fake.vaults) == 1
        assert sorted(obj.name for obj in fake.vault(url).secrets) == sorted(f"s{i}" for i in range(8))


def test_keys_made_while_other_threads_first_read_keys_are_all_kept() -> None:
    pytest.importorskip("azure.keyvault.keys")
    from azure.keyvault.keys import KeyClient

    # The SDK's models set up their class-level field tables on first use, which is not safe across threads: done
    # here once, so the threads below test the fake rather than that.
    warm = FakeKeyVault()
    with KeyClient(FAKE_VAULT_URL, warm.credential(), transport=warm.transport()) as client:
        client.get_key(client.create_ec_key("warm-up").name)
    for _round in range(10):
        fake = FakeKeyVault()
        url = f"https://keys-first-use-{_round}.vault.azure.net"
        fake.vault(url)

        def work(index: int, fake: FakeKeyVault = fake, url: str = url) -> None:
            with KeyClient(url, fake.credential(), transport=fake.transport(), retry_total=0) as client:
                if index % 2:
                    client.create_ec_key(f"k{index}")
                else:
                    with contextlib.suppress(ResourceNotFoundError):
                        client.get_key(f"k{index + 1}")

        assert _run_threads(8, work) == []
        with KeyClient(url, fake.credential(), transport=fake.transport()) as client:
            assert sorted(p.name for p in client.list_properties_of_keys()) == [f"k{i}" for i in (1, 3, 5, 7)]


def test_near_expiry_and_expired_events_fire_once_under_concurrent_requests_and_ticks() -> None:
    clock = ManualClock(1_800_000_000)
    fake = FakeKeyVault(clock=clock)
    for n in range(20):
        fake.set_secret(FAKE_VAULT_URL, f"s{n}", "v", expires_on=int(clock.now()) + 40 * 86400 + n)
    got: list[tuple[str, str]] = []
    fake.events.subscribe(lambda event: got.append((event.subject, event.event_type)))
    # Tokens that outlive the jumps below: an expired one would send every thread through the SDK's 401 handling at
    # once, which is not safe for one client shared by threads (azure-core's BearerTokenCredentialPolicy).
    credential = fake.credential(lifetime=365 * 86400)
    with SecretClient(FAKE_VAULT_URL, credential, transport=fake.transport(), retry_total=0) as client:
        client.get_secret("s0")  # challenge and token before the clock moves
        for days in (15, 30):  # into the NearExpiry window, then past every exp
            clock.advance(days=days)

            def work(index: int) -> None:
                for _ in range(5):
                    if index % 4 == 0:
                        fake.tick()
                    else:
                        try:
                            client.get_secret(f"s{index}")
                        except HttpResponseError as exc:  # an expired secret answers 403
                            if exc.status_code != 403:
                                raise

            assert _run_threads(THREADS, work) == []
    expected = {(f"s{n}", f"Microsoft.KeyVault.Secret{what}") for n in range(20) for what in ("NearExpiry", "Expired")}
    assert sorted(got) == sorted(expected)


def test_throttle_grants_exactly_the_budget_of_one_window_to_concurrent_threads() -> None:
    clock = ManualClock(1_800_000_000)
    fake = FakeKeyVault(clock=clock)
    fake.set_secret(FAKE_VAULT_URL, "s", "v")
    fake.throttle(FAKE_VAULT_URL, limit=50)
    outcomes: list[int] = []
    lock = threading.Lock()
    with SecretClient(FAKE_VAULT_URL, fake.credential(), transport=fake.transport(), retry_total=0) as client:

        def work(index: int) -> None:
            for _ in range(10):
                try:
                    client.get_secret("s")
                    status = 200
                except HttpResponseError as exc:
                    status = exc.status_code or 0
                with lock:
                    outcomes.append(status)

        assert _run_threads(THREADS, work) == []
    assert outcomes.count(200) == 50
    assert outcomes.count(429) == THREADS * 10 - 50


def test_role_assignments_changing_while_requests_run_answer_200_or_403_only() -> None:
    fake = FakeKeyVault()
    vault = fake.vault(FAKE_VAULT_URL)
    fake.set_secret(FAKE_VAULT_URL, "s", "v")
    vault.assign_role("admin", "Key Vault Administrator")
    stop = threading.Event()
    statuses: list[int] = []
    lock = threading.Lock()

    def flip() -> None:
        while not stop.is_set():
            assignment = vault.assign_role("app", "Key Vault Secrets User", scope="/secrets/s")
            assignment.remove()

    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        with SecretClient(FAKE_VAULT_URL, fake.credential("app"), transport=fake.transport(), retry_total=0) as client:

            def work(index: int) -> None:
                for _ in range(10):
                    try:
                        client.get_secret("s")
                        status = 200
                    except HttpResponseError as exc:
                        status = exc.status_code or 0
                    with lock:
                        statuses.append(status)

            assert _run_threads(8, work) == []
    finally:
        stop.set()
        flipper.join()
    assert set(statuses) <= {200, 403}
    assert len(statuses) == 80
    denied = [event for event in fake.audit.records(operation="SecretGet", status=403) if event.caller == "app"]
    allowed = [event for event in fake.audit.records(operation="SecretGet", status=200) if event.caller == "app"]
    assert len(denied) + len(allowed) == 80
    assert all(event.properties["isRbacAuthorized"] is False for event in denied)
    assert all(event.properties["isRbacAuthorized"] is True for event in allowed)


def test_audit_log_read_and_resized_while_threads_record_stays_within_its_bound() -> None:
    fake = FakeKeyVault()
    fake.set_secret(FAKE_VAULT_URL, "s", "v")
    fake.audit.max_records = 50
    stop = threading.Event()
    seen: list[int] = []

    def read() -> None:
        while not stop.is_set():
            seen.append(len(fake.audit.records()))
            fake.audit.max_records = random.choice((30, 50))

    transport = _CountingTransport(fake)
    reader = threading.Thread(target=read)
    reader.start()
    try:
        with SecretClient(FAKE_VAULT_URL, fake.credential(), transport=transport, retry_total=0) as client:

            def work(index: int) -> None:
                for _ in range(20):
                    client.get_secret("s")

            assert _run_threads(8, work) == []
    finally:
        stop.set()
        reader.join()
    fake.audit.max_records = 50
    assert max(seen) <= 50
    assert len(fake.audit) + fake.audit.dropped == transport.sent
