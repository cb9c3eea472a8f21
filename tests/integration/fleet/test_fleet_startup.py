"""Start-up under throttling, and the per-vault budget: a throttled fake vault on simulated time."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

import pytest

from kvconfig import SecretResolver
from kvconfig.errors import ResolutionError
from kvconfig.fake import FakeKeyVault
from kvconfig.fake.simulation import VirtualClock
from kvconfig.fleet import Fleet, StartupPolicy, VaultBudget

from .conftest import VAULT, ref

NAMES = [f"s{i:02d}" for i in range(12)]
NO_SDK_RETRIES = {"retry_total": 0}  # the SDK surfaces the first 429: what happens next is kvconfig's doing


@pytest.fixture
def throttled(sim_fake: FakeKeyVault) -> FakeKeyVault:
    for name in NAMES:
        sim_fake.set_secret(VAULT, name, f"value-of-{name}")
    sim_fake.throttle(VAULT, limit=4)  # 4 requests per 10-second window
    return sim_fake


def settings() -> dict[str, str]:
    return {name.upper(): ref(name) for name in NAMES}


def test_resolve_without_fleet_fails_under_throttling(
    throttled: FakeKeyVault, make_sim_resolver: Callable[..., SecretResolver]
) -> None:
    resolver = make_sim_resolver(client_options=NO_SDK_RETRIES)
    with pytest.raises(ResolutionError) as caught:
        resolver.resolve(settings())
    assert {failure.status for failure in caught.value.failures} == {"FetchTimedOut"}


def test_startup_deadline_keeps_going_through_429s_and_logs_counts(
    throttled: FakeKeyVault,
    make_sim_resolver: Callable[..., SecretResolver],
    virtual_loops: VirtualClock,
    statuses: Counter[int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fleet = Fleet(startup=StartupPolicy(deadline=120, jitter=0.5), clock=virtual_loops.monotonic)
    resolver = make_sim_resolver(client_options=NO_SDK_RETRIES, fleet=fleet)
    with caplog.at_level(logging.INFO, logger="kvconfig"):
        values = resolver.resolve(settings())
    assert dict(values) == {name.upper(): f"value-of-{name}" for name in NAMES}
    assert statuses[429] > 0
    assert statuses[200] == len(NAMES)
    # 12 reads at 4 per window need three windows: at least 20 simulated seconds, well inside the deadline.
    assert 20 <= virtual_loops.elapsed < 120
    messages = [record.getMessage() for record in caplog.records if record.levelno == logging.INFO]
    assert any("throttled response(s); retrying in" in message for message in messages)
    assert any(f"{len(NAMES)} of {len(NAMES)} secret read(s) done" in message for message in messages)
    assert fleet.health()["startup"]["throttled"] == statuses[429]


def test_startup_deadline_passing_fails_with_the_full_report(
    throttled: FakeKeyVault, make_sim_resolver: Callable[..., SecretResolver], virtual_loops: VirtualClock
) -> None:
    fleet = Fleet(startup=StartupPolicy(deadline=15, jitter=0.0), clock=virtual_loops.monotonic)
    resolver = make_sim_resolver(client_options=NO_SDK_RETRIES, fleet=fleet)
    report = resolver.resolve_report(settings())
    # Windows at 0 s and 10 s serve 8 reads; the other 4 would need the window at 20 s, past the deadline.
    assert len(report.values) == 8
    assert len(report.failures) == 4
    for failure in report.failures:
        assert failure.status == "FetchTimedOut"
        assert "start-up deadline of 15 s" in failure.detail
    assert virtual_loops.elapsed < 15
    with pytest.raises(ResolutionError) as caught:
        make_sim_resolver(client_options=NO_SDK_RETRIES, fleet=Fleet(startup=1, clock=virtual_loops.monotonic)).resolve(
            settings()
        )
    assert len(caught.value.failures) == len(NAMES)  # the window is spent: every setting is listed


def test_budget_keeps_a_process_under_the_vault_limit(
    throttled: FakeKeyVault,
    make_sim_resolver: Callable[..., SecretResolver],
    virtual_loops: VirtualClock,
    statuses: Counter[int],
) -> None:
    # 4 per 10 s is the vault's limit: at most burst - 1 + ceil(rate * 10) = 1 + 3 requests fit in a window.
    budget = VaultBudget.share_of(1, limit=4, burst=2, clock=virtual_loops.monotonic)
    resolver = make_sim_resolver(client_options=NO_SDK_RETRIES, fleet=Fleet(budget=budget))
    values = resolver.resolve(settings())
    assert len(values) == len(NAMES)
    assert statuses[429] == 0  # never over the limit, so never throttled
    requests = sum(statuses.values())  # the 401 challenge included: every request takes a token
    assert budget.granted == requests
    assert virtual_loops.elapsed >= (requests - 2) / budget.rate - 1


def test_budget_is_shared_by_the_resolvers_of_a_process(
    throttled: FakeKeyVault,
    make_sim_resolver: Callable[..., SecretResolver],
    virtual_loops: VirtualClock,
    statuses: Counter[int],
) -> None:
    budget = VaultBudget(0.3, burst=2, clock=virtual_loops.monotonic)
    first = make_sim_resolver(client_options=NO_SDK_RETRIES, fleet=Fleet(budget=budget))
    second = make_sim_resolver(client_options=NO_SDK_RETRIES, fleet=Fleet(budget=budget))
    first.resolve({"A": ref("s00"), "B": ref("s01")})
    second.resolve({"C": ref("s02"), "D": ref("s03")})
    assert statuses[429] == 0
    assert budget.granted == sum(statuses.values())


def test_budget_is_off_by_default(make_sim_resolver: Callable[..., SecretResolver]) -> None:
    assert make_sim_resolver().fleet is None
    assert Fleet().client_policies() == []
