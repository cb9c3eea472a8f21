"""Every file the CLI reads whole is read within a bound: a file past it, or a device that never ends (a link to
``/dev/zero`` named like a config file), is a one-line error naming the file, never a ``MemoryError``, a traceback
or a hang. The platform files, the seed, the control token and the SecretProviderClass have bounds of their own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from kvconfig.cli import cli
from kvconfig.sources import MAX_FILE_CHARS, SourceError, from_dotenv, from_file

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")

SEED = '{"vaults": {"myvault": {"secrets": {"db-password": "hunter2"}}}}'


def _endless(tmp_path: Path, name: str) -> Path:
    link = tmp_path / name
    link.symlink_to("/dev/zero")
    return link


def _oversized(tmp_path: Path, name: str) -> Path:
    """A sparse file one character past the bound (no disk is used)."""
    big = tmp_path / name
    with big.open("wb") as handle:
        handle.truncate(MAX_FILE_CHARS + 1)
    return big


@pytest.mark.parametrize("name", ["app.env", "settings.json", "settings.yaml", "settings.toml"])
def test_reading_an_endless_settings_file_is_a_source_error(tmp_path: Path, name: str) -> None:
    endless = _endless(tmp_path, name)
    with pytest.raises(SourceError) as raised:
        from_dotenv(endless) if name.endswith(".env") else from_file(endless)
    message = str(raised.value)
    assert str(endless) in message
    assert f"{MAX_FILE_CHARS:,}" in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["app.env", "settings.json"])
def test_reading_a_settings_file_past_the_bound_is_a_source_error(tmp_path: Path, name: str) -> None:
    big = _oversized(tmp_path, name)
    with pytest.raises(SourceError, match="larger than"):
        from_dotenv(big) if name.endswith(".env") else from_file(big)


def test_a_settings_file_at_the_bound_is_read(tmp_path: Path) -> None:
    exact = tmp_path / "app.env"
    line = "DB=plain\n"
    exact.write_text(line + "#" * (MAX_FILE_CHARS - len(line)))
    assert from_dotenv(exact).settings == {"DB": "plain"}


def _run(tmp_path: Path, *args: str) -> tuple[int, str]:
    seed = tmp_path / "vault.json"
    seed.write_text(SEED)
    result = CliRunner().invoke(cli, [*args[:1], "--fake-vault", str(seed), *args[1:]])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("command", "option", "name"),
    [
        ("check", "--env-file", "app.env"),
        ("resolve", "--config", "settings.yaml"),
        ("run", "--functions-settings", "local.settings.json"),
        ("check", "--appsettings", "appsettings.json"),
        ("check", "--containerapp", "app.yaml"),
        ("inject", "--in", "template.txt"),
        ("mount", "--spc", "spc.yaml"),
    ],
)
def test_cli_refuses_an_endless_input_file_in_one_line(tmp_path: Path, command: str, option: str, name: str) -> None:
    endless = _endless(tmp_path, name)
    extra = ["--dir", str(tmp_path / "mnt")] if command == "mount" else []
    tail = ["--", "true"] if command == "run" else []
    code, output = _run(tmp_path, command, option, str(endless), *extra, *tail)
    assert code != 0
    assert "Traceback" not in output
    assert "MemoryError" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("kvconfig: ")
    assert name in lines[0]


def test_cli_refuses_an_endless_price_table_in_one_line(tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text("DB=@Microsoft.KeyVault(VaultName=myvault;SecretName=db-password)\n")
    prices = _endless(tmp_path, "prices.json")
    code, output = _run(tmp_path, "check", "--env-file", str(env), "--replicas", "3", "--prices", str(prices))
    assert code != 0
    assert "Traceback" not in output
    assert "MemoryError" not in output
    assert "prices.json" in output
    assert "larger than" in output


def test_a_price_table_past_its_bound_is_refused_not_cut(tmp_path: Path) -> None:
    from kvconfig.costs import PriceTable
    from kvconfig.errors import KvConfigError

    prices = tmp_path / "prices.json"
    prices.write_text('{"per_10k": {"secrets": 0.05}, "currency": "EUR"}' + " " * 70_000)
    with pytest.raises(KvConfigError, match="larger than"):
        PriceTable.from_file(prices)
