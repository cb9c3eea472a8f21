"""How the ``kvconfig`` CLI reads its sources: ``--no-interpolate`` keeps ``$`` in .env files as written (and reads
them in linear time), and a source the readers refuse is one ``kvconfig:`` line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kvconfig.cli import cli

SECRET = "CLI-SOURCES-SECRET-31"


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"vaults": {"src-vault": {"secrets": {"db": SECRET}}}}))
    return path


def _resolve(seed: Path, *args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        ["resolve", "--fake-vault", str(seed), "--reveal", "--format", "json", *map(str, args)],
        catch_exceptions=False,
    )
    return result.exit_code, result.output


@pytest.mark.parametrize("option", ["--env-file", "--config"])
def test_no_interpolate_keeps_dollar_signs_of_env_files(seed: Path, tmp_path: Path, option: str) -> None:
    env = tmp_path / "app.env"
    env.write_text(
        "HOST=db.local\nURL=postgres://${HOST}/app\nDB=@Microsoft.KeyVault(VaultName=src-vault;SecretName=db)\n"
    )

    code, interpolated = _resolve(seed, option, env)
    assert code == 0, interpolated
    assert json.loads(interpolated)["URL"] == "postgres://db.local/app"

    code, kept = _resolve(seed, option, env, "--no-interpolate")
    assert code == 0, kept
    assert json.loads(kept) == {"HOST": "db.local", "URL": "postgres://${HOST}/app", "DB": SECRET}


def test_inject_honours_no_interpolate(seed: Path, tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text("A=1\nB=${A}\nDB=@Microsoft.KeyVault(VaultName=src-vault;SecretName=db)\n")

    result = CliRunner().invoke(
        cli,
        ["inject", "--fake-vault", str(seed), "--no-interpolate", "--reveal", "-i", str(env)],
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    assert "B=${A}\n" in result.output
    assert f"DB='{SECRET}'" in result.output


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", '{"a": ' + "[" * 1000 + "1" + "]" * 1000 + "}"),
        (
            "bomb.yaml",
            "a: &a [x,x,x,x,x,x,x,x,x]\n"
            + "".join(
                f"{b}: &{b} [" + ",".join([f"*{a}"] * 9) + "]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
            ),
        ),
    ],
)
def test_a_refused_source_is_one_clear_line(seed: Path, tmp_path: Path, name: str, text: str) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / name
    path.write_text(text)

    code, output = _resolve(seed, "--config", path)

    assert code != 0
    assert output.startswith("kvconfig: "), output
    assert str(path) in output
    assert "Traceback" not in output
