"""Fixtures of the fleet tests: a fake vault on simulated time, resolvers whose loop runs on that time, and a real
``redis-server`` (skipped where Debian's ``redis-server`` is not installed)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kvconfig import SecretResolver
from kvconfig.fake import FakeKeyVault
from kvconfig.fake.simulation import SimulatedAsyncTransport, VirtualClock, VirtualTimeLoop

VAULT = "contoso"
VAULT_URL = "https://contoso.vault.azure.net"


def ref(name: str) -> str:
    return f"@Microsoft.KeyVault(VaultName={VAULT};SecretName={name})"


class CountingTransport(SimulatedAsyncTransport):
    """The simulated transport, counting the status codes the vault answered (an observer of the wire)."""

    def __init__(self, fake: FakeKeyVault, statuses: Counter[int]) -> None:
        super().__init__(fake)
        self._statuses = statuses

    async def send(self, request: Any, **kwargs: Any) -> Any:
        response = await super().send(request, **kwargs)
        self._statuses[response.status_code] += 1
        return response


@pytest.fixture
def vclock() -> VirtualClock:
    return VirtualClock(start=1_750_000_000.0)


@pytest.fixture
def virtual_loops(monkeypatch: pytest.MonkeyPatch, vclock: VirtualClock) -> VirtualClock:
    """Every event loop made from here on (the resolvers' private loops) runs on the simulated clock."""
    monkeypatch.setattr(asyncio, "new_event_loop", lambda: VirtualTimeLoop(vclock))
    return vclock


@pytest.fixture
def sim_fake(vclock: VirtualClock) -> FakeKeyVault:
    return FakeKeyVault(clock=vclock, latency=0.01)


@pytest.fixture
def statuses() -> Counter[int]:
    return Counter()


@pytest.fixture
def make_sim_resolver(
    sim_fake: FakeKeyVault, statuses: Counter[int], virtual_loops: VirtualClock
) -> Iterator[Callable[..., SecretResolver]]:
    made: list[SecretResolver] = []

    def build(**options: Any) -> SecretResolver:
        options.setdefault("transport", lambda: CountingTransport(sim_fake, statuses))
        options.setdefault("clock", virtual_loops.now)
        options.setdefault("monotonic", virtual_loops.monotonic)
        resolver = SecretResolver(sim_fake.async_credential(), **options)
        made.append(resolver)
        return resolver

    yield build
    for resolver in made:
        resolver.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port, in a temporary directory; its URL. Stopped after the session."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    workdir: Path = tmp_path_factory.mktemp("redis")
    port = _free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(workdir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's redis-server, emptied before each test."""
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    return redis_server
