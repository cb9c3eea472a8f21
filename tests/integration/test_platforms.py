"""The platforms' files resolved against the fake through the official SDK, the way ``kvconfig run``/``check`` and
the library meet them: Functions' local.settings.json, App Service app settings (its identity and 24-hour rule) and
Container Apps (every secret read with its identity; a container's environment as the platform sets it)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from kvconfig import ResolutionError, SecretResolver
from kvconfig.cli import cli
from kvconfig.fake import FakeKeyVault
from kvconfig.platforms import (
    ManagedIdentity,
    _identity,
    from_appsettings,
    read_containerapp,
    resolve_containerapp,
    resolve_containerapp_secrets,
)

DB = "db-value-7c1e"
SQL = "Server=tcp:sql;Password=sql-value-31ab"
API = "api-value-90fe"
NEW_DB = "db-value-rotated-44d0"
VALUES = (DB, SQL, API, NEW_DB)
UAMI = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reader"


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    path = tmp_path / "vault.json"
    path.write_text(json.dumps({"vaults": {"contoso": {"secrets": {"db": DB, "sql": SQL, "api": API}}}}))
    return path


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> object:
    return CliRunner().invoke(cli, [str(arg) for arg in args], env=env, catch_exceptions=False)


def child_env(tmp_path: Path, *names: str) -> tuple[list[str], Path]:
    """A child command writing the named environment variables to a file (None when unset)."""
    seen = tmp_path / "seen.json"
    code = f"import json, os; json.dump({{k: os.environ.get(k) for k in {names!r}}}, open({str(seen)!r}, 'w'))"
    return ["--", sys.executable, "-c", code], seen


def assert_no_values(text: str) -> None:
    for value in VALUES:
        assert value not in text


# -- Azure Functions ------------------------------------------------------------------------------------------------

LOCAL_SETTINGS = {
    "IsEncrypted": False,
    "Values": {
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "DB_PASSWORD": "@Microsoft.KeyVault(VaultName=contoso;SecretName=db)",
        "MODE": "local",
    },
    "ConnectionStrings": {"Sql": "@Microsoft.KeyVault(SecretUri=https://contoso.vault.azure.net/secrets/sql/)"},
}


def functions_file(tmp_path: Path, settings: dict[str, object] = LOCAL_SETTINGS) -> Path:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps(settings, indent=2))
    return path


def test_run_functions_settings_starts_the_program_with_values_and_connection_strings_resolved(
    seed: Path, tmp_path: Path
) -> None:
    command, seen = child_env(tmp_path, "DB_PASSWORD", "ConnectionStrings:Sql", "MODE", "FUNCTIONS_WORKER_RUNTIME")

    result = invoke("run", "--fake-vault", seed, "--functions-settings", functions_file(tmp_path), *command)

    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert json.loads(seen.read_text()) == {
        "DB_PASSWORD": DB,
        "ConnectionStrings:Sql": SQL,
        "MODE": "local",
        "FUNCTIONS_WORKER_RUNTIME": "python",
    }


def test_a_variable_already_in_the_environment_wins_over_local_settings_as_with_core_tools(
    seed: Path, tmp_path: Path
) -> None:
    command, seen = child_env(tmp_path, "MODE", "DB_PASSWORD")

    result = invoke(
        "run", "--fake-vault", seed, "--functions-settings", functions_file(tmp_path), *command, env={"MODE": "ci"}
    )

    assert json.loads(seen.read_text()) == {"MODE": "ci", "DB_PASSWORD": DB}
    assert "the environment already sets MODE" in result.stderr  # type: ignore[attr-defined]


def test_an_unresolvable_functions_reference_is_reported_by_setting_line_and_status_never_kept(
    seed: Path, tmp_path: Path
) -> None:
    settings = {
        **LOCAL_SETTINGS,
        "Values": {**LOCAL_SETTINGS["Values"], "GONE": "@Microsoft.KeyVault(VaultName=contoso;SecretName=gone)"},
    }  # type: ignore[dict-item]
    path = functions_file(tmp_path, settings)
    command, seen = child_env(tmp_path, "GONE")

    result = invoke("run", "--fake-vault", seed, "--functions-settings", path, *command)

    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert not seen.exists()  # the program never started with the literal reference text
    assert f"GONE ({path}:7) -> " in result.stderr  # type: ignore[attr-defined]
    assert "[SecretNotFound]" in result.stderr  # type: ignore[attr-defined]
    assert_no_values(result.output)  # type: ignore[attr-defined]


def test_check_functions_settings_reports_each_reference_with_its_line_and_portal_status(
    seed: Path, tmp_path: Path
) -> None:
    path = functions_file(tmp_path)

    result = invoke("check", "--fake-vault", seed, "--functions-settings", path, "--format", "json")

    assert result.exit_code == 0  # type: ignore[attr-defined]
    rows = {row["setting"]: row for row in json.loads(result.stdout)}  # type: ignore[attr-defined]
    assert set(rows) == {"DB_PASSWORD", "ConnectionStrings:Sql"}  # the environment is not read unless asked
    assert rows["DB_PASSWORD"]["origin"] == f"{path}:5"
    assert rows["ConnectionStrings:Sql"]["portal_status"] == "Resolved"
    assert_no_values(result.output)  # type: ignore[attr-defined]


def test_an_encrypted_local_settings_file_fails_in_one_line(seed: Path, tmp_path: Path) -> None:
    path = functions_file(tmp_path, {"IsEncrypted": True, "Values": {"A": "CfDJ8AAAA"}})

    result = invoke("run", "--fake-vault", seed, "--functions-settings", path, "--", sys.executable, "-c", "")

    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert result.stderr.strip().count("\n") == 0  # type: ignore[attr-defined]
    assert f"{path}:2: local.settings.json is encrypted" in result.stderr  # type: ignore[attr-defined]


# -- App Service ----------------------------------------------------------------------------------------------------


def appsettings_file(tmp_path: Path) -> Path:
    path = tmp_path / "appsettings.json"
    path.write_text(
        json.dumps(
            [
                {
                    "name": "DB_PASSWORD",
                    "slotSetting": False,
                    "value": "@Microsoft.KeyVault(VaultName=contoso;SecretName=db)",
                },
                {"name": "WEBSITE_RUN_FROM_PACKAGE", "slotSetting": False, "value": "1"},
            ],
            indent=2,
        )
    )
    return path


def test_run_appsettings_reads_with_the_key_vault_reference_identity(
    seed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[ManagedIdentity] = []
    original = _identity.ManagedIdentity.credential

    def recording(self: ManagedIdentity) -> object:
        used.append(self)
        return original(self)  # azure-identity's credential, patched by --fake-vault

    monkeypatch.setattr(_identity.ManagedIdentity, "credential", recording)
    command, seen = child_env(tmp_path, "DB_PASSWORD", "WEBSITE_RUN_FROM_PACKAGE")

    result = invoke(
        "run", "--fake-vault", seed, "--appsettings", appsettings_file(tmp_path),
        "--keyvault-reference-identity", UAMI, *command,
    )  # fmt: skip

    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert json.loads(seen.read_text()) == {"DB_PASSWORD": DB, "WEBSITE_RUN_FROM_PACKAGE": "1"}
    assert used == [ManagedIdentity("resource_id", UAMI)]


def test_app_service_reads_a_versionless_reference_again_only_after_24_hours(tmp_path: Path) -> None:
    fake = FakeKeyVault()
    fake.set_secret("contoso", "db", DB)
    app = from_appsettings(appsettings_file(tmp_path))
    now = [0.0]

    with fake.patch(), SecretResolver(app.credential(), ttl=app.ttl, monotonic=lambda: now[0]) as resolver:
        first = resolver.resolve(app.source.settings, origins=app.source.origins)
        fake.set_secret("contoso", "db", NEW_DB)
        now[0] = 23 * 3600.0
        within = resolver.resolve(app.source.settings, origins=app.source.origins)
        now[0] = 24 * 3600.0 + 1
        after = resolver.resolve(app.source.settings, origins=app.source.origins)

    assert (first["DB_PASSWORD"], within["DB_PASSWORD"], after["DB_PASSWORD"]) == (DB, DB, NEW_DB)


# -- Container Apps -------------------------------------------------------------------------------------------------

CONTAINER_APP = f"""\
name: shop
identity:
  type: SystemAssigned,UserAssigned
  userAssignedIdentities:
    {UAMI}: {{}}
properties:
  configuration:
    secrets:
      - name: db-password
        keyVaultUrl: https://contoso.vault.azure.net/secrets/db
        identity: system
      - name: api-key
        keyVaultUrl: https://contoso.vault.azure.net/secrets/api
        identity: {UAMI}
      - name: greeting
        value: hello
  template:
    containers:
      - name: web
        image: shop/web:1
        env:
          - name: DB_PASSWORD
            secretRef: db-password
          - name: GREETING
            secretRef: greeting
          - name: MODE
            value: production
      - name: worker
        image: shop/worker:1
        env:
          - name: API_KEY
            secretRef: api-key
"""


def containerapp_file(tmp_path: Path, text: str = CONTAINER_APP) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(text)
    return path


def test_run_containerapp_gives_the_chosen_container_its_environment(seed: Path, tmp_path: Path) -> None:
    command, seen = child_env(tmp_path, "DB_PASSWORD", "GREETING", "MODE", "API_KEY")

    result = invoke(
        "run", "--fake-vault", seed, "--containerapp", containerapp_file(tmp_path), "--container", "web", *command
    )

    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert json.loads(seen.read_text()) == {
        "DB_PASSWORD": DB,
        "GREETING": "hello",
        "MODE": "production",
        "API_KEY": None,
    }


def test_a_secret_no_container_uses_is_still_read_and_fails_the_start(seed: Path, tmp_path: Path) -> None:
    text = CONTAINER_APP.replace(
        "      - name: greeting\n",
        "      - name: orphan\n"
        "        keyVaultUrl: https://contoso.vault.azure.net/secrets/orphan\n"
        "        identity: system\n"
        "      - name: greeting\n",
    )
    path = containerapp_file(tmp_path, text)
    command, seen = child_env(tmp_path, "DB_PASSWORD")

    result = invoke("run", "--fake-vault", seed, "--containerapp", path, "--container", "web", *command)
    checked = invoke("check", "--fake-vault", seed, "--containerapp", path, "--format", "json")

    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert not seen.exists()
    assert f"orphan ({path}:16) -> " in result.stderr  # type: ignore[attr-defined]
    assert "[SecretNotFound]" in result.stderr
    assert "used by no container" in result.stderr
    statuses = {row["setting"]: row["status"] for row in json.loads(checked.stdout)}  # type: ignore[attr-defined]
    assert statuses == {"api-key": "OK", "db-password": "OK", "orphan": "SecretNotFound"}
    assert_no_values(result.output + checked.output)  # type: ignore[attr-defined]


def test_run_containerapp_refuses_an_unknown_container_before_reading_any_vault(seed: Path, tmp_path: Path) -> None:
    result = invoke(
        "run",
        "--fake-vault",
        seed,
        "--containerapp",
        containerapp_file(tmp_path),
        "--container",
        "api",
        "--",
        sys.executable,
        "-c",
        "",
    )

    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "app.yaml:19: the app has no container 'api' (its containers: web, worker)." in result.stderr  # type: ignore[attr-defined]


def test_run_containerapp_mask_conceals_every_secret_of_the_app(seed: Path, tmp_path: Path) -> None:
    code = "import os; print(os.environ['DB_PASSWORD'], os.environ['MODE'])"
    result = invoke(
        "run",
        "--mask",
        "--fake-vault",
        seed,
        "--containerapp",
        containerapp_file(tmp_path),
        "--container",
        "web",
        "--",
        sys.executable,
        "-c",
        code,
    )

    assert result.stdout == "<concealed by kvconfig> production\n"  # type: ignore[attr-defined]


def test_a_versionless_key_vault_url_follows_the_latest_version(tmp_path: Path) -> None:
    fake = FakeKeyVault()
    for name, value in (("db", DB), ("api", API)):
        fake.set_secret("contoso", name, value)
    app = read_containerapp(containerapp_file(tmp_path))

    with fake.patch():
        before = resolve_containerapp(app, "web")
        fake.set_secret("contoso", "db", NEW_DB)
        after = resolve_containerapp(app, "web")

    assert (before["DB_PASSWORD"], after["DB_PASSWORD"]) == (DB, NEW_DB)


def test_each_identity_reads_its_own_secrets_with_its_own_resolver(tmp_path: Path) -> None:
    fake = FakeKeyVault()
    fake.set_secret("contoso", "db", DB)
    app = read_containerapp(containerapp_file(tmp_path))
    asked: list[tuple[ManagedIdentity | None, set[str]]] = []

    @contextlib.contextmanager
    def open_resolver(identity: ManagedIdentity | None) -> Iterator[SecretResolver]:
        credential = identity.credential() if identity is not None else None
        with SecretResolver(credential) as resolver:
            original = resolver.resolve_report

            def recorded(settings: dict[str, str], **kwargs: object) -> object:
                asked.append((identity, set(settings)))
                return original(settings, **kwargs)  # type: ignore[arg-type]

            resolver.resolve_report = recorded  # type: ignore[method-assign]
            yield resolver

    with fake.patch(), pytest.raises(ResolutionError) as exc:
        resolve_containerapp_secrets(app, open_resolver=open_resolver)

    assert sorted(asked, key=lambda item: str(item[0])) == [
        (ManagedIdentity("resource_id", UAMI), {"api-key"}),
        (None, {"db-password"}),
    ]
    [failure] = exc.value.failures
    assert failure.setting == "api-key"
    assert failure.status == "SecretNotFound"
    assert "read with identity reader; used by API_KEY in container worker" in failure.detail
