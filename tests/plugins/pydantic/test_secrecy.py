"""No Key Vault value in validation errors or reprs, whichever kvconfig settings class or source is used."""

from __future__ import annotations

import pytest

pytest.importorskip("pydantic_settings")

from pydantic import AliasChoices, AliasPath, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from kvconfig.fake import FakeKeyVault
from kvconfig.settings import KeyVaultReferences, KeyVaultSecretsSource, KeyVaultSettings, KeyVaultSettingsConfigDict

VAULT = "https://myvault.vault.azure.net"
WORD = "hunter2-not-a-port"
LONG = "s3cret-much-too-long"
SECRETS = {"myvault": {"port": WORD, "name": LONG, "db-password": "pa55word", "api": "k3y-value"}}


def ref(name: str) -> str:
    return f"@Microsoft.KeyVault(VaultName=myvault;SecretName={name})"


class Base(KeyVaultSettings):
    model_config = KeyVaultSettingsConfigDict(env_prefix="APP_")

    port: int = 8000
    name: str = Field(default="app", max_length=8)


class Mine(BaseSettings):
    """A user's own class: kvconfig only provides the source."""

    model_config = SettingsConfigDict(env_prefix="APP_")

    port: int = 8000
    name: str = Field(default="app", max_length=8)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return KeyVaultReferences.wrap(settings_cls, init_settings, env_settings)


class MinePerField(BaseSettings):
    """A user's own class reading fields from the vault with kvconfig's per-field source."""

    port: int = 8000

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, KeyVaultSecretsSource(settings_cls, VAULT))


@pytest.mark.parametrize("settings_cls", [Base, Mine], ids=["KeyVaultSettings", "own class + KeyVaultReferences"])
@pytest.mark.parametrize(("variable", "secret", "value"), [("APP_PORT", "port", WORD), ("APP_NAME", "name", LONG)])
@pytest.mark.keyvault_secrets(SECRETS)
def test_a_resolved_value_that_fails_validation_is_not_in_the_error(
    fake_keyvault: FakeKeyVault,
    monkeypatch: pytest.MonkeyPatch,
    settings_cls: type[BaseSettings],
    variable: str,
    secret: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, ref(secret))

    with pytest.raises(ValidationError) as caught:
        settings_cls()

    text = str(caught.value)
    assert secret in text  # the field is named...
    assert value not in text  # ...but not the value it was given
    assert value not in repr(caught.value)


@pytest.mark.keyvault_secrets(SECRETS)
def test_a_per_field_secret_that_fails_validation_is_not_in_the_error(fake_keyvault: FakeKeyVault) -> None:
    with pytest.raises(ValidationError) as caught:
        MinePerField()

    assert "port" in str(caught.value)
    assert WORD not in str(caught.value)


class Aliased(KeyVaultSettings):
    model_config = KeyVaultSettingsConfigDict(keyvault_url=VAULT)

    password: str = Field(validation_alias="DB_PASSWORD_REF")
    key: str = Field(validation_alias=AliasChoices("API_KEY_REF", "OTHER_KEY_REF"))
    nested: str = Field(default="plain", validation_alias=AliasChoices(AliasPath("NESTED_REF", 0), "NESTED_FLAT"))
    shown: str = "visible"


@pytest.mark.keyvault_secrets(SECRETS)
def test_repr_hides_values_of_fields_declared_with_a_validation_alias(
    fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_PASSWORD_REF", ref("db-password"))
    monkeypatch.setenv("OTHER_KEY_REF", ref("api"))

    settings = Aliased()

    assert settings.password == "pa55word"
    assert settings.key == "k3y-value"
    shown = repr(settings) + str(settings)
    assert "pa55word" not in shown
    assert "k3y-value" not in shown
    assert "shown='visible'" in shown
    assert "nested='plain'" in shown


@pytest.mark.keyvault_secrets(SECRETS)
def test_the_user_class_keeps_hiding_after_the_source_switched_it(
    fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_PORT", "9000")

    assert Mine().port == 9000
    assert Mine.model_config.get("hide_input_in_errors") is True
    monkeypatch.setenv("APP_PORT", "plain-but-wrong")
    with pytest.raises(ValidationError) as caught:
        Mine()
    assert "plain-but-wrong" not in str(caught.value)


def test_secret_str_fields_still_repr_as_masks(monkeypatch: pytest.MonkeyPatch) -> None:
    class Plain(KeyVaultSettings):
        token: SecretStr = SecretStr("abc")

    assert "abc" not in repr(Plain())


class Two(KeyVaultSettings):
    model_config = KeyVaultSettingsConfigDict(env_prefix="APP_", keyvault_url=VAULT)

    db_password: SecretStr  # per-field secret db-password
    api_key: str = ""
    name: str = ""


@pytest.mark.keyvault_secrets(SECRETS)
def test_a_targeted_refresh_reads_only_the_named_secret(
    fake_keyvault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_API_KEY", ref("api"))
    monkeypatch.setenv("APP_NAME", ref("name"))
    settings = Two()
    fake_keyvault.set_secret("myvault", "api", "k3y-2")
    fake_keyvault.set_secret("myvault", "db-password", "pa55-2")
    before = fake_keyvault.operation_counts["GetSecret"]

    only_api = settings.refresh(secrets=[(VAULT, "API")])

    assert fake_keyvault.operation_counts["GetSecret"] - before == 1
    assert only_api.api_key == "k3y-2"
    assert only_api.db_password.get_secret_value() == "pa55word"  # kept: not named
    assert only_api.keyvault_status.changed == {"api_key"}

    only_password = only_api.refresh(secrets=[(VAULT, "db-password")])
    assert fake_keyvault.operation_counts["GetSecret"] - before == 2
    assert only_password.db_password.get_secret_value() == "pa55-2"
    assert only_password.keyvault_status.changed == {f"{VAULT}/secrets/db-password"}
