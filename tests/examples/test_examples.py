"""Every example runs against kvconfig's fake Key Vault (``KVCONFIG_FAKE_SEED=examples/vault.json``), the way a
user would start it; secrets never show in their output."""

import importlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "vault.json"
SECRETS = ("correct-horse-battery-staple", "sk-test-4f9a2c", "django-insecure-example-only")
API_KEY_REF = "@Microsoft.KeyVault(VaultName=contoso-app;SecretName=api-key)"


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "KVCONFIG_FAKE_SEED": str(SEED), **env}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_pydantic_script_runs_against_the_fake() -> None:
    pytest.importorskip("pydantic_settings")
    result = run("examples/pydantic_script.py", APP_API_KEY=API_KEY_REF)

    assert result.returncode == 0, result.stderr
    assert "1 reference(s) and 1 secret(s) read from Key Vault" in result.stdout
    assert_no_secrets(result.stdout + result.stderr)


def test_fastapi_app_serves_settings_and_health(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fastapi")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient")
        from fastapi.testclient import TestClient
    monkeypatch.setenv("KVCONFIG_FAKE_SEED", str(SEED))
    monkeypatch.setenv("APP_API_KEY", API_KEY_REF)
    module = importlib.import_module("examples.fastapi_app.app")

    with TestClient(module.app) as client:
        index = client.get("/")
        health = client.get("/health/kvconfig")

    assert index.json() == {"greeting": "hello", "db_password_length": 28, "api_key_set": True}
    assert health.json()["status"] == "ok"
    assert_no_secrets(index.text + health.text)


def test_fastapi_app_mounts_the_event_grid_route_only_with_its_shared_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fastapi")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient")
        from fastapi.testclient import TestClient
    monkeypatch.setenv("KVCONFIG_FAKE_SEED", str(SEED))
    monkeypatch.setenv("APP_API_KEY", API_KEY_REF)
    monkeypatch.delenv("APP_EVENTGRID_TOKEN", raising=False)
    module = importlib.reload(importlib.import_module("examples.fastapi_app.app"))
    event = [{"eventType": "Microsoft.KeyVault.SecretNewVersionCreated", "data": {"VaultName": "contoso-app"}}]

    with TestClient(module.app) as client:
        assert client.post("/events/keyvault", json=event).status_code in (404, 405)

    monkeypatch.setenv("APP_EVENTGRID_TOKEN", "example-shared-secret")
    module = importlib.reload(module)
    with TestClient(module.app) as client:
        assert client.post("/events/keyvault", json=event).status_code == 401
        validation = [{"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "data": {"validationCode": "c"}}]
        answer = client.post("/events/keyvault?token=example-shared-secret", json=validation)
        assert answer.json() == {"validationResponse": "c"}


def test_flask_app_resolves_config_and_cli_check_passes() -> None:
    pytest.importorskip("flask")
    result = run("-m", "flask", "--app", "examples.flask_app.app", "kvconfig", "check")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "DB_PASSWORD" in result.stdout
    assert "SQLALCHEMY_DATABASE_URI" in result.stdout
    assert_no_secrets(result.stdout + result.stderr)


def test_flask_app_test_client(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("flask")
    from kvconfig.fake import FakeKeyVault

    fake = FakeKeyVault()
    fake.seed(SEED)
    module = importlib.import_module("examples.flask_app.app")
    with fake.patch():
        app = module.create_app()
        try:
            assert app.test_client().get("/").json == {"db_password_length": 28}
            assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql://app:correct-horse-battery-staple@db/app"
        finally:
            module.kv.close(app)


def test_django_app_check_and_status_pass() -> None:
    pytest.importorskip("django")
    check = run("examples/django_app/manage.py", "check")
    status = run("examples/django_app/manage.py", "kvconfig_status")

    assert check.returncode == 0, check.stderr
    assert status.returncode == 0, status.stderr
    assert "3 of 3 references resolved." in status.stdout
    assert_no_secrets(check.stdout + check.stderr + status.stdout + status.stderr)


def test_django_app_check_reports_a_bad_reference_when_deferred() -> None:
    pytest.importorskip("django")
    broken = "@Microsoft.KeyVault(VaultName=contoso-app;SecretName=no-such-secret)"
    result = run("examples/django_app/manage.py", "check", PAYMENTS_API_KEY=broken, KVCONFIG_DEFER_ERRORS="1")

    assert result.returncode == 1
    assert "kvconfig.E001" in result.stderr
    assert "SecretNotFound" in result.stderr
    assert_no_secrets(result.stdout + result.stderr)


def test_appconfig_app_loads_the_fake_store_with_references_into_the_fake_vault() -> None:
    pytest.importorskip("azure.appconfiguration.provider")
    result = run("examples/appconfig_app.py")

    assert result.returncode == 0, result.stderr
    assert "greeting = hello from production" in result.stdout
    assert "db:password = <28 characters from Key Vault>" in result.stdout
    assert "api-key = <14 characters from Key Vault>" in result.stdout
    assert "5 settings loaded from https://contoso-config.azconfig.io" in result.stdout
    assert_no_secrets(result.stdout + result.stderr)


# -- the platforms' own files (issue #14): each run the way its docs page shows ------------------------------------

PLATFORM_SECRETS = (
    "fn-example-db-secret",
    "fn-example-api-key",
    "fn-example-reporting-secret",
    "ca-example-db-password",
    "ca-example-stripe-key",
)


def kvconfig(*args: str) -> subprocess.CompletedProcess[str]:
    result = run("-m", "kvconfig", *args)
    for secret in PLATFORM_SECRETS:
        assert secret not in result.stdout + result.stderr
    return result


def test_functions_app_runs_with_its_local_settings_resolved() -> None:
    result = kvconfig(
        "run", "--fake-vault", "examples/functions_app/vault.json",
        "--functions-settings", "examples/functions_app/local.settings.json",
        "--", sys.executable, "examples/functions_app/function_app.py",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "runtime=python DB_CONNECTION_STRING=69 chars ConnectionStrings:Reporting=57 chars API_KEY=18 chars\n"
    )


def test_container_app_yaml_runs_its_api_container_and_checks_every_secret() -> None:
    ran = kvconfig(
        "run", "--fake-vault", "examples/containerapp/vault.json", "--containerapp", "examples/containerapp/app.yaml",
        "--container", "api", "--", sys.executable, "examples/containerapp/show_env.py",
    )  # fmt: skip
    checked = kvconfig(
        "check", "--fake-vault", "examples/containerapp/vault.json",
        "--containerapp", "examples/containerapp/app.yaml", "--format", "json",
    )  # fmt: skip

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        "DB_PASSWORD: 22 chars",
        "STRIPE_API_KEY: 21 chars",
        "FEATURE_FLAGS: 11 chars",
        "APP_MODE: 10 chars",
    ]
    assert checked.returncode == 0, checked.stderr
    rows = json.loads(checked.stdout)
    assert [(row["setting"], row["status"], row["origin"]) for row in rows] == [
        ("db-password", "OK", "examples/containerapp/app.yaml:17"),
        ("stripe-api-key", "OK", "examples/containerapp/app.yaml:20"),
    ]


def test_the_overviews_container_app_example_compiled_to_arm_runs_as_written() -> None:
    result = kvconfig(
        "run", "--fake-vault", "examples/containerapp/vault.json", "--containerapp", "examples/containerapp/app.json",
        "--", sys.executable, "examples/containerapp/show_env.py",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "DB_PASSWORD: 22 chars"


def test_the_overviews_container_app_example_in_bicep_runs_and_checks_as_written() -> None:
    ran = kvconfig(
        "run", "--fake-vault", "examples/containerapp/vault.json", "--containerapp", "examples/containerapp/app.bicep",
        "--", sys.executable, "examples/containerapp/show_env.py",
    )  # fmt: skip
    checked = kvconfig(
        "check", "--fake-vault", "examples/containerapp/vault.json",
        "--containerapp", "examples/containerapp/app.bicep", "--format", "json",
    )  # fmt: skip

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[0] == "DB_PASSWORD: 22 chars"
    assert checked.returncode == 0, checked.stderr
    rows = json.loads(checked.stdout)
    assert [(row["setting"], row["status"], row["origin"]) for row in rows] == [
        ("db-password", "OK", "examples/containerapp/app.bicep:13"),
    ]


def test_app_service_site_in_bicep_checks_with_portal_statuses_and_lines() -> None:
    result = kvconfig(
        "check", "--fake-vault", "examples/containerapp/vault.json",
        "--appsettings", "examples/appservice/site.bicep", "--format", "json",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert sorted((row["setting"], row["portal_status"], row["origin"]) for row in rows) == [
        ("DB_PASSWORD", "Resolved", "examples/appservice/site.bicep:32"),
        ("STRIPE_API_KEY", "Resolved", "examples/appservice/site.bicep:28"),
    ]


def test_app_service_settings_export_checks_with_portal_statuses() -> None:
    result = kvconfig(
        "check", "--fake-vault", "examples/containerapp/vault.json",
        "--appsettings", "examples/appservice/appsettings.json", "--format", "json",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert sorted((row["setting"], row["portal_status"]) for row in rows) == [
        ("DB_PASSWORD", "Resolved"),
        ("STRIPE_API_KEY", "Resolved"),
    ]


@pytest.mark.parametrize(
    "path",
    sorted(Path(__file__).resolve().parents[2].joinpath("examples").rglob("*.py")),
    ids=lambda path: str(path.relative_to(Path(__file__).resolve().parents[2])),
)
def test_example_command_lines_continue_with_one_backslash_as_a_shell_reads_them(path: Path) -> None:
    """A command line in an example's source is copied from the source: a line ending ``\\\\`` there is a literal
    backslash to the shell, which runs the first half alone and the rest without its variables."""
    doubled = [number for number, line in enumerate(path.read_text().splitlines(), 1) if line.endswith(" \\\\")]
    assert doubled == [], f"{path.name}: lines {doubled} end with a doubled backslash"
