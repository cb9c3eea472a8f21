"""What the CLI's ``--appconfig`` refuses: a store whose host is not an App Configuration store's (nor a
``--trusted-host``) before any credential is made or request sent, and two of the store's keys that a command would
turn into one name (a variable of ``run``, a line of ``resolve``, a setting of an ``inject`` template), before anything
is written or run."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from .appconfig_cli_support import STORE, invoke, write_seed

SECRET = "CLI-APPCONFIG-GUARD-SECRET-51d0"
EVIL = "https://evil.example"


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    """The usual store, and two keys that differ only in case: run and resolve's dotenv name both DB__PASSWORD."""
    return write_seed(tmp_path, {"db-password": SECRET}, {"key": "app:Db:Password", "value": "another"})


def _refused(result: Any, host: str = "evil.example") -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"kvconfig: Refusing to send a credential to untrusted App Configuration host {host!r}")
    assert f"--trusted-host {host}" in lines[0]


def test_check_refuses_an_untrusted_store_before_a_token_or_request(
    recording_credential: Any, sent_requests: list[str]
) -> None:
    result = invoke("check", "--appconfig", EVIL)

    _refused(result)
    assert recording_credential.calls == []  # DefaultAzureCredential was never asked for a token
    assert sent_requests == []


def test_trusted_host_lets_the_store_have_the_token(recording_credential: Any, sent_requests: list[str]) -> None:
    """The option that trusts a vault host trusts a store host: the token is asked for and the request sent (here
    recorded and refused, so the store cannot be read)."""
    result = invoke("check", "--appconfig", EVIL, "--trusted-host", "evil.example")

    assert result.exit_code == 1
    assert result.stderr.startswith(f"kvconfig: Cannot read App Configuration {EVIL}: ConnectionRefusedError")
    assert len(recording_credential.calls) == 1
    assert [url.split("?")[0] for url in sent_requests] == [f"{EVIL}/kv"]


@pytest.mark.parametrize(
    "command",
    [("resolve", "--format", "json"), ("run", "--", sys.executable, "-c", "pass"), ("inject", "-i", "{template}")],
)
def test_every_command_refuses_an_untrusted_store_from_the_environment_too(
    command: tuple[str, ...], tmp_path: Path, recording_credential: Any, sent_requests: list[str]
) -> None:
    template = tmp_path / "t.json"
    template.write_text("{}")
    args = [part.replace("{template}", str(template)) for part in command]
    secret = base64.b64encode(b"GUARD-ACCESS-KEY").decode()
    connection_string = f"Endpoint=https://contoso-config.azconfig.io.evil.com;Id=k;Secret={secret}"

    by_option = invoke(args[0], "--appconfig", EVIL, *args[1:])
    by_environment = invoke(*args, env={"KVCONFIG_APPCONFIG": connection_string})

    _refused(by_option)
    _refused(by_environment, "contoso-config.azconfig.io.evil.com")
    assert secret not in by_environment.output
    assert (recording_credential.calls, sent_requests) == ([], [])


def test_the_fake_seeds_stores_are_trusted(seed: Path) -> None:
    result = invoke("check", "--fake-vault", seed, "--appconfig", STORE, "--key-filter", "app:db:*")
    assert result.exit_code == 0, result.output


def test_run_refuses_two_keys_of_one_variable_and_runs_nothing(seed: Path, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    result = invoke(
        "run", "--fake-vault", seed, "--appconfig", STORE, "--key-filter", "app:*", "--trim-prefix", "app:",
        "--", sys.executable, "-c", f"open({str(ran)!r}, 'w')",
    )  # fmt: skip

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"kvconfig: App Configuration {STORE}: keys 'app:Db:Password' (no label) and 'app:db:password' (no label) "
        "both map to 'DB__PASSWORD'; rename one of them or narrow --key-filter/--label (key_filter=, labels=)."
    ]
    assert not ran.exists()
    assert SECRET not in result.output


def test_resolve_refuses_them_for_variable_formats_and_writes_nothing(seed: Path, tmp_path: Path) -> None:
    common = ("--fake-vault", seed, "--appconfig", STORE, "--key-filter", "app:*", "--trim-prefix", "app:")
    out = tmp_path / "settings.env"

    for output_format in ("dotenv", "shell"):
        result = invoke("resolve", *common, "--format", output_format, "--reveal", "-o", out)
        assert result.exit_code == 1, result.output
        assert "both map to 'DB__PASSWORD'" in result.stderr
    as_json = invoke("resolve", *common, "--format", "json")  # JSON keeps the keys as they are: two settings

    assert not out.exists()
    assert as_json.exit_code == 0, as_json.output
    assert sorted(json.loads(as_json.stdout)) == ["Db:Password", "api-key", "db:password", "greeting"]


def test_resolve_for_github_refuses_them_before_writing_its_files(seed: Path, tmp_path: Path) -> None:
    outputs, environment = tmp_path / "output", tmp_path / "env"
    result = invoke(
        "resolve", "--fake-vault", seed, "--appconfig", STORE, "--key-filter", "app:*", "--trim-prefix", "app:",
        "--format", "github",
        env={"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs), "GITHUB_ENV": str(environment)},
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert "both map to 'DB__PASSWORD'" in result.stderr
    assert not outputs.exists()
    assert not environment.exists()


def test_inject_refuses_two_keys_filling_one_setting_and_writes_nothing(tmp_path: Path) -> None:
    # db:password and db__password: both the setting db.password
    seed = write_seed(tmp_path, {"db-password": SECRET}, {"key": "app:db__password", "value": "another"})
    template = tmp_path / "appsettings.json"
    template.write_text(json.dumps({"db": {"password": ""}, "greeting": "hi"}))
    out = tmp_path / "rendered.json"

    result = invoke(
        "inject", "-i", template, "--fake-vault", seed, "--appconfig", STORE, "--key-filter", "app:*",
        "--trim-prefix", "app:", "--reveal", "-o", out,
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert (
        "keys 'app:db:password' (no label) and 'app:db__password' (no label) both map to 'db.password'" in result.stderr
    )
    assert not out.exists()
    assert SECRET not in result.output


def test_check_refuses_two_keys_trimmed_to_one_name(tmp_path: Path) -> None:
    seed = write_seed(tmp_path, {"db-password": SECRET}, {"key": "greeting"})
    result = invoke("check", "--fake-vault", seed, "--appconfig", STORE, "--trim-prefix", "app:")

    assert result.exit_code == 1
    assert "keys 'app:greeting' (no label) and 'greeting' (no label) both map to 'greeting'" in result.stderr
