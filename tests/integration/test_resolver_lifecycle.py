"""The resolver's private loop thread over its life: closing while resolves run, resolvers never closed, many made
and closed, many threads and event loops resolving at once."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from kvconfig import ResolutionError, SecretResolver
from kvconfig.fake import FakeAsyncTransport, FakeKeyVault
from kvconfig.resolve._loop import LoopThread

from .conftest import OTHER_VAULT, VAULT, ref


def _loop_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("kvconfig-resolver")]


def _wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_close_from_another_thread_while_a_resolve_waits_ends_that_resolve(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    fake.set_secret(VAULT, "db", "v")
    fake.latency = 2.0
    asked = threading.Event()
    fake.listeners.append(lambda _record: asked.set())  # told before the fake's latency is spent
    resolver = make_resolver()
    outcome: list[BaseException | str] = []

    def resolve() -> None:
        try:
            outcome.append(resolver.resolve({"DB": ref("db")})["DB"])
        except BaseException as exc:  # what the resolving thread gets is the point of the test
            outcome.append(exc)

    worker = threading.Thread(target=resolve)
    worker.start()
    assert asked.wait(10), "the resolve never reached the vault"  # it is now waiting on the fake's latency
    started = time.monotonic()
    resolver.close()
    worker.join(5)
    assert not worker.is_alive(), "resolve() never returned after close()"
    assert time.monotonic() - started < 5
    assert len(outcome) == 1
    assert isinstance(outcome[0], RuntimeError)
    assert "closed" in str(outcome[0])


async def test_aclose_while_a_resolve_async_waits_ends_that_resolve(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    fake.set_secret(VAULT, "db", "v")
    fake.latency = 2.0
    asked = threading.Event()
    fake.listeners.append(lambda _record: asked.set())  # told before the fake's latency is spent
    resolver = make_resolver()
    pending = asyncio.ensure_future(resolver.resolve_async({"DB": ref("db")}))
    assert await asyncio.to_thread(asked.wait, 10), "the resolve never reached the vault"
    await resolver.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await asyncio.wait_for(pending, 5)


def test_a_closed_loop_thread_never_starts_again() -> None:
    loop_thread = LoopThread()

    async def answer() -> int:
        return 42

    assert loop_thread.run(answer()) == 42
    loop_thread.close()
    coro = answer()
    with pytest.raises(RuntimeError, match="closed"):
        loop_thread.run(coro)
    assert _wait_until(lambda: not _loop_threads())


def test_resolvers_made_and_closed_in_a_loop_leave_no_thread_behind(fake: FakeKeyVault) -> None:
    fake.set_secret(VAULT, "db", "v")
    baseline = {thread.ident for thread in threading.enumerate()}
    for _ in range(20):
        # A sync credential: the resolver calls it in its loop's worker threads.
        with SecretResolver(fake.credential(), transport=fake.async_transport) as resolver:
            assert resolver.resolve({"DB": ref("db")})["DB"] == "v"
    # A token call's thread hands its result to the loop and then ends: it may still be finishing as close() returns.
    assert _wait_until(lambda: not [thread for thread in threading.enumerate() if thread.ident not in baseline])


class _ClosingTransport(FakeAsyncTransport):
    """Records that the SDK client closed it (an aiohttp transport left open warns "Unclosed client session")."""

    def __init__(self, fake: FakeKeyVault, closed: list[bool]) -> None:
        super().__init__(fake)
        self._closed = closed

    async def __aexit__(self, *args: object) -> None:
        self._closed.append(True)


def test_a_resolver_never_closed_closes_its_clients_and_stops_its_thread_when_collected(fake: FakeKeyVault) -> None:
    fake.set_secret(VAULT, "db", "v")
    fake.set_secret(OTHER_VAULT, "db", "w")
    before = len(_loop_threads())
    closed: list[bool] = []
    resolver = SecretResolver(fake.async_credential(), transport=lambda: _ClosingTransport(fake, closed))
    assert dict(resolver.resolve({"A": ref("db"), "B": ref("db", vault=OTHER_VAULT)})) == {"A": "v", "B": "w"}
    assert len(_loop_threads()) == before + 1
    del resolver
    gc.collect()
    assert _wait_until(lambda: len(_loop_threads()) == before), "the loop thread of a collected resolver still runs"
    assert closed == [True, True]


def test_sixteen_threads_resolving_the_same_references_share_in_flight_requests(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    for index in range(4):
        fake.set_secret(VAULT, f"s{index}", f"value-{index}")
    fake.latency = 0.2
    resolver = make_resolver()
    resolver.resolve({"WARM": ref("s0")})  # the challenge and the token, so the requests below all fan out
    resolver.invalidate()
    fake.operation_counts.clear()
    barrier = threading.Barrier(16)
    results: list[dict[str, object]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            results.append(dict(resolver.resolve({f"S{i}": ref(f"s{i}") for i in range(4)})))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(16)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    assert errors == []
    assert results == [{f"S{i}": f"value-{i}" for i in range(4)}] * 16
    assert fake.operation_counts["GetSecret"] == 4


def test_resolve_async_from_two_event_loops_at_once(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    fake.set_secret(VAULT, "db", "shared")
    fake.latency = 0.1
    resolver = make_resolver()
    results: list[str] = []
    errors: list[BaseException] = []

    def in_its_own_loop() -> None:
        try:
            resolved = asyncio.run(resolver.resolve_async({"DB": ref("db")}))
            results.append(resolved["DB"])
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=in_its_own_loop) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    assert errors == []
    assert results == ["shared", "shared"]


def test_close_from_a_change_listener_lets_that_refresh_finish_then_stops_the_thread(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    fake.set_secret(VAULT, "db", "v1")
    before = len(_loop_threads())
    resolver = make_resolver()
    resolver.resolve({"DB": ref("db")})
    fake.set_secret(VAULT, "db", "v2")
    resolver.add_listener(lambda _event: resolver.close())

    assert resolver.refresh()["DB"] == "v2"

    assert resolver.closed
    with pytest.raises(RuntimeError, match="closed"):
        resolver.resolve({"DB": ref("db")})
    assert _wait_until(lambda: len(_loop_threads()) == before)


class _FailingToCloseTransport(FakeAsyncTransport):
    async def __aexit__(self, *args: object) -> None:
        raise OSError("the connection pool would not close")


def test_a_resolver_collected_unclosed_whose_clients_fail_to_close_raises_nothing_and_stops(
    fake: FakeKeyVault,
) -> None:
    # filterwarnings=error turns an exception in a finalizer (an "unraisable" one) into a failure of this test.
    fake.set_secret(VAULT, "db", "v")
    before = len(_loop_threads())
    resolver = SecretResolver(fake.async_credential(), transport=lambda: _FailingToCloseTransport(fake))
    assert resolver.resolve({"DB": ref("db")})["DB"] == "v"
    del resolver
    gc.collect()
    assert _wait_until(lambda: len(_loop_threads()) == before)


def test_close_reports_clients_that_fail_to_close_and_still_stops_the_thread(fake: FakeKeyVault) -> None:
    fake.set_secret(VAULT, "db", "v")
    before = len(_loop_threads())
    resolver = SecretResolver(fake.async_credential(), transport=lambda: _FailingToCloseTransport(fake))
    assert resolver.resolve({"DB": ref("db")})["DB"] == "v"
    with pytest.raises(OSError, match="would not close"):
        resolver.close()
    assert resolver.closed
    assert _wait_until(lambda: len(_loop_threads()) == before)


class _BlockingCredential:
    """A sync credential whose token call blocks (a hung metadata endpoint, say) until the test releases it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.called = threading.Event()

    def get_token(self, *scopes: str, **kwargs: object) -> object:
        self.called.set()
        self.release.wait(60)
        raise RuntimeError("released by the test")


CLOSE_TIMEOUT = 1.0


def test_close_with_a_blocking_sync_credential_returns_within_close_timeout_and_stops_the_thread(
    fake: FakeKeyVault,
) -> None:
    # Before: close() waited for the loop's worker threads, which a blocked credential call never frees: it took
    # 10 s and left the loop thread running.
    credential = _BlockingCredential()
    before = len(_loop_threads())
    resolver = SecretResolver(credential, transport=fake.async_transport, close_timeout=CLOSE_TIMEOUT)
    outcome: list[BaseException] = []

    def resolve() -> None:
        try:
            resolver.resolve({"DB": ref("db")})
        except BaseException as exc:  # what the resolving thread gets is part of the point
            outcome.append(exc)

    worker = threading.Thread(target=resolve)
    worker.start()
    try:
        assert credential.called.wait(30), "the resolve never asked the credential"
        started = time.monotonic()
        resolver.close()
        elapsed = time.monotonic() - started
        worker.join(5)

        assert elapsed < CLOSE_TIMEOUT + 2  # before: 10 s
        # The loop thread ends while the call is still blocked (it is released only below); close() keeps a tenth of
        # its timeout for that, which a busy machine can overrun by a moment, so wait for it with a deadline.
        assert _wait_until(lambda: len(_loop_threads()) == before), "the loop thread waits on the blocked call"
        assert not worker.is_alive()
        assert isinstance(outcome[0], RuntimeError)
        assert "closed" in str(outcome[0])
    finally:
        credential.release.set()


def test_close_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="close_timeout"):
        SecretResolver(close_timeout=0)


_EXIT_SCRIPT = """
import time
from kvconfig import ResolutionError, SecretResolver
from kvconfig.fake import FakeKeyVault

class HungCredential:
    def get_token(self, *scopes, **kwargs):
        time.sleep(30)  # a metadata endpoint that never answers
        raise RuntimeError("too late")

fake = FakeKeyVault()
with SecretResolver(HungCredential(), transport=fake.async_transport, timeout=0.5, close_timeout=1.0) as resolver:
    try:
        resolver.resolve({"DB": "@Microsoft.KeyVault(VaultName=contoso;SecretName=db)"})
    except ResolutionError as error:
        print(error.failures[0].status, flush=True)
"""


def test_a_hung_sync_credential_does_not_hold_up_the_interpreter_exit() -> None:
    # Before: the call ran in a thread pool worker, and the interpreter joins those at exit: 30 s.
    # Timed from the child's answer to its exit, so the child's imports (seconds on a busy machine) do not count.
    process = subprocess.Popen(
        [sys.executable, "-c", _EXIT_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        status = process.stdout.readline().strip()
        answered = time.monotonic()
        _, stderr = process.communicate(timeout=60)
        exiting = time.monotonic() - answered
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    assert status == "FetchTimedOut"
    assert exiting < 10  # close_timeout (1 s), then the exit; before: the rest of the credential's 30 s


class _HungLookupTransport(FakeAsyncTransport):
    """A transport whose connection waits on a blocking call in the loop's worker threads (as aiohttp's DNS lookup
    does through ``loop.getaddrinfo``), and that call hangs until the test releases it."""

    def __init__(self, fake: FakeKeyVault, release: threading.Event, called: threading.Event) -> None:
        super().__init__(fake)
        self._release = release
        self._called = called

    async def send(self, request: object, **kwargs: object) -> object:
        self._called.set()
        await asyncio.get_running_loop().run_in_executor(None, self._release.wait, 60)
        return await super().send(request, **kwargs)


def test_close_does_not_wait_past_close_timeout_for_a_hung_worker_thread(
    fake: FakeKeyVault, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: close() waited for the loop's worker threads (loop.shutdown_default_executor): 10 s, then returned
    # with the loop thread still running.
    release, called = threading.Event(), threading.Event()
    before = len(_loop_threads())
    resolver = SecretResolver(
        fake.async_credential(),
        transport=lambda: _HungLookupTransport(fake, release, called),
        timeout=0.3,
        close_timeout=CLOSE_TIMEOUT,
    )
    try:
        with pytest.raises(ResolutionError):
            resolver.resolve({"DB": ref("db")})
        assert called.is_set()
        started = time.monotonic()
        resolver.close()
        elapsed = time.monotonic() - started

        assert elapsed < CLOSE_TIMEOUT + 2  # before: 10 s
        # The loop thread ends while the call is still blocked (it is released only below); close() keeps a tenth of
        # its timeout for that, which a busy machine can overrun by a moment, so wait for it with a deadline.
        assert _wait_until(lambda: len(_loop_threads()) == before), "the loop thread waits on the blocked call"
        assert any("not waiting for it past the close timeout" in record.getMessage() for record in caplog.records)
    finally:
        release.set()
