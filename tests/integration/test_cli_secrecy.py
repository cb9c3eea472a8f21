"""The CLI prints or writes no value in clear unless ``--reveal`` (issue #11), speaks in one voice (``kvconfig: ``),
and says what it did: through click's CliRunner against ``--fake-vault`` seeds."""

from __future__ import annotations

import json
import os
import stat
import sys
import urllib.parse
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from kvconfig.cli import cli

SECRET = "CLI-SECRET-VALUE-9d8e7f"
PASSWORD = "pw-only-Zq81x"
QUOTED = 'quote"and\\back-slash'
SPACED = "a b&c=d/e"
OLD = "CLI-EXPIRED-VALUE-55"
PLAIN_TOKEN = "ghp_plainEnvironmentToken123"


def _ref(name: str) -> str:
    return f"@Microsoft.KeyVault(VaultName=cli-vault;SecretName={name})"


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    path = tmp_path / "seed.json"
    secrets = {
        "db": SECRET,
        "password": PASSWORD,
        "quoted": QUOTED,
        "spaced": SPACED,
        "old": {"value": OLD, "exp": 1_600_000_000},
    }
    path.write_text(json.dumps({"vaults": {"cli-vault": {"secrets": secrets}}}))
    return path


def _invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args], env=env, catch_exceptions=False)


# -- resolve: the environment fallback --------------------------------------------------------------------------------


def test_resolve_without_sources_prints_only_the_environments_references_masked(seed: Path) -> None:
    env = {"MY_API_TOKEN": PLAIN_TOKEN, "APP_DB": _ref("db")}

    result = _invoke("resolve", "--fake-vault", seed, env=env)

    assert result.exit_code == 0, result.output
    assert result.stdout == "APP_DB='********'\n"
    assert PLAIN_TOKEN not in result.output
    assert SECRET not in result.output
    assert result.stderr.startswith("kvconfig: read the process environment (")
    assert "the 1 that held Key Vault references" in result.stderr


def test_resolve_reveal_of_the_environment_still_prints_only_its_references(seed: Path) -> None:
    env = {"MY_API_TOKEN": PLAIN_TOKEN, "APP_DB": _ref("db")}

    result = _invoke("resolve", "--fake-vault", seed, "--reveal", "--format", "json", env=env)

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"APP_DB": SECRET}
    assert PLAIN_TOKEN not in result.output


def test_resolve_of_an_environment_without_references_says_so_and_prints_nothing(seed: Path) -> None:
    result = _invoke("resolve", "--fake-vault", seed, env={"MY_API_TOKEN": PLAIN_TOKEN})

    assert result.exit_code == 0
    assert result.stdout == ""
    assert "none held a Key Vault reference" in result.stderr
    assert PLAIN_TOKEN not in result.output


def test_resolve_with_env_and_a_file_prints_the_files_plain_values_but_not_the_environments(
    seed: Path, tmp_path: Path
) -> None:
    dotenv = tmp_path / "app.env"
    dotenv.write_text(f"MODE=prod\nDB={_ref('db')}\n")

    result = _invoke("resolve", "--fake-vault", seed, "--env", "--env-file", dotenv, env={"MY_API_TOKEN": PLAIN_TOKEN})

    assert result.exit_code == 0, result.output
    assert "MODE='prod'" in result.stdout
    assert "DB='********'" in result.stdout
    assert PLAIN_TOKEN not in result.output


# -- output files ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["resolve", "inject"])
def test_output_file_without_reveal_is_refused_naming_reveal_and_writes_nothing(
    command: str, seed: Path, tmp_path: Path
) -> None:
    dotenv = tmp_path / "app.env"
    dotenv.write_text(f"DB={_ref('db')}\n")
    out = tmp_path / "out.env"
    source = ["--env-file", dotenv] if command == "resolve" else ["-i", dotenv]

    result = _invoke(command, "--fake-vault", seed, *source, "-o", out)

    assert result.exit_code == 2
    assert result.stderr.startswith("kvconfig: -o/--output")
    assert "--reveal" in result.stderr.splitlines()[0]
    assert not out.exists()


@pytest.mark.skipif(os.name != "posix", reason="symbolic links as POSIX has them")
@pytest.mark.parametrize("command", ["resolve", "inject"])
def test_output_file_that_is_a_symlink_is_refused_and_its_target_untouched(
    command: str, seed: Path, tmp_path: Path
) -> None:
    dotenv = tmp_path / "app.env"
    dotenv.write_text(f"DB={_ref('db')}\n")
    victim = tmp_path / "authorized_keys"
    victim.write_text("precious")
    link = tmp_path / "out.env"
    link.symlink_to(victim)
    source = ["--env-file", dotenv] if command == "resolve" else ["-i", dotenv]

    result = _invoke(command, "--fake-vault", seed, *source, "--reveal", "--output", link)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"kvconfig: Refusing to write {link}: it is a symbolic link")
    assert victim.read_text() == "precious"
    assert SECRET not in result.output


@pytest.mark.skipif(os.name != "posix", reason="file modes as POSIX has them")
def test_inject_output_replaces_an_existing_file_with_a_private_one(seed: Path, tmp_path: Path) -> None:
    template = tmp_path / "app.env"
    template.write_text(f"DB={_ref('db')}\n")
    out = tmp_path / "out.env"
    out.write_text("old")
    out.chmod(0o644)

    result = _invoke("inject", "--fake-vault", seed, "-i", template, "--reveal", "--output", out)

    assert result.exit_code == 0, result.output
    assert out.read_text() == f"DB='{SECRET}'\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


# -- inject to stdout ----------------------------------------------------------------------------------------------


def test_inject_to_stdout_masks_values_unless_reveal(seed: Path, tmp_path: Path) -> None:
    dotenv = tmp_path / "app.env"
    dotenv.write_text(f"# db\nDB={_ref('db')}\nMODE=prod\n")
    text = tmp_path / "nginx.conf"
    text.write_text(f"auth {_ref('db')};\n")

    masked_env = _invoke("inject", "--fake-vault", seed, "-i", dotenv)
    masked_text = _invoke("inject", "--fake-vault", seed, "-i", text)
    revealed = _invoke("inject", "--fake-vault", seed, "-i", text, "--reveal")

    assert masked_env.exit_code == 0, masked_env.output
    assert masked_env.stdout == "# db\nDB='********'\nMODE=prod\n"
    assert masked_text.stdout == "auth ********;\n"
    assert SECRET not in masked_env.output + masked_text.output
    assert revealed.stdout == f"auth {SECRET};\n"


def test_inject_still_reads_the_references_when_masking_so_failures_show(seed: Path, tmp_path: Path) -> None:
    text = tmp_path / "app.conf"
    text.write_text(f"key={_ref('missing')}\n")

    result = _invoke("inject", "--fake-vault", seed, "-i", text)

    assert result.exit_code == 1
    assert "SecretNotFound" in result.stderr


def test_inject_does_not_offer_source_options_and_spells_output_like_resolve(seed: Path, tmp_path: Path) -> None:
    template = tmp_path / "app.env"
    template.write_text("A=1\n")

    for option in ("--env-file", "--config", "--out"):
        result = _invoke("inject", "--fake-vault", seed, "-i", template, option, template)
        assert result.exit_code == 2, option
        assert result.stderr.startswith("kvconfig: No such option"), result.stderr
        assert option in result.stderr.splitlines()[0]

    inject_output = _option(cli.load("inject"), "output")
    resolve_output = _option(cli.load("resolve"), "output")
    assert inject_output.opts == resolve_output.opts == ["-o", "--output"]


# -- run --mask ------------------------------------------------------------------------------------------------------


def test_run_mask_conceals_a_secret_embedded_in_a_longer_setting_on_its_own(seed: Path, tmp_path: Path) -> None:
    dotenv = tmp_path / "app.env"
    dotenv.write_text(f"CONN='Server=db;Password={_ref('password')};'\n")
    code = "import os; print('pw=' + os.environ['CONN'].split('Password=')[1].rstrip(';'))"

    result = _invoke(
        "run", "--mask", "--embedded", "--fake-vault", seed, "--env-file", dotenv, "--", sys.executable, "-c", code
    )

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert result.stdout == "pw=<concealed by kvconfig>\n"


def test_run_mask_conceals_json_escaped_and_url_encoded_forms(seed: Path, tmp_path: Path) -> None:
    dotenv = tmp_path / "app.env"
    dotenv.write_text(f"Q={_ref('quoted')}\nS={_ref('spaced')}\n")
    code = (
        "import json, os, urllib.parse; "
        "print(json.dumps({'q': os.environ['Q']})); "
        "print('https://x/?s=' + urllib.parse.quote(os.environ['S'], safe=''))"
    )

    result = _invoke("run", "--mask", "--fake-vault", seed, "--env-file", dotenv, "--", sys.executable, "-c", code)

    assert result.exit_code == 0, result.output
    assert json.dumps(QUOTED) not in result.stdout
    assert urllib.parse.quote(SPACED, safe="") not in result.stdout
    assert result.stdout == '{"q": "<concealed by kvconfig>"}\nhttps://x/?s=<concealed by kvconfig>\n'


# -- check and embedded references -------------------------------------------------------------------------------------


def test_check_warns_about_embedded_references_when_embedded_is_not_given(seed: Path, tmp_path: Path) -> None:
    dotenv = tmp_path / "app.env"
    dotenv.write_text(f"CONN='Server=db;Password={_ref('password')};'\n")

    plain = _invoke("check", "--fake-vault", seed, "--env-file", dotenv)
    embedded = _invoke("check", "--fake-vault", seed, "--env-file", dotenv, "--embedded")

    assert plain.exit_code == 0
    assert plain.stderr.startswith("kvconfig: warning: 1 setting holds a Key Vault reference inside a longer value")
    assert "(CONN)" in plain.stderr
    assert "add --embedded" in plain.stderr
    assert "warning" not in embedded.stderr
    assert "1 of 1 references resolved." in embedded.stderr


# -- one voice ---------------------------------------------------------------------------------------------------------


def _option(command: click.Command, name: str) -> click.Option:
    return next(p for p in command.params if isinstance(p, click.Option) and p.name == name)


def _walk(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):  # through get_command: the top group loads its commands on demand
        context = click.Context(command)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            assert sub is not None, name
            found.extend(_walk(sub, f"{path} {name}"))
    return found


def test_every_option_of_every_command_has_help_text() -> None:
    missing = [
        f"{path} {'/'.join(param.opts)}"
        for path, command in _walk(cli, "kvconfig")
        for param in command.params
        if isinstance(param, click.Option) and not (param.help or "").strip()
    ]

    paths = {path for path, _command in _walk(cli, "kvconfig")}
    # The fake vault's group too (`fake token --port` had none).
    assert {
        "kvconfig resolve",
        "kvconfig mount",
        "kvconfig fake",
        "kvconfig fake serve",
        "kvconfig fake token",
    } <= paths
    assert missing == []


@pytest.mark.parametrize(
    "args",
    [
        ("resolve", "--cloud", "mars"),
        ("resolve", "--no-such-option"),
        ("nope",),
        ("inject",),
        ("fake", "token", "--cert-dir", "/nonexistent/kvconfig-ca"),
    ],
)
def test_every_error_starts_with_kvconfig(args: tuple[str, ...]) -> None:
    result = _invoke(*args)

    assert result.exit_code in (1, 2)
    assert result.stderr.startswith("kvconfig: "), result.stderr
    assert "Error:" not in result.stderr
    assert "Traceback" not in result.stderr


def test_expiry_is_reported_as_a_kvconfig_warning(seed: Path, tmp_path: Path) -> None:
    dotenv = tmp_path / "app.env"
    dotenv.write_text(f"OLD={_ref('old')}\n")

    result = _invoke("resolve", "--fake-vault", seed, "--env-file", dotenv)

    assert result.exit_code == 0
    assert result.stderr.startswith("kvconfig: warning: Setting 'OLD': the secret expired on 2020-09-13")
    assert OLD not in result.output
