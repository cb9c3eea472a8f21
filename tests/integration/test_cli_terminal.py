"""The CLI on a terminal (rich): colour in the check table, NO_COLOR, a progress line on slow resolves; and plain
text when piped (CliRunner's output is a pipe unless FORCE_COLOR says otherwise)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from kvconfig import SecretResolver
from kvconfig.cli import cli
from kvconfig.cli._console import ProgressLine
from kvconfig.fake import FakeKeyVault

SECRET = "TERMINAL-SECRET-31f"
ESCAPE = re.compile(r"\x1b\[([0-9;]*)m")


def _ref(name: str, vault: str = "tty-vault") -> str:
    return f"@Microsoft.KeyVault(VaultName={vault};SecretName={name})"


def _colours(text: str) -> set[str]:
    """The SGR colour parameters in ``text`` (30-37, 90-97 and 38;... foregrounds)."""
    found = set()
    for params in ESCAPE.findall(text):
        for part in params.split(";"):
            if part and (30 <= int(part) <= 38 or 90 <= int(part) <= 97):
                found.add(part)
    return found


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"vaults": {"tty-vault": {"secrets": {"db": SECRET}}}}))
    dotenv = tmp_path / "app.env"
    dotenv.write_text(f"DB={_ref('db')}\nMISSING={_ref('missing')}\n")
    return seed, dotenv


def _check(files: tuple[Path, Path], env: dict[str, str]) -> Result:
    seed, dotenv = files
    return CliRunner().invoke(cli, ["check", "--fake-vault", str(seed), "--env-file", str(dotenv)], env=env)


def test_piped_output_is_plain_text(files: tuple[Path, Path]) -> None:
    result = _check(files, {"FORCE_COLOR": None, "TTY_COMPATIBLE": None, "NO_COLOR": None})

    assert result.exit_code == 1
    assert "\x1b" not in result.stdout + result.stderr
    assert result.stdout.splitlines()[0].split() == ["SETTING", "STATUS", "VERSION", "EXPIRES", "REFERENCE"]


def test_terminal_check_table_has_colour_by_status(files: tuple[Path, Path]) -> None:
    result = _check(files, {"FORCE_COLOR": "1", "NO_COLOR": None})

    assert result.exit_code == 1
    assert "32" in _colours(result.stdout)  # OK in green
    assert "31" in _colours(result.stdout)  # SecretNotFound in red
    plain = ESCAPE.sub("", result.stdout)
    assert re.search(r"DB\s+OK", plain)
    assert re.search(r"MISSING\s+SecretNotFound", plain)
    assert "1 of 2 references resolved." in ESCAPE.sub("", result.stderr)
    assert SECRET not in result.output


def test_no_color_turns_colour_off_on_a_terminal(files: tuple[Path, Path]) -> None:
    result = _check(files, {"FORCE_COLOR": "1", "NO_COLOR": "1"})

    assert result.exit_code == 1
    assert _colours(result.stdout + result.stderr) == set()
    assert re.search(r"MISSING\s+SecretNotFound", ESCAPE.sub("", result.stdout))


def _slow_resolve(console: Console, delay: float, latency: float) -> None:
    fake = FakeKeyVault(latency=latency)
    for name in ("alpha", "beta", "gamma"):
        fake.set_secret("slow-vault", name, f"{SECRET}-{name}")
    with ProgressLine(console, delay=delay) as progress:
        resolver = SecretResolver(
            fake.async_credential(), transport=fake.async_transport, progress=progress, concurrency=1
        )
        with resolver:
            resolver.resolve({name.upper(): _ref(name, "slow-vault") for name in ("alpha", "beta", "gamma")})


def test_terminal_shows_a_progress_line_naming_the_vault_and_counting(tmp_path: Path) -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)

    _slow_resolve(console, delay=0.05, latency=0.25)

    shown = ESCAPE.sub("", screen.getvalue())
    assert "Reading secrets from slow-vault.vault.azure.net" in shown
    assert re.search(r"[0-3]/3", shown)
    assert SECRET not in shown


def test_a_quick_resolve_or_a_pipe_draws_no_progress() -> None:
    quick, piped = io.StringIO(), io.StringIO()

    _slow_resolve(Console(file=quick, force_terminal=True), delay=5.0, latency=0.0)
    _slow_resolve(Console(file=piped, force_terminal=False), delay=0.0, latency=0.05)

    assert quick.getvalue() == ""
    assert piped.getvalue() == ""
