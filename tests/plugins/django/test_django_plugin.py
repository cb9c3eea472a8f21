"""kvconfig_django with a minimal settings module configured in the test, on the fake Key Vault."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest

pytest.importorskip("django")

import django
from django.conf import settings
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError, SystemCheckError
from django.test.utils import override_settings
from kvconfig_django import clear_records, env, recorded_failures, reference_origins, resolve_settings

from kvconfig import ResolutionError, SecretResolver
from kvconfig.fake import FakeKeyVault

if not settings.configured:
    settings.configure(
        INSTALLED_APPS=["kvconfig_django"],
        DATABASES={},
        SECRET_KEY="not-a-secret-test-key",
        USE_TZ=True,
    )
    django.setup()


@pytest.fixture(autouse=True)
def _fresh_records() -> None:
    clear_records()


def ref(name: str) -> str:
    return f"@Microsoft.KeyVault(VaultName=myvault;SecretName={name})"


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55", "key": "s3cret-key"}})
def test_resolve_settings_resolves_upper_case_settings_and_nested_ones(fake_keyvault: FakeKeyVault) -> None:
    namespace: dict[str, Any] = {
        "SECRET_KEY": ref("key"),
        "DATABASES": {"default": {"ENGINE": "django.db.backends.postgresql", "PASSWORD": ref("db")}},
        "CACHES": {"default": {"LOCATION": f"redis://:{ref('db')}@cache:6379/0"}},
        "lower_case": ref("db"),
        "DEBUG": False,
    }

    written = resolve_settings(namespace)

    assert namespace["SECRET_KEY"] == "s3cret-key"
    assert namespace["DATABASES"]["default"]["PASSWORD"] == "pa55"
    assert namespace["CACHES"]["default"]["LOCATION"] == "redis://:pa55@cache:6379/0"
    assert namespace["lower_case"] == ref("db")
    assert set(written) == {"SECRET_KEY", "DATABASES.default.PASSWORD", "CACHES.default.LOCATION"}
    assert "pa55" not in repr(written)


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_resolve_settings_raises_with_every_failure(fake_keyvault: FakeKeyVault) -> None:
    namespace = {"A": ref("missing"), "B": ref("bad_name"), "C": ref("db")}

    with pytest.raises(ResolutionError) as caught:
        resolve_settings(namespace)

    assert {failure.setting for failure in caught.value.failures} == {"A", "B"}
    assert namespace["C"] == ref("db")  # nothing is written when resolution fails


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_resolve_settings_refuses_a_reference_in_a_tuple_before_writing_anything(fake_keyvault: FakeKeyVault) -> None:
    namespace: dict[str, Any] = {
        "A_PASSWORD": ref("db"),
        "HOSTS": ("db.example.com", ref("db")),
        "DATABASES": ({"PASSWORD": ref("db")},),  # a dict inside a tuple can take its value
    }

    with pytest.raises(TypeError, match=r"tuple at HOSTS\[1\]"):
        resolve_settings(namespace)

    assert namespace["A_PASSWORD"] == ref("db")
    assert namespace["DATABASES"][0]["PASSWORD"] == ref("db")
    assert fake_keyvault.operation_counts["GetSecret"] == 0

    del namespace["HOSTS"]
    assert set(resolve_settings(namespace)) == {"A_PASSWORD", "DATABASES[0].PASSWORD"}
    assert namespace["DATABASES"][0]["PASSWORD"] == "pa55"


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_deferred_errors_reach_manage_py_check_as_one_error_per_reference(fake_keyvault: FakeKeyVault) -> None:
    namespace = {"API_KEY": ref("missing"), "OTHER_KEY": ref("also-missing"), "DB_PASSWORD": ref("db")}
    resolve_settings(namespace, defer_errors=True)
    assert namespace["DB_PASSWORD"] == "pa55"
    assert set(recorded_failures()) >= {"API_KEY", "OTHER_KEY"}

    with override_settings(**namespace), pytest.raises(SystemCheckError) as caught:
        call_command("check")

    report = str(caught.value)
    assert report.count("kvconfig.E001") == 2
    assert "API_KEY" in report
    assert "SecretNotFound" in report
    assert "pa55" not in report


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_deferred_errors_read_each_secret_once(fake_keyvault: FakeKeyVault) -> None:
    namespace = {"API_KEY": ref("missing"), "DB_PASSWORD": ref("db"), "DB_AGAIN": ref("db")}

    written = resolve_settings(namespace, defer_errors=True)

    assert set(written) == {"DB_PASSWORD", "DB_AGAIN"}
    assert namespace["API_KEY"] == ref("missing")
    assert fake_keyvault.operation_counts["GetSecret"] == 2


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_a_resolver_that_keeps_failures_defers_them(fake_keyvault: FakeKeyVault) -> None:
    namespace = {"API_KEY": ref("missing"), "DB_PASSWORD": ref("db")}

    with SecretResolver(on_failure="keep") as resolver:
        resolve_settings(namespace, resolver=resolver)

    assert namespace == {"API_KEY": ref("missing"), "DB_PASSWORD": "pa55"}
    assert set(recorded_failures()) == {"API_KEY"}


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_check_flags_a_good_reference_that_was_never_resolved(fake_keyvault: FakeKeyVault) -> None:
    with override_settings(DB_PASSWORD=ref("db")), pytest.raises(SystemCheckError, match=r"kvconfig\.E002"):
        call_command("check")


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_check_passes_when_everything_is_resolved(fake_keyvault: FakeKeyVault) -> None:
    out = StringIO()
    with override_settings(DB_PASSWORD="pa55"):
        call_command("check", stdout=out)
    assert "no issues" in out.getvalue()


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_kvconfig_status_prints_the_table_and_fails_on_bad_references(fake_keyvault: FakeKeyVault) -> None:
    namespace = {"DB_PASSWORD": ref("db")}
    resolve_settings(namespace)
    out = StringIO()

    with override_settings(**namespace, BROKEN=ref("missing")), pytest.raises(CommandError, match="1 Key Vault"):
        call_command("kvconfig_status", stdout=out, stderr=StringIO())

    table = out.getvalue()
    assert "SETTING" in table
    assert "DB_PASSWORD" in table
    assert "BROKEN" in table
    assert "SecretNotFound" in table
    assert table.strip().splitlines()[-1] == "1 of 2 references resolved."
    assert "pa55" not in table


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_env_names_the_environment_variable_as_the_origin_of_its_reference(
    fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KVCONFIG_TEST_DB", ref("db"))
    monkeypatch.setenv("KVCONFIG_TEST_API_KEY", ref("missing"))
    resolve_settings({"SECRET_KEY": ref("db")})

    assert env("KVCONFIG_TEST_DB") == "pa55"
    with pytest.raises(ResolutionError, match=r"KVCONFIG_TEST_API_KEY \(environment: KVCONFIG_TEST_API_KEY\) -> "):
        env("KVCONFIG_TEST_API_KEY")
    assert env("KVCONFIG_TEST_UNSET", ref("db")) == "pa55"

    assert reference_origins() == {
        "SECRET_KEY": "settings",
        "KVCONFIG_TEST_DB": "environment: KVCONFIG_TEST_DB",
        "KVCONFIG_TEST_API_KEY": "environment: KVCONFIG_TEST_API_KEY",
        "KVCONFIG_TEST_UNSET": "env('KVCONFIG_TEST_UNSET') default",
    }


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_kvconfig_status_names_the_environment_variable_a_failing_reference_came_from(
    fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KVCONFIG_TEST_API_KEY", ref("missing"))
    with pytest.raises(ResolutionError):
        env("KVCONFIG_TEST_API_KEY")
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("kvconfig_status", stdout=out, stderr=StringIO())

    assert "  KVCONFIG_TEST_API_KEY (environment: KVCONFIG_TEST_API_KEY): secret 'missing'" in out.getvalue()


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_kvconfig_status_runs_and_prints_the_table_when_the_system_check_fails(
    fake_keyvault: FakeKeyVault, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace = {"API_KEY": ref("missing")}
    resolve_settings(namespace, defer_errors=True)

    with override_settings(**namespace):
        with pytest.raises(SystemCheckError, match=r"kvconfig\.E001"):
            call_command("check")
        # As manage.py runs it, system checks included (call_command skips them).
        with pytest.raises(SystemExit) as exited:
            ManagementUtility(["manage.py", "kvconfig_status"]).execute()

    out, err = capsys.readouterr()
    assert exited.value.code == 1
    assert "API_KEY" in out
    assert "SecretNotFound" in out
    assert out.strip().splitlines()[-1] == "0 of 1 references resolved."
    assert "SystemCheckError" not in err
    assert "1 Key Vault reference(s) cannot be resolved." in err


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_reports_show_the_reference_as_written_and_where_then_its_normalised_form(
    fake_keyvault: FakeKeyVault,
) -> None:
    namespace = {"API_KEY": ref("missing")}
    resolve_settings(namespace, defer_errors=True, origin="settings.py")
    normalised = "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/missing)"
    out = StringIO()

    with override_settings(**namespace):
        with pytest.raises(SystemCheckError) as caught:
            call_command("check")
        with pytest.raises(CommandError):
            call_command("kvconfig_status", stdout=out, stderr=StringIO())

    assert f"Setting API_KEY (settings.py): Key Vault reference {ref('missing')} (normalised: {normalised})" in str(
        caught.value
    )
    assert f"{ref('missing')} (normalised: {normalised})" in out.getvalue()
