"""``kvconfig resolve --format github|azure-pipelines`` through the CLI, against the embedded fake vault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kvconfig.cli import cli
from tests.unit.test_pipelines import github_file, vso_commands


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    path = tmp_path / "vault.json"
    path.write_text(
        json.dumps(
            {
                "vaults": {
                    "myvault": {
                        "secrets": {
                            "live": "v1",
                            "disabled": {"value": "off", "enabled": False},
                            "expired": {"value": "old", "exp": 1_000_000},
                            "pinned": {"versions": [{"value": "first", "version": "0" * 32}, {"value": "second"}]},
                        }
                    }
                }
            }
        )
    )
    return path


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_star_reads_enabled_unexpired_secrets_only(seed: Path) -> None:
    code, out, _err = invoke(
        "resolve", "--format", "azure-pipelines", "--reveal", "--vault", "myvault", "--secrets", "*",
        "--fake-vault", str(seed),
    )  # fmt: skip

    assert code == 0
    assert {props["variable"]: data for _n, props, data in vso_commands(out)} == {"live": "v1", "pinned": "second"}


def test_a_pinned_version_sets_both_names(seed: Path) -> None:
    code, out, _err = invoke(
        "resolve", "--format", "azure-pipelines", "--reveal", "--vault", "myvault", "--secrets", f"pinned/{'0' * 32}",
        "--fake-vault", str(seed),
    )  # fmt: skip

    assert code == 0
    assert [(props["variable"], data) for _n, props, data in vso_commands(out)] == [
        ("pinned", "first"),
        (f"pinned/{'0' * 32}", "first"),
    ]


def test_a_missing_secret_fails_with_its_status_and_prints_no_value(seed: Path) -> None:
    code, out, err = invoke(
        "resolve", "--format", "azure-pipelines", "--reveal", "--vault", "myvault", "--secrets", "live,nope",
        "--fake-vault", str(seed),
    )  # fmt: skip

    assert code == 1
    assert "nope (--secrets)" in err
    assert "SecretNotFound" in err
    assert "v1" not in out + err


def test_github_format_with_a_references_file_names_outputs_by_setting(seed: Path, tmp_path: Path) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text("GREETING=hello\nDB_PASSWORD=@Microsoft.KeyVault(VaultName=myvault;SecretName=live)\n")
    output = tmp_path / "out"

    code, out, _err = invoke(
        "resolve", "--format", "github", "--env-file", str(env_file), "--fake-vault", str(seed),
        env={"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(output), "GITHUB_ENV": ""},
    )  # fmt: skip

    assert code == 0
    assert out == "::add-mask::v1\n"  # only the secret is masked; the plain setting is not
    assert github_file(output.read_text()) == {"GREETING": "hello", "DB_PASSWORD": "v1"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--secrets", "a"], "go together"),
        (["--vault", "myvault"], "go together"),
        (["--vault", "bad.host/x", "--secrets", "a"], "not a vault name"),
    ],
)
def test_bad_options_are_usage_errors(seed: Path, args: list[str], message: str) -> None:
    code, _out, err = invoke(
        "resolve", "--format", "azure-pipelines", "--reveal", *args, "--fake-vault", str(seed),
    )  # fmt: skip

    assert code == 2
    assert message in err


def test_secrets_without_a_pipeline_format_is_a_usage_error(seed: Path) -> None:
    code, _out, err = invoke("resolve", "--vault", "myvault", "--secrets", "live", "--fake-vault", str(seed))

    assert code == 2
    assert "--format github or azure-pipelines" in err


def test_github_format_needs_the_runner_files(seed: Path) -> None:
    code, _out, err = invoke(
        "resolve", "--format", "github", "--vault", "myvault", "--secrets", "live", "--fake-vault", str(seed),
        env={"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": "", "GITHUB_ENV": ""},
    )  # fmt: skip

    assert code == 2
    assert "neither is set" in err
