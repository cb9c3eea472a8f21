"""Fixtures shared by every test folder: a real ``redis-server`` (skipped where Debian's ``redis-server`` is not
installed), used by the fleet's shared tier tests and the example apps' Redis tier tests; witnesses of what
reached azure-identity and azure-core's default transport (tokens asked for, requests sent), for the tests proving
that an untrusted host gets neither; the Hypothesis profile (no deadline on a busy machine)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Property tests judge behaviour, not speed: on a loaded CI machine one slow example (a descheduled thread, a garbage
# collection) must not fail a run through Hypothesis's 200 ms deadline or its too-slow health check.
# The same examples on every run, so a run's verdict is the code's, not the draw's; explore new ones on purpose with
# `pytest --hypothesis-profile=explore` (and keep any failure it finds as an @example).
settings.register_profile("kvconfig", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
settings.register_profile("explore", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False)
settings.load_profile("kvconfig")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_redis(binary: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int] | None:
    """redis-server on a port that was free a moment ago; None when it exited (another process took the port)."""
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
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1)
    try:
        deadline = time.monotonic() + 30
        while process.poll() is None:
            try:
                answering: int = client.info("server")["process_id"]
            except redis.RedisError:  # not listening yet, or something else holds the port
                if time.monotonic() > deadline:
                    raise TimeoutError("redis-server did not answer within 30 s") from None
                time.sleep(0.05)
                continue
            if answering == process.pid:  # this redis-server, not another one that holds the port
                return process, port
            break
        _stop(process)
        return None
    except BaseException:
        _stop(process)
        raise
    finally:
        client.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port, in a temporary directory; its URL. Stopped after the session."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    workdir: Path = tmp_path_factory.mktemp("redis")
    # A port chosen free can be taken before redis-server binds it (the bind-then-release race): then try another.
    for _ in range(5):
        try:
            started = _start_redis(binary, workdir)
        except TimeoutError as exc:
            pytest.fail(str(exc))
        if started is not None:
            break
    else:
        pytest.fail("redis-server exited at start five times")
    process, port = started
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's redis-server, emptied before each test."""
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    return redis_server


class RecordingCredential:
    """A token credential recording the scopes of every token asked of it (its tokens open nothing)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.calls.append(scopes)
        return AccessToken("recorded-token-opens-nothing", int(time.time()) + 3600)

    def close(self) -> None:
        pass


@pytest.fixture
def recording_credential(monkeypatch: pytest.MonkeyPatch) -> RecordingCredential:
    """A :class:`RecordingCredential`, also what azure-identity's ``DefaultAzureCredential()`` makes meanwhile (the
    credential the CLI and the library make for an endpoint)."""
    import azure.identity

    credential = RecordingCredential()
    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", lambda *args, **kwargs: credential)
    return credential


@pytest.fixture
def sent_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URL of every request azure-core's default (requests) transport is asked to send meanwhile; none leaves:
    each fails as a refused connection does (not retried: azure-core retries only its own errors)."""
    from azure.core.pipeline.transport import RequestsTransport

    sent: list[str] = []

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        sent.append(str(request.url))
        raise ConnectionRefusedError("recorded, not sent")

    monkeypatch.setattr(RequestsTransport, "send", send)
    return sent


@pytest.fixture
def provider_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The App Configuration provider's ``load()`` keeps a failing process up for five seconds of wall time before it
    raises (its guard against restart loops); a test of the failure itself does not wait for that guard."""
    provider_utils = pytest.importorskip("azure.appconfiguration.provider._utils")
    monkeypatch.setattr(provider_utils, "min_uptime", 0)
