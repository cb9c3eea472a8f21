"""The resolver's requests and its life are bounded: no redirect is followed off the vault, ``timeout`` bounds a whole
resolve (the first-request gate and the concurrency bound included), and ``close()`` returns within its
``close_timeout`` with the loop thread gone, even while a sync credential blocks. All through the official async SDK
on the fake."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from kvconfig import ResolutionError, SecretResolver
from kvconfig.fake import FakeAsyncTransport, FakeKeyVault
from kvconfig.fake.core.router import Outcome
from kvconfig.fake.core.wire import FakeRequest, FakeResponse, json_response
from kvconfig.fake.simulation import VirtualClock, VirtualTimeLoop

from .conftest import VAULT, ref

ATTACKER = "https://attacker.example"
TIMEOUT = 1.0


class RedirectingVault:
    """The fake, except that an authenticated Get Secret on it answers ``307`` to a host the attacker runs, which
    serves a secret bundle to anyone (it records whether a token reached it)."""

    def __init__(self, fake: FakeKeyVault, status: int = 307) -> None:
        self._fake = fake
        self._status = status
        self.redirects = 0
        self.attacker_requests: list[FakeRequest] = []

    @property
    def latency(self) -> float:
        return self._fake.latency

    def pass_time(self, seconds: float) -> None:
        self._fake.pass_time(seconds)

    def dispatch(self, request: FakeRequest) -> Outcome:
        if request.url.startswith(ATTACKER):
            self.attacker_requests.append(request)
            bundle = {"value": "attacker-chosen-value", "id": f"{ATTACKER}/secrets/db/{'a' * 32}", "attributes": {}}
            return Outcome(json_response(200, bundle))
        if request.method == "GET" and "/secrets/" in request.url and "authorization" in _lower(request.headers):
            self.redirects += 1
            location = f"{ATTACKER}/secrets/db?{request.url.split('?', 1)[1]}"
            return Outcome(FakeResponse(self._status, {"Location": location}))
        return self._fake.dispatch(request)


def _lower(headers: Any) -> set[str]:
    return {name.lower() for name in headers}


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_off_the_vault_host_fails_the_reference_and_is_not_followed(fake: FakeKeyVault, status: int) -> None:
    fake.set_secret(VAULT, "db", "the-real-value")
    vault = RedirectingVault(fake, status)

    resolver = SecretResolver(fake.async_credential(), transport=lambda: FakeAsyncTransport(vault))
    with resolver, pytest.raises(ResolutionError) as caught:
        resolver.resolve({"DB": ref("db")}, origins={"DB": "app.env:1"})

    assert vault.redirects == 1
    assert vault.attacker_requests == []  # not followed: neither the request nor a token went there
    (failure,) = caught.value.failures
    assert failure.status == "OtherReasons"
    assert failure.detail == (
        f"the vault answered {status} (a redirect to another location); Key Vault never redirects, so kvconfig does "
        "not follow it"
    )
    assert "attacker-chosen-value" not in str(caught.value)


def test_check_reports_a_redirect_with_its_status_and_detail(fake: FakeKeyVault) -> None:
    fake.set_secret(VAULT, "db", "the-real-value")
    vault = RedirectingVault(fake)

    with SecretResolver(fake.async_credential(), transport=lambda: FakeAsyncTransport(vault)) as resolver:
        (status,) = resolver.check({"DB": ref("db")})

    assert (status.status, vault.attacker_requests) == ("OtherReasons", [])
    assert "redirect" in status.detail


@pytest.mark.parametrize(
    "options",
    [{"permit_redirects": True}, {"redirect_policy": object()}],
    ids=["permit_redirects", "redirect_policy"],
)
def test_client_options_that_would_follow_redirects_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="Key Vault never redirects"):
        SecretResolver(client_options=options)


def test_permit_redirects_false_is_accepted(fake: FakeKeyVault) -> None:
    fake.set_secret(VAULT, "db", "plain-read")
    with SecretResolver(
        fake.async_credential(), transport=fake.async_transport, client_options={"permit_redirects": False}
    ) as resolver:
        assert resolver.resolve({"DB": ref("db")})["DB"] == "plain-read"


class HangingTransport(FakeAsyncTransport):
    """A vault that never answers (a black-holed address): every request, the 401 challenge included, hangs."""

    def __init__(self, fake: FakeKeyVault, started: list[float]) -> None:
        super().__init__(fake)
        self._started = started

    async def send(self, request: Any, **kwargs: Any) -> Any:
        self._started.append(time.monotonic())
        await asyncio.sleep(60)
        raise AssertionError("a hanging vault never answers")


@pytest.mark.parametrize("concurrency", [32, 2])
def test_timeout_bounds_the_whole_resolve_when_the_vault_hangs(
    fake: FakeKeyVault, concurrency: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: the first request went alone (the first-request gate) and the others only started their own timeout
    # after it gave up, so 10 references took two timeouts, and more with a tight concurrency bound.
    # The resolver's loop runs on simulated time (it jumps over every wait), so the measure is exact on any machine.
    clock = VirtualClock()
    monkeypatch.setattr(asyncio, "new_event_loop", lambda: VirtualTimeLoop(clock))
    started: list[float] = []
    settings = {f"S{index}": ref(f"secret-{index}") for index in range(10)}
    resolver = SecretResolver(
        fake.async_credential(),
        transport=lambda: HangingTransport(fake, started),
        timeout=TIMEOUT,
        concurrency=concurrency,
    )
    with resolver:
        began = clock.monotonic()
        with pytest.raises(ResolutionError) as caught:
            resolver.resolve(settings)
        elapsed = clock.monotonic() - began

    assert elapsed == pytest.approx(TIMEOUT)
    assert {failure.status for failure in caught.value.failures} == {"FetchTimedOut"}
    assert len(caught.value.failures) == 10
    assert started  # the vault was asked (and never answered)


def test_a_resolve_that_waits_behind_another_resolves_first_request_keeps_its_own_deadline(
    fake: FakeKeyVault,
) -> None:
    # Real time (two callers on two threads): a timeout long enough that a busy machine's overhead (half a second
    # seen on a starved core) stays well below the timeout the behaviour before the fix would add.
    timeout, slack = 2.0, 1.5
    started: list[float] = []
    resolver = SecretResolver(
        fake.async_credential(), transport=lambda: HangingTransport(fake, started), timeout=timeout
    )
    failures: list[ResolutionError] = []

    def first_resolve() -> None:
        try:
            resolver.resolve({"A": ref("a")})
        except ResolutionError as error:
            failures.append(error)

    with resolver:
        first = threading.Thread(target=first_resolve)
        first.start()
        # A is the vault's first request, hanging; B must wait behind it.
        deadline = time.monotonic() + 10
        while not started and time.monotonic() < deadline:
            time.sleep(0.005)
        assert started, "the first resolve never reached the vault"
        began = time.monotonic()
        with pytest.raises(ResolutionError) as caught:
            resolver.resolve({"B": ref("b")})
        elapsed = time.monotonic() - began
        first.join()

    assert elapsed < timeout + slack  # before: the rest of A's timeout, then B's own (about twice the timeout)
    assert caught.value.failures[0].status == "FetchTimedOut"
    assert [error.failures[0].status for error in failures] == ["FetchTimedOut"]
