"""The ``kvconfig`` CLI through click's CliRunner (and one real subprocess), against ``--fake-vault`` seeds: the
README's quickstart seed and per-test ones."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kvconfig.cli import cli

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
SEED = QUICKSTART / "vault.json"
APP_ENV = QUICKSTART / "app.env"
QUICKSTART_SECRETS = ("correct-horse-battery-staple", "sk-test-4f9a2c", "old-signing-key")

CLI_SECRET = "CLI-SECRET-VALUE-9d8e7f"
EXPIRED_SECRET = "CLI-EXPIRED-VALUE-55"


def _ref(name: str, vault: str = "cli-vault") -> str:
    return f"@Microsoft.KeyVault(VaultName={vault};SecretName={name})"


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    path = tmp_path / "seed.json"
    path.write_text(
        json.dumps(
            {
                "vaults": {
                    "cli-vault": {
                        "secrets": {
                            "db": CLI_SECRET,
                            "multi": "line-one-secret\nline-two-secret",
                            "old": {"value": EXPIRED_SECRET, "exp": 1_600_000_000},
                            "future": {"value": "future-value", "exp": 4_102_444_800},
                        }
                    }
                }
            }
        )
    )
    return path


def _invoke(*args: str | Path, env: dict[str, str] | None = None) -> object:
    runner = CliRunner()
    return runner.invoke(cli, [str(arg) for arg in args], env=env, catch_exceptions=False)


def test_quickstart_resolve_masks_values_by_default() -> None:
    result = _invoke("resolve", "--fake-vault", SEED, "--env-file", APP_ENV)

    assert result.exit_code == 0, result.output
    assert "APP_NAME='quickstart'" in result.output
    assert "DATABASE_PASSWORD='********'" in result.output
    assert "SIGNING_KEY_V1='********'" in result.output
    for secret in QUICKSTART_SECRETS:
        assert secret not in result.output


def test_quickstart_resolve_reveal_prints_values() -> None:
    result = _invoke("resolve", "--fake-vault", SEED, "--env-file", APP_ENV, "--reveal", "--format", "json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "APP_NAME": "quickstart",
        "DATABASE_PASSWORD": "correct-horse-battery-staple",
        "PAYMENTS_API_KEY": "sk-test-4f9a2c",
        "SIGNING_KEY_V1": "old-signing-key",
    }


def test_resolve_shell_format_quotes_for_the_shell(seed: Path, tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text(f"DB={_ref('db')}\nMULTI={_ref('multi')}\n")

    result = _invoke("resolve", "--fake-vault", seed, "--env-file", env, "--format", "shell", "--reveal")

    assert result.exit_code == 0, result.output
    script = result.stdout + 'printf "%s|%s" "$DB" "$MULTI"'
    shown = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    assert shown == f"{CLI_SECRET}|line-one-secret\nline-two-secret"


def test_resolve_output_file_is_private_even_when_it_existed(seed: Path, tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text(f"DB={_ref('db')}\n")
    out = tmp_path / "resolved.env"
    out.write_text("old")
    out.chmod(0o644)

    result = _invoke("resolve", "--fake-vault", seed, "--env-file", env, "--reveal", "-o", out)

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text() == f"DB='{CLI_SECRET}'\n"
    assert CLI_SECRET not in result.output


def test_resolve_config_file_flattens_nested_keys(seed: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"db": {"password": _ref("db"), "port": 5432}}))

    result = _invoke("resolve", "--fake-vault", seed, "--config", config, "--format", "json", "--reveal")

    assert json.loads(result.stdout) == {"db.password": CLI_SECRET, "db.port": 5432}


def test_resolve_failure_prints_every_failure_and_exits_1(seed: Path, tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text(f"DB={_ref('db')}\nMISSING={_ref('missing')}\nBAD=@Microsoft.KeyVault(VaultName=cli-vault)\n")

    result = _invoke("resolve", "--fake-vault", seed, "--env-file", env)

    assert result.exit_code == 1
    assert "kvconfig: 2 Key Vault references could not be resolved" in result.stderr
    assert f"MISSING ({env}:2)" in result.stderr
    assert "[SecretNotFound]" in result.stderr
    assert f"BAD ({env}:3)" in result.stderr
    assert "[InvalidSyntax]" in result.stderr
    assert CLI_SECRET not in result.output


def test_bad_source_file_prints_a_clear_error(seed: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"a": ')

    result = _invoke("resolve", "--fake-vault", seed, "--config", config)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"kvconfig: {config} is not valid JSON")


def test_run_gives_the_child_resolved_environment_and_propagates_its_exit_code(seed: Path, tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text(f"DB={_ref('db')}\nMODE=test\n")
    seen = tmp_path / "seen.json"
    code = (
        "import json, os, sys; "
        f"json.dump({{k: os.environ.get(k) for k in ('DB', 'MODE')}}, open({str(seen)!r}, 'w')); sys.exit(7)"
    )

    result = _invoke("run", "--fake-vault", seed, "--env-file", env, "--", sys.executable, "-c", code)

    assert result.exit_code == 7
    assert json.loads(seen.read_text()) == {"DB": CLI_SECRET, "MODE": "test"}


def test_run_exports_nested_config_keys_as_environment_names(seed: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"db": {"password": _ref("db")}, "servers": [{"url": "https://a"}]}))
    seen = tmp_path / "seen.json"
    code = (
        "import json, os; "
        f"json.dump({{k: os.environ.get(k) for k in ('DB__PASSWORD', 'SERVERS__0__URL')}}, open({str(seen)!r}, 'w'))"
    )

    result = _invoke("run", "--fake-vault", seed, "--config", config, "--", sys.executable, "-c", code)

    assert result.exit_code == 0
    assert json.loads(seen.read_text()) == {"DB__PASSWORD": CLI_SECRET, "SERVERS__0__URL": "https://a"}


def test_resolve_embedded_references_only_with_the_flag(seed: Path, tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text(f"CONN='Server=db;Password={_ref('db')};'\n")

    plain = _invoke("resolve", "--fake-vault", seed, "--env-file", env, "--reveal")
    embedded = _invoke("resolve", "--fake-vault", seed, "--env-file", env, "--reveal", "--embedded")
    masked = _invoke("resolve", "--fake-vault", seed, "--env-file", env, "--embedded")

    assert plain.stdout == f"CONN='Server=db;Password={_ref('db')};'\n"
    assert embedded.stdout == f"CONN='Server=db;Password={CLI_SECRET};'\n"
    assert masked.stdout == "CONN='********'\n"


def test_run_mask_conceals_secret_values_in_the_childs_output(seed: Path, tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text(f"DB={_ref('db')}\nMULTI={_ref('multi')}\nMODE=visible-mode\n")
    code = (
        "import os, sys; print('db=' + os.environ['DB']); print(os.environ['MULTI']); "
        "print('mode=' + os.environ['MODE']); print('err=' + os.environ['DB'], file=sys.stderr)"
    )

    result = _invoke("run", "--mask", "--fake-vault", seed, "--env-file", env, "--", sys.executable, "-c", code)

    assert result.exit_code == 0
    assert CLI_SECRET not in result.output
    assert "line-one-secret" not in result.output
    assert "db=<concealed by kvconfig>" in result.stdout
    assert "mode=visible-mode" in result.stdout
    assert "err=<concealed by kvconfig>" in result.stderr


def test_run_unknown_command_exits_127(seed: Path, tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text("A=1\n")

    result = _invoke("run", "--fake-vault", seed, "--env-file", env, "--", "kvconfig-no-such-command-xyz")

    assert result.exit_code == 127
    assert "command not found" in result.stderr


def test_check_prints_a_table_with_expiry_and_exits_1_on_failure(seed: Path, tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text(f"DB={_ref('db')}\nFUTURE={_ref('future')}\nMISSING={_ref('missing')}\n")

    result = _invoke("check", "--fake-vault", seed, "--env-file", env)

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["SETTING", "STATUS", "VERSION", "EXPIRES", "REFERENCE"]
    rows = {line.split()[0]: line.split() for line in lines[1:4]}
    assert rows["DB"][1] == "OK"
    assert rows["DB"][3] == "-"
    assert rows["FUTURE"][1] == "OK"
    assert rows["FUTURE"][3] == "2100-01-01"
    assert rows["MISSING"][1] == "SecretNotFound"
    assert "2 of 3 references resolved." in result.stderr
    assert CLI_SECRET not in result.output


def test_check_json_reports_expired_secrets_as_warnings_unless_strict(seed: Path, tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text(f"OLD={_ref('old')}\nDB={_ref('db')}\n")

    result = _invoke("check", "--fake-vault", seed, "--env-file", env, "--format", "json")
    strict = _invoke("check", "--fake-vault", seed, "--env-file", env, "--format", "json", "--strict")

    assert result.exit_code == 0
    statuses = {item["setting"]: item for item in json.loads(result.stdout)}
    assert statuses["OLD"]["status"] == "SecretExpired"
    assert statuses["OLD"]["expires_on"].startswith("2020-09-13")
    assert statuses["DB"]["status"] == "OK"
    assert statuses["DB"]["origin"] == f"{env}:2"
    assert strict.exit_code == 1
    assert EXPIRED_SECRET not in result.output


def test_check_summary_counts_an_expired_secret_as_resolved_unless_strict(seed: Path, tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text(f"OLD={_ref('old')}\n")

    result = _invoke("check", "--fake-vault", seed, "--env-file", env)
    strict = _invoke("check", "--fake-vault", seed, "--env-file", env, "--strict")

    assert result.exit_code == 0
    assert result.stderr.strip().splitlines()[-1] == "1 of 1 references resolved (1 expired)."
    assert strict.exit_code == 1
    assert strict.stderr.strip().splitlines()[-1] == "0 of 1 references resolved (1 expired)."


def test_resolve_of_an_expired_secret_succeeds_without_a_python_warning(seed: Path, tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text(f"OLD={_ref('old')}\n")

    # filterwarnings=error: an ExpiryWarning escaping the command would raise here.
    result = _invoke("resolve", "--fake-vault", seed, "--env-file", env)

    assert result.exit_code == 0
    assert result.stdout == "OLD='********'\n"


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (("--cloud", "mars"), "unknown cloud 'mars'"),
        (("--trusted-host", "https://myvault.localhost"), "trusted_hosts entry"),
        (("--timeout", "0"), "not in the range x>0"),
    ],
)
def test_invalid_resolver_options_are_usage_errors_not_tracebacks(
    seed: Path, option: tuple[str, str], message: str
) -> None:
    result = _invoke("resolve", "--fake-vault", seed, "--env-file", APP_ENV, *option)

    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.parametrize("kind", ["json", "yaml", "toml"])
def test_inject_renders_structured_files_with_values_in_place(seed: Path, tmp_path: Path, kind: str) -> None:
    pytest.importorskip("yaml")
    template = tmp_path / f"config.{kind}"
    if kind == "json":
        template.write_text(json.dumps({"db": {"password": _ref("db"), "port": 5432}, "name": "x"}))
    elif kind == "yaml":
        template.write_text(f"db:\n  password: '{_ref('db')}'\n  port: 5432\nname: x\n")
    else:
        template.write_text(f'name = "x"\n[db]\npassword = "{_ref("db")}"\nport = 5432\n')
    out = tmp_path / f"out.{kind}"

    result = _invoke("inject", "--fake-vault", seed, "-i", template, "--reveal", "-o", out)

    assert result.exit_code == 0, result.output
    from kvconfig import from_file

    assert from_file(out).settings == {"db.password": CLI_SECRET, "db.port": 5432, "name": "x"}
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert CLI_SECRET not in result.output


def test_inject_dotenv_keeps_comments_and_layout(seed: Path, tmp_path: Path) -> None:
    template = tmp_path / "app.env"
    template.write_text(f"# database\nDB={_ref('db')}\n\nMODE=prod\n")

    result = _invoke("inject", "--fake-vault", seed, "-i", template, "--reveal")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"# database\nDB='{CLI_SECRET}'\n\nMODE=prod\n"


def test_inject_plain_text_replaces_embedded_references(seed: Path, tmp_path: Path) -> None:
    template = tmp_path / "nginx.conf"
    template.write_text(f"user app;\nauth {_ref('db')};  # and again: {_ref('db')}\n")

    result = _invoke("inject", "--fake-vault", seed, "-i", template, "--reveal")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"user app;\nauth {CLI_SECRET};  # and again: {CLI_SECRET}\n"


def test_inject_plain_text_failure_names_file_line_and_column(seed: Path, tmp_path: Path) -> None:
    template = tmp_path / "app.conf"
    template.write_text(f"a\n  key={_ref('missing')}\n")

    result = _invoke("inject", "--fake-vault", seed, "-i", template)

    assert result.exit_code == 1
    assert f"{template}:2:7" in result.stderr
    assert "SecretNotFound" in result.stderr


def test_bad_seed_file_is_a_clear_error(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text('{"nope": 1}')
    env = tmp_path / "app.env"
    env.write_text("A=1\n")

    result = _invoke("resolve", "--fake-vault", seed, "--env-file", env)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"kvconfig: Cannot use the --fake-vault seed {seed}")
    assert "nope" in result.stderr


def test_python_m_kvconfig_cli_runs_the_quickstart_in_a_real_process() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "kvconfig.cli", "resolve", "--fake-vault", str(SEED), "--env-file", str(APP_ENV)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )

    assert completed.returncode == 0, completed.stderr
    assert "DATABASE_PASSWORD='********'" in completed.stdout
    for secret in QUICKSTART_SECRETS:
        assert secret not in completed.stdout + completed.stderr
