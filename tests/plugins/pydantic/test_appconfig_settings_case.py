"""The pydantic source of a store, for a settings class that ignores case: keys whose nested parts differ only in case
(``Database:Host`` and ``database:port``) fill one nested model together; neither replaces the other's fields."""

from __future__ import annotations

from pydantic import BaseModel
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from kvconfig import SecretResolver
from kvconfig.fake import FakeKeyVault
from kvconfig.fake.appconfig import FakeAppConfiguration
from kvconfig.settings import AppConfigurationStore

STORE = "contoso-config"


class Database(BaseModel):
    host: str
    port: int = 5432
    name: str = "default"


def test_nested_keys_differing_in_case_fill_one_model_together() -> None:
    keyvault = FakeKeyVault()
    appconfig = FakeAppConfiguration(keyvault=keyvault)
    appconfig.set(STORE, "Database:Host", "db.internal")
    appconfig.set(STORE, "database:port", "6432")
    appconfig.set(STORE, "DATABASE:name", "orders")
    resolver = SecretResolver(keyvault.async_credential(), transport=keyvault.async_transport)
    store = AppConfigurationStore(
        appconfig.connection_string(STORE), resolver=resolver, transport=appconfig.transport()
    )

    class Settings(BaseSettings):
        database: Database

        @classmethod
        def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], **sources: PydanticBaseSettingsSource
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (store.source(settings_cls),)

    with store:
        settings = Settings()

    assert settings.database == Database(host="db.internal", port=6432, name="orders")


def test_a_key_with_a_dot_is_no_collision_with_the_nested_key_of_the_same_text() -> None:
    # "db.password" names no nested field (the separators are ':' and '__'), so it does not collide with "db:password".
    keyvault = FakeKeyVault()
    appconfig = FakeAppConfiguration(keyvault=keyvault)
    appconfig.set(STORE, "database.host", "spring-style")
    appconfig.set(STORE, "database:host", "db.internal")
    resolver = SecretResolver(keyvault.async_credential(), transport=keyvault.async_transport)
    store = AppConfigurationStore(
        appconfig.connection_string(STORE), resolver=resolver, transport=appconfig.transport()
    )

    with store:
        assert store.tree() == {"database.host": "spring-style", "database": {"host": "db.internal"}}
