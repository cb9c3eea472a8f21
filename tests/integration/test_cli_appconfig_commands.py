"""``--appconfig`` beyond ``check``: ``resolve``, ``run`` and ``inject`` read an App Configuration store (served by the
fake store of a ``--fake-vault`` seed, read through the official client) with the same options as ``check``; a
reference's value is masked unless ``--reveal``, and a failing one is named by the store, its key and its label."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from .appconfig_cli_support import STORE, invoke, write_seed

SECRET = "CLI-APPCONFIG-CMD-SECRET-8d41"
OTHER = "CLI-APPCONFIG-CMD-OTHER-55c2"


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    secrets, mode = {"db-password": SECRET, "api-key": OTHER}, {"key": "other:mode", "value": "fast"}
    return write_seed(tmp_path, secrets, mode, label="broken", api_key_secret="api-key")


def test_resolve_reads_the_store_masked_unless_reveal(seed: Path) -> None:
    common = ("--fake-vault", seed, "--appconfig", STORE, "--key-filter", "app:*", "--trim-prefix", "app:")

    masked = invoke("resolve", *common, "--format", "json")
    revealed = invoke("resolve", *common, "--format", "json", "--reveal")

    assert masked.exit_code == 0, masked.output
    assert json.loads(masked.stdout) == {"greeting": "hello", "db:password": "********", "api-key": "********"}
    assert SECRET not in masked.output
    assert OTHER not in masked.output
    assert revealed.exit_code == 0, revealed.output
    assert json.loads(revealed.stdout) == {"greeting": "hello", "db:password": SECRET, "api-key": OTHER}


def test_resolve_store_wins_over_files_and_reads_no_environment_by_default(seed: Path, tmp_path: Path) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text("app:greeting=from-file\nlocal=kept\n".replace("app:greeting", "greeting"))

    result = invoke(
        "resolve", "--fake-vault", seed, "--env-file", env_file, "--appconfig", STORE,
        "--key-filter", "app:*", "--trim-prefix", "app:", "--format", "json",
        env={"KVCONFIG_TEST_SHELL_TOKEN": "do-not-print"},
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["greeting"] == "hello"  # the store's value wins over the file's
    assert shown["local"] == "kept"
    assert "do-not-print" not in result.output


def test_a_failing_store_reference_is_named_by_store_key_and_label(seed: Path) -> None:
    result = invoke(
        "resolve", "--fake-vault", seed, "--appconfig", STORE, "--label", "\\0", "--label", "broken",
        "--key-filter", "app:db:*",
    )  # fmt: skip

    assert result.exit_code == 1
    assert f"App Configuration {STORE}, key 'app:db:password', label 'broken'" in result.stderr
    assert "SecretNotFound" in result.stderr or "not found" in result.stderr.lower()
    assert SECRET not in result.output


def test_store_options_without_a_store_are_usage_errors_for_every_command(seed: Path, tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_text("{}")
    for args in (
        ("resolve", "--no-env"),
        ("run", "--", sys.executable, "-c", "pass"),
        ("inject", "-i", template),
    ):
        result = invoke(args[0], "--fake-vault", seed, "--key-filter", "app:*", *args[1:])
        assert result.exit_code == 2, (args, result.output)
        assert "--appconfig" in result.stderr


def test_run_gives_the_child_the_store_settings_and_masks_their_secrets(seed: Path, tmp_path: Path) -> None:
    seen = tmp_path / "seen.json"
    code = (
        "import json, os; "
        f"json.dump({{k: os.environ.get(k) for k in ('greeting', 'DB__PASSWORD', 'API-KEY', 'API_KEY')}}, "
        f"open({str(seen)!r}, 'w')); print('db=' + os.environ['DB__PASSWORD']); print('api=' + os.environ['API_KEY'])"
    )

    result = invoke(
        "run", "--mask", "--fake-vault", seed, "--appconfig", STORE, "--key-filter", "app:*", "--trim-prefix", "app:",
        "--", sys.executable, "-c", code,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert json.loads(seen.read_text()) == {
        "greeting": "hello",  # a name that is already a variable name is kept as written
        "DB__PASSWORD": SECRET,
        "API-KEY": None,
        "API_KEY": OTHER,
    }
    assert "db=<concealed by kvconfig>" in result.stdout  # the App Configuration reference, by its content type
    assert "api=<concealed by kvconfig>" in result.stdout  # the @Microsoft.KeyVault text
    assert SECRET not in result.output
    assert OTHER not in result.output


def test_run_refuses_a_store_with_a_container_app(seed: Path, tmp_path: Path) -> None:
    app = tmp_path / "app.json"
    app.write_text("{}")
    result = invoke("run", "--fake-vault", seed, "--appconfig", STORE, "--containerapp", app, "--", "true")
    assert result.exit_code == 2
    assert "drop --appconfig" in result.stderr


def test_inject_fills_the_template_settings_the_store_names(seed: Path, tmp_path: Path) -> None:
    template = tmp_path / "appsettings.json"
    template.write_text(json.dumps({"db": {"password": "", "host": "db.local"}, "greeting": "hi"}))
    common = ("--fake-vault", seed, "--appconfig", STORE, "--key-filter", "app:*", "--trim-prefix", "app:")

    masked = invoke("inject", "-i", template, *common)
    out = tmp_path / "rendered.json"
    written = invoke("inject", "-i", template, *common, "--reveal", "-o", out)

    assert masked.exit_code == 0, masked.output
    assert json.loads(masked.stdout) == {"db": {"password": "********", "host": "db.local"}, "greeting": "hello"}
    assert SECRET not in masked.output
    assert "2 key-values of the store name none of them" not in masked.stderr  # api-key is the only one unused
    assert "1 key-values of the store name none of them" in masked.stderr
    assert written.exit_code == 0, written.output
    assert json.loads(out.read_text()) == {"db": {"password": SECRET, "host": "db.local"}, "greeting": "hello"}
    assert out.stat().st_mode & 0o777 == 0o600


def test_inject_fills_a_dotenv_template_named_as_variables_as_run_names_the_store_keys(
    seed: Path, tmp_path: Path
) -> None:
    """A .env template names its settings as run and resolve name a store's keys (db:password -> DB__PASSWORD; a key
    that is already a variable name, greeting, is kept as written, so GREETING is not it)."""
    template = tmp_path / ".env"
    template.write_text("DB__PASSWORD=\nGREETING=hi\nUNRELATED=kept\n")
    common = ("--fake-vault", seed, "--appconfig", STORE, "--key-filter", "app:*", "--trim-prefix", "app:")

    masked = invoke("inject", "-i", template, *common)
    revealed = invoke("inject", "-i", template, *common, "--reveal")

    assert masked.exit_code == 0, masked.output
    assert masked.stdout.splitlines() == ["DB__PASSWORD='********'", "GREETING=hi", "UNRELATED=kept"]
    assert SECRET not in masked.output
    assert revealed.exit_code == 0, revealed.output
    assert f"DB__PASSWORD={SECRET}" in revealed.stdout.replace("'", "")


def test_inject_refuses_a_store_for_a_text_template(seed: Path, tmp_path: Path) -> None:
    template = tmp_path / "nginx.conf.tmpl"
    template.write_text("password @Microsoft.KeyVault(VaultName=contoso-app;SecretName=db-password);\n")
    result = invoke("inject", "-i", template, "--fake-vault", seed, "--appconfig", STORE)
    assert result.exit_code == 2
    assert "--appconfig fills the settings" in result.stderr


def test_resolve_for_azure_pipelines_marks_store_references_secret(seed: Path) -> None:
    result = invoke(
        "resolve", "--fake-vault", seed, "--appconfig", STORE, "--key-filter", "app:*", "--trim-prefix", "app:",
        "--format", "azure-pipelines", env={"TF_BUILD": "True"},
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    secret_lines = [line for line in lines if "issecret=true" in line]
    assert len(secret_lines) == 2  # db:password (by content type) and api-key (by its text)
    assert any("variable=greeting" in line and "issecret=true" not in line for line in lines)


def test_a_store_from_the_environment_is_left_out_of_a_text_template(seed: Path, tmp_path: Path) -> None:
    template = tmp_path / "nginx.conf.tmpl"
    template.write_text("password @Microsoft.KeyVault(VaultName=contoso-app;SecretName=db-password);\n")
    result = invoke("inject", "-i", template, "--fake-vault", seed, env={"KVCONFIG_APPCONFIG": STORE})
    assert result.exit_code == 0, result.output
    assert result.stdout == "password ********;\n"
    assert "KVCONFIG_APPCONFIG is not used" in result.stderr
