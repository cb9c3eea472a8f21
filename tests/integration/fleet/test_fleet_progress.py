"""The fleet's start-up retries on the CLI's progress line, and ``--startup-deadline`` on ``run`` and ``check``: a
throttled fake vault on simulated time, read through the official SDK."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from rich.console import Console

from kvconfig import SecretResolver
from kvconfig.cli import cli
from kvconfig.cli._common import open_resolver
from kvconfig.cli._console import ProgressLine
from kvconfig.fake import FakeKeyVault
from kvconfig.fake.simulation import VirtualClock
from kvconfig.fleet import Fleet, StartupPolicy
from kvconfig.resolve import TransactionMeter

from .conftest import VAULT, ref

NAMES = [f"s{i:02d}" for i in range(12)]


def test_the_progress_line_shows_throttled_retries_until_the_deadline(
    sim_fake: FakeKeyVault, make_sim_resolver: Callable[..., SecretResolver], virtual_loops: VirtualClock
) -> None:
    for name in NAMES:
        sim_fake.set_secret(VAULT, name, f"value-of-{name}")
    sim_fake.throttle(VAULT, limit=4)  # 12 reads at 4 per 10-second window: two rounds of retries
    screen = io.StringIO()
    line = ProgressLine(Console(file=screen, force_terminal=True, width=160), delay=0.0)
    told: list[tuple[int, float]] = []
    fleet = Fleet(startup=StartupPolicy(deadline=120, jitter=0.0), clock=virtual_loops.monotonic)
    fleet.progress.watchers.append(lambda count, left: told.append((count, left)))
    fleet.progress.watchers.append(line.throttled)
    resolver = make_sim_resolver(client_options={"retry_total": 0}, fleet=fleet, progress=TransactionMeter(line))

    with line:
        values = resolver.resolve({name.upper(): ref(name) for name in NAMES})
        description = line._description()

    assert len(values) == len(NAMES)
    assert told, "the watcher heard no retry"
    counts = [count for count, _left in told]
    assert counts == sorted(counts)
    assert counts[-1] == fleet.progress.throttled
    assert all(0 < left <= 120 for _count, left in told)
    assert re.search(rf"; {fleet.progress.throttled} throttled, retrying until \d\d:\d\d:\d\d$", description)
    assert "value-of" not in screen.getvalue()


def test_startup_deadline_gives_the_cli_resolver_a_fleet_that_tells_the_progress_line() -> None:
    line = ProgressLine(Console(file=io.StringIO(), force_terminal=True))
    meter = TransactionMeter(line)
    params: dict[str, Any] = {
        "fake_vault": None,
        "cloud": "public",
        "trusted_hosts": (),
        "concurrency": 4,
        "timeout": 30.0,
        "embedded": False,
        "strict": False,
    }
    with open_resolver(params, progress=meter) as plain:
        assert plain.fleet is None  # without the option: the SDK's retries only, as before
    with open_resolver({**params, "startup_deadline": 45.0}, progress=meter) as resolver:
        assert isinstance(resolver.fleet, Fleet)
        assert resolver.fleet.startup == StartupPolicy(deadline=45.0)
        assert resolver.fleet.budget is None
        assert resolver.fleet.shared is None
        watcher = resolver.fleet.progress.watchers[0]
        watcher(7, 30.0)
    assert "7 throttled, retrying until" in line._description()


def test_run_and_check_take_startup_deadline(tmp_path: Path) -> None:
    seed = tmp_path / "vault.json"
    seed.write_text('{"vaults": {"contoso": {"secrets": {"db": "s3cret-XYZZY"}}}}')
    env = tmp_path / "app.env"
    env.write_text(f"DB={ref('db')}\n")
    runner = CliRunner()
    checked = runner.invoke(
        cli, ["check", "--fake-vault", str(seed), "--env-file", str(env), "--startup-deadline", "60"]
    )
    assert checked.exit_code == 0, checked.output
    assert "XYZZY" not in checked.output
    ran = runner.invoke(
        cli, ["run", "--fake-vault", str(seed), "--env-file", str(env), "--startup-deadline", "60", "--", "true"]
    )
    assert ran.exit_code == 0, ran.output
    refused = runner.invoke(
        cli, ["check", "--fake-vault", str(seed), "--env-file", str(env), "--startup-deadline", "0"]
    )
    assert refused.exit_code == 2
    assert "--startup-deadline" in refused.output
    assert "--startup-deadline" in runner.invoke(cli, ["run", "--help"]).output
