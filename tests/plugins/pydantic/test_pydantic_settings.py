"""kvconfig.settings through pydantic-settings, against the fake Key Vault (patched in by the ``fake_keyvault``
fixture, so the default resolver's ``DefaultAzureCredential`` and aiohttp transport reach it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pydantic_settings")

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_settings import (
    AzureKeyVaultSettingsSource,
    BaseSettings,
    JsonConfigSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from kvconfig import ResolutionError, SecretResolver
from kvconfig.fake import FakeKeyVault
from kvconfig.settings import (
    KeyVaultReferences,
    KeyVaultSecretsSource,
    KeyVaultSettings,
    KeyVaultSettingsConfigDict,
)

VAULT = "https://myvault.vault.azure.net"


def ref(name: str, vault: str = "myvault") -> str:
    return f"@Microsoft.KeyVault(VaultName={vault};SecretName={name})"


class Database(BaseModel):
    host: str = "localhost"
    password: SecretStr


class RefSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__")

    api_key: SecretStr
    database: Database
    mode: str = "dev"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (KeyVaultReferences(settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings),)


# -- KeyVaultReferences --------------------------------------------------------------------------------------------


@pytest.mark.keyvault_secrets({"myvault": {"api": "k3y", "db": "pa55"}})
def test_references_in_env_resolve_including_nested_fields(
    fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_API_KEY", ref("api"))
    monkeypatch.setenv("APP_DATABASE__PASSWORD", ref("db"))

    settings = RefSettings()

    assert isinstance(settings.api_key, SecretStr)
    assert settings.api_key.get_secret_value() == "k3y"
    assert settings.database.password.get_secret_value() == "pa55"
    assert settings.database.host == "localhost"


@pytest.mark.keyvault_secrets({"myvault": {"api": "k3y", "db": "pa55"}})
def test_references_in_init_kwargs_dotenv_and_secrets_dir_resolve(
    fake_keyvault: FakeKeyVault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(f"APP_API_KEY={ref('api')}\n")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "APP_MODE").write_text(ref("db"))
    monkeypatch.chdir(tmp_path)

    settings = RefSettings(database={"password": ref("db")}, _env_file=".env", _secrets_dir=secrets)  # type: ignore[call-arg]

    assert settings.api_key.get_secret_value() == "k3y"
    assert settings.database.password.get_secret_value() == "pa55"
    assert settings.mode == "pa55"


@pytest.mark.keyvault_secrets({"myvault": {"api": "k3y", "db": "pa55"}})
def test_a_reference_wrapped_in_secret_str_resolves_into_a_secret_str(fake_keyvault: FakeKeyVault) -> None:
    settings = RefSettings(api_key=SecretStr(ref("api")), database={"password": SecretStr(ref("db"))})

    assert isinstance(settings.api_key, SecretStr)
    assert settings.api_key.get_secret_value() == "k3y"
    assert settings.database.password.get_secret_value() == "pa55"


@pytest.mark.keyvault_secrets({"myvault": {"api": "k3y"}})
def test_a_base_class_init_argument_wrapped_in_secret_str_resolves_and_stays_hidden(
    fake_keyvault: FakeKeyVault,
) -> None:
    class Settings(KeyVaultSettings):
        api_key: SecretStr
        plain: SecretStr = SecretStr("not a reference")

    settings = Settings(api_key=SecretStr(ref("api")))

    assert settings.api_key.get_secret_value() == "k3y"
    assert settings.plain.get_secret_value() == "not a reference"
    assert "k3y" not in repr(settings)
    assert settings.keyvault_status.references == {"api_key": ref("api")}


@pytest.mark.keyvault_secrets({"myvault": {}})
def test_a_bad_reference_wrapped_in_secret_str_is_reported(fake_keyvault: FakeKeyVault) -> None:
    with pytest.raises(ResolutionError, match="SecretNotFound") as caught:
        RefSettings(api_key=SecretStr(ref("missing")), database={"password": "p"})

    assert [failure.setting for failure in caught.value.failures] == ["api_key"]


@pytest.mark.keyvault_secrets({"myvault": {"api": "from-vault"}})
def test_higher_priority_plain_value_wins_and_hidden_reference_is_not_read(
    fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_API_KEY", ref("does-not-exist"))
    monkeypatch.setenv("APP_DATABASE__PASSWORD", "plain")

    settings = RefSettings(api_key=ref("api"))

    assert settings.api_key.get_secret_value() == "from-vault"
    assert settings.database.password.get_secret_value() == "plain"
    assert fake_keyvault.operation_counts["GetSecret"] == 1


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55", "api": "k3y"}})
def test_references_in_a_json_file_source_resolve_at_any_depth(fake_keyvault: FakeKeyVault, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_key": ref("api"), "database": {"host": "db.internal", "password": ref("db")}}))

    class JsonSettings(BaseSettings):
        model_config = SettingsConfigDict(json_file=config)
        api_key: SecretStr
        database: Database

        @classmethod
        def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], *sources: PydanticBaseSettingsSource, **kw: Any
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return KeyVaultReferences.wrap(settings_cls, JsonConfigSettingsSource(settings_cls))

    settings = JsonSettings()

    assert settings.database.host == "db.internal"
    assert settings.database.password.get_secret_value() == "pa55"


@pytest.mark.keyvault_secrets({"myvault": {"api": "k3y"}})
def test_every_bad_reference_is_reported_at_once_without_values(
    fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_API_KEY", ref("missing"))
    monkeypatch.setenv("APP_DATABASE__PASSWORD", "@Microsoft.KeyVault(VaultName=myvault;SecretName=bad_name)")
    monkeypatch.setenv("APP_MODE", ref("api"))

    with pytest.raises(ResolutionError) as caught:
        RefSettings()

    failures = {failure.setting: failure for failure in caught.value.failures}
    assert set(failures) == {"api_key", "database.password"}
    assert failures["api_key"].status == "SecretNotFound"
    assert failures["api_key"].origin == "environment"
    assert failures["database.password"].status == "InvalidSyntax"
    assert "k3y" not in str(caught.value)


@pytest.mark.keyvault_secrets({"myvault": {"api": "k3y", "db": "pa55"}})
def test_a_shared_resolver_caches_across_loads(fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_API_KEY", ref("api"))
    monkeypatch.setenv("APP_DATABASE__PASSWORD", ref("db"))

    with SecretResolver() as resolver:

        class Shared(RefSettings):
            @classmethod
            def settings_customise_sources(
                cls, settings_cls: type[BaseSettings], *sources: PydanticBaseSettingsSource, **kw: Any
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                return (KeyVaultReferences(settings_cls, *sources, *kw.values(), resolver=resolver),)

        Shared()
        Shared()

    assert fake_keyvault.operation_counts["GetSecret"] == 2


@pytest.mark.keyvault_secrets({"myvault": {"api": "k3y"}})
def test_a_resolver_that_keeps_failures_keeps_the_reference_text(
    fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("APP_API_KEY", ref("api"))
    monkeypatch.setenv("APP_DATABASE__PASSWORD", ref("missing"))

    with SecretResolver(on_failure="keep") as resolver:

        class Keeping(RefSettings):
            @classmethod
            def settings_customise_sources(
                cls, settings_cls: type[BaseSettings], *sources: PydanticBaseSettingsSource, **kw: Any
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                return (KeyVaultReferences(settings_cls, *sources, *kw.values(), resolver=resolver),)

        settings = Keeping()

    assert settings.api_key.get_secret_value() == "k3y"
    assert settings.database.password.get_secret_value() == ref("missing")
    assert "SecretNotFound" in caplog.text


# -- KeyVaultSecretsSource -----------------------------------------------------------------------------------------


class Inner(BaseModel):
    user_name: str = "u"
    password: str = "p"


class PerField(BaseSettings):
    api_key: str
    db_password: str = "default"
    timeout: int = 5
    database: Inner = Inner()


def _vault_contents(fake: FakeKeyVault) -> None:
    for name, value in {
        "api-key": "k-dash",
        "APIKEY": "k-upper",
        "app-api-key": "k-prefixed",
        "timeout": "30",
        "database--password": "nested-pw",
        "database--user-name": "nested-user",
        "unrelated": "x",
    }.items():
        fake.set_secret("myvault", name, value)
    for index in range(30):
        fake.set_secret("myvault", f"noise-{index}", "n")


def _sources(options: dict[str, Any]) -> tuple[type[BaseSettings], type[BaseSettings]]:
    def make(kind: str) -> type[BaseSettings]:
        class Settings(PerField):
            @classmethod
            def settings_customise_sources(
                cls, settings_cls: type[BaseSettings], *sources: PydanticBaseSettingsSource, **kw: Any
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                from azure.identity import DefaultAzureCredential

                source: PydanticBaseSettingsSource
                if kind == "ours":
                    source = KeyVaultSecretsSource(settings_cls, VAULT, **options)
                else:
                    source = AzureKeyVaultSettingsSource(settings_cls, VAULT, DefaultAzureCredential(), **options)
                return (source,)

        return Settings

    return make("ours"), make("pydantic")


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"dash_to_underscore": True}, id="dash_to_underscore"),
        pytest.param({"dash_to_underscore": True, "env_prefix": "app-"}, id="prefix"),
        pytest.param({"dash_to_underscore": True, "case_sensitive": False}, id="case-insensitive"),
        pytest.param({"snake_case_conversion": True}, id="snake_case_conversion"),
    ],
)
def test_per_field_source_reads_what_azure_key_vault_settings_source_reads(
    fake_keyvault: FakeKeyVault, options: dict[str, Any]
) -> None:
    _vault_contents(fake_keyvault)
    ours_cls, theirs_cls = _sources(options)

    theirs = theirs_cls().model_dump()
    lists_before = fake_keyvault.operation_counts["GetSecrets"]
    ours = ours_cls().model_dump()

    assert ours == theirs
    assert fake_keyvault.operation_counts["GetSecrets"] == lists_before


def test_per_field_missing_or_disabled_secret_falls_back_to_the_default(fake_keyvault: FakeKeyVault) -> None:
    ours, _ = _sources({"dash_to_underscore": True})
    fake_keyvault.set_secret("myvault", "api-key", "k")
    fake_keyvault.set_secret("myvault", "db-password", "off", enabled=False)

    settings = ours().model_dump()

    assert settings["db_password"] == "default"  # disabled: absent, as pydantic-settings' List never shows it
    assert settings["timeout"] == 5


def test_per_field_missing_required_secret_is_a_validation_error(fake_keyvault: FakeKeyVault) -> None:
    ours, _ = _sources({"dash_to_underscore": True})

    with pytest.raises(ValidationError, match="api_key"):
        ours()


def test_per_field_source_reports_unreadable_secrets_together(fake_keyvault: FakeKeyVault) -> None:
    fake_keyvault.inject_fault(status=403, times=None, operation="GetSecret")
    ours, _ = _sources({"dash_to_underscore": True})

    with pytest.raises(ResolutionError) as caught:
        ours()

    assert {failure.setting for failure in caught.value.failures} >= {"api-key", "db-password", "timeout"}
    assert {failure.status for failure in caught.value.failures} == {"AccessToKeyVaultDenied"}


def test_per_field_source_with_a_resolver_that_omits_failures_falls_through(fake_keyvault: FakeKeyVault) -> None:
    fake_keyvault.set_secret("myvault", "api-key", "k")
    fake_keyvault.set_secret("myvault", "db-password", "unreadable")
    fake_keyvault.inject_fault(
        status=403, times=None, operation="GetSecret", predicate=lambda request: "/db-password" in request.url
    )

    for on_failure in ("keep", "omit"):
        with SecretResolver(on_failure=on_failure) as resolver:
            ours, _ = _sources({"dash_to_underscore": True, "resolver": resolver})
            settings = ours()

        assert settings.model_dump()["api_key"] == "k"
        assert settings.model_dump()["db_password"] == "default"  # not the reference text


def test_per_field_source_skips_fields_a_higher_source_set(
    fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    _vault_contents(fake_keyvault)

    class EnvFirst(PerField):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            **rest: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (env_settings, KeyVaultSecretsSource(settings_cls, VAULT, dash_to_underscore=True))

    monkeypatch.setenv("API_KEY", "from-env")
    monkeypatch.setenv("TIMEOUT", "7")
    urls: list[str] = []
    fake_keyvault.listeners.append(lambda record: urls.append(record.url))

    settings = EnvFirst()

    assert (settings.model_dump()["api_key"], settings.model_dump()["timeout"]) == ("from-env", 7)
    assert "/secrets/api-key" not in " ".join(urls)
    assert "/secrets/timeout" not in " ".join(urls)


# -- KeyVaultSettings ----------------------------------------------------------------------------------------------


class AppSettings(KeyVaultSettings):
    model_config = KeyVaultSettingsConfigDict(env_prefix="APP_", keyvault_url=VAULT)

    db_password: SecretStr
    api_key: str = "none"
    log_level: str = "INFO"


@pytest.mark.keyvault_secrets({"myvault": {"db-password": "pa55", "api": "k3y"}})
def test_base_class_reads_fields_and_references_and_hides_them_in_repr(
    fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_API_KEY", ref("api"))

    settings = AppSettings()

    assert isinstance(settings.db_password, SecretStr)
    assert settings.db_password.get_secret_value() == "pa55"
    assert settings.api_key == "k3y"
    for text in (repr(settings), str(settings)):
        assert "k3y" not in text
        assert "pa55" not in text
        assert "log_level='INFO'" in text
    status = settings.keyvault_status
    assert status.references == {"api_key": ref("api")}
    assert status.secrets == (f"{VAULT}/secrets/db-password",)
    assert status.uses(VAULT, "API")
    assert status.uses(VAULT, "db-password")
    assert fake_keyvault.operation_counts["GetSecrets"] == 0


@pytest.mark.keyvault_secrets({"myvault": {"db-password": "v1", "api": "a1"}})
def test_refresh_returns_a_new_object_with_new_versions(
    fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_API_KEY", ref("api"))
    first = AppSettings()
    fake_keyvault.set_secret("myvault", "db-password", "v2")
    fake_keyvault.set_secret("myvault", "api", "a2")

    second = first.refresh()

    assert second is not first
    assert (first.db_password.get_secret_value(), first.api_key) == ("v1", "a1")
    assert (second.db_password.get_secret_value(), second.api_key) == ("v2", "a2")
    assert second.keyvault_status.changed == {"api_key", f"{VAULT}/secrets/db-password"}


@pytest.mark.keyvault_secrets({"myvault": {"db-password": "v1", "api": "a1"}})
def test_refresh_keeps_last_good_values_when_the_vault_is_unreachable(
    fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_API_KEY", ref("api"))

    def resolver() -> SecretResolver:
        return SecretResolver(client_options={"retry_total": 0})

    class Fragile(AppSettings):
        model_config = KeyVaultSettingsConfigDict(keyvault_resolver=resolver)

    first = Fragile()
    fake_keyvault.inject_fault(status=503, times=None)

    second = first.refresh()

    assert second.api_key == "a1"
    assert second.db_password.get_secret_value() == "v1"
    # log-level had no secret at the last load: it stays absent, and stale because that could not be confirmed
    assert second.keyvault_status.stale == {
        "api_key",
        f"{VAULT}/secrets/db-password",
        f"{VAULT}/secrets/log-level",
    }


@pytest.mark.keyvault_secrets({"myvault": {"db-password": "v1", "api": "a1"}})
def test_refresh_raises_when_a_reference_became_wrong(
    fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_API_KEY", ref("api"))
    first = AppSettings()
    monkeypatch.setenv("APP_API_KEY", ref("gone"))

    with pytest.raises(ResolutionError, match="SecretNotFound"):
        first.refresh()
    assert first.api_key == "a1"


async def test_refresh_async_and_load_async(fake_keyvault: FakeKeyVault) -> None:
    fake_keyvault.set_secret("myvault", "db-password", "v1")
    settings = await AppSettings.load_async()
    fake_keyvault.set_secret("myvault", "db-password", "v2")

    refreshed = await settings.refresh_async()

    assert refreshed.db_password.get_secret_value() == "v2"
