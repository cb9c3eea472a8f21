"""``AppConfigurationStore``: a pydantic-settings source reading a fake App Configuration store through the official
client (key prefix trimmed, labels in order, ``:``/``__`` nesting into models), its Key Vault references resolved by
kvconfig against the fake vault, and refresh through a sentinel key yielding a new settings object."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from kvconfig import KeyCollisionError, ResolutionError, SecretResolver, UntrustedStoreError
from kvconfig.fake import FakeKeyVault
from kvconfig.fake.appconfig import FakeAppConfiguration
from kvconfig.settings import AppConfigurationStore

STORE = "contoso-config"
VAULT = "https://contoso-app.vault.azure.net"
SECRET = "settings-secret-7c2a"


class Database(BaseModel):
    host: str
    port: int = 5432
    password: SecretStr


class Settings(BaseSettings):
    greeting: str = "default"
    max_connections: int = 1
    database: Database
    features: list[str] = []


@pytest.fixture
def fakes() -> tuple[FakeKeyVault, FakeAppConfiguration]:
    keyvault = FakeKeyVault()
    appconfig = FakeAppConfiguration(keyvault=keyvault)
    keyvault.set_secret("contoso-app", "db-password", SECRET)
    appconfig.set(STORE, "app:greeting", "hello")
    appconfig.set(STORE, "app:greeting", "hello from prod", label="prod")
    appconfig.set(STORE, "app:MAX_CONNECTIONS", "20")
    appconfig.set(STORE, "app:database:host", "db.internal")
    appconfig.set(STORE, "app:database__port", "6432")
    appconfig.set_secret_reference(STORE, "app:database:password", f"{VAULT}/secrets/db-password")
    appconfig.set(STORE, "app:features", '["a", "b"]')
    appconfig.set(STORE, "app:unknown:thing", "ignored")
    appconfig.set(STORE, "other:greeting", "not mine")
    appconfig.set(STORE, "sentinel", "1")
    return keyvault, appconfig


def _store(appconfig: FakeAppConfiguration, keyvault: FakeKeyVault, **options: Any) -> AppConfigurationStore:
    resolver = SecretResolver(keyvault.async_credential(), transport=keyvault.async_transport)
    return AppConfigurationStore(
        appconfig.connection_string(STORE),
        key_prefix="app:",
        resolver=resolver,
        transport=appconfig.transport(),
        **options,
    )


def _settings_class(store: AppConfigurationStore) -> type[Settings]:
    class StoreSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, store.source(settings_cls), env_settings)

    return StoreSettings


def test_store_settings_are_trimmed_nested_and_references_resolved(fakes: Any) -> None:
    keyvault, appconfig = fakes
    with _store(appconfig, keyvault) as store:
        settings = _settings_class(store)()
        assert settings.greeting == "hello"
        assert settings.max_connections == 20  # keys match fields whatever their case
        assert (settings.database.host, settings.database.port) == ("db.internal", 6432)  # ':' and '__' nest
        assert settings.database.password.get_secret_value() == SECRET
        assert settings.features == ["a", "b"]  # complex fields take JSON, as from the environment
        assert SECRET not in repr(settings)
    assert keyvault.operation_counts["GetSecret"] == 1


def test_labels_in_order_a_later_one_wins_and_init_arguments_win_over_the_store(fakes: Any) -> None:
    keyvault, appconfig = fakes
    with _store(appconfig, keyvault, labels=[None, "prod"]) as store:
        settings_class = _settings_class(store)
        assert settings_class().greeting == "hello from prod"
        assert settings_class(greeting="given").greeting == "given"


def test_refresh_through_the_sentinel_yields_a_new_object_only_when_it_changed(fakes: Any) -> None:
    keyvault, appconfig = fakes
    with _store(appconfig, keyvault, refresh_on="sentinel") as store:
        settings = _settings_class(store)()
        appconfig.set(STORE, "app:greeting", "changed, sentinel not touched")
        lists_before = appconfig.operation_counts["GetKeyValues"]
        assert store.refresh(settings) is settings  # a 304 on the sentinel: nothing listed again
        assert appconfig.operation_counts["GetKeyValues"] == lists_before

        keyvault.set_secret("contoso-app", "db-password", "rotated")
        appconfig.set(STORE, "sentinel", "2")
        refreshed = store.refresh(settings)
        assert refreshed is not settings
        assert type(refreshed) is type(settings)
        assert refreshed.greeting == "changed, sentinel not touched"
        assert settings.greeting == "hello"  # the old object is untouched
        assert store.loads == 2


def test_every_failing_reference_is_reported_at_once_with_key_and_label(fakes: Any) -> None:
    keyvault, appconfig = fakes
    appconfig.set_secret_reference(STORE, "app:database:password", f"{VAULT}/secrets/absent")
    appconfig.set_secret_reference(STORE, "app:token", "https://evil.example.com/secrets/token", label="prod")
    with _store(appconfig, keyvault, labels=[None, "prod"]) as store, pytest.raises(ResolutionError) as caught:
        _settings_class(store)()
    text = str(caught.value)
    assert "database:password" in text
    assert "SecretNotFound" in text
    assert "UntrustedVault" in text
    assert f"App Configuration {appconfig.endpoint(STORE)}, key 'app:token', label 'prod'" in text


def test_a_refresh_keeps_the_last_good_value_when_the_vault_is_unreachable(
    fakes: Any, caplog: pytest.LogCaptureFixture
) -> None:
    keyvault, appconfig = fakes
    with _store(appconfig, keyvault, refresh_on="sentinel") as store:
        settings_class = _settings_class(store)
        settings_class()
        store.resolver.close()
        store.resolver = SecretResolver(keyvault.async_credential(), transport=_unreachable, timeout=1)
        appconfig.set(STORE, "sentinel", "2")
        with caplog.at_level(logging.WARNING, logger="kvconfig"):
            refreshed = store.refresh(settings_class())
        assert refreshed.database.password.get_secret_value() == SECRET
        assert "keeps the last good value of database:password" in caplog.text
        assert SECRET not in caplog.text


def _unreachable() -> Any:
    from azure.core.exceptions import ServiceRequestError
    from azure.core.pipeline.transport import AsyncHttpTransport

    class Unreachable(AsyncHttpTransport):  # type: ignore[type-arg]
        async def send(self, request: Any, **kwargs: Any) -> Any:
            raise ServiceRequestError("the vault cannot be reached")

        async def open(self) -> None:
            pass

        async def close(self) -> None:
            pass

        async def __aenter__(self) -> Unreachable:
            return self

        async def __aexit__(self, *args: object) -> None:
            pass

    return Unreachable()


def test_validation_errors_do_not_show_resolved_values(fakes: Any) -> None:
    keyvault, appconfig = fakes
    keyvault.set_secret("contoso-app", "port", "not-a-port-" + SECRET)
    appconfig.set_secret_reference(STORE, "app:database__port", f"{VAULT}/secrets/port")  # the port, as a reference
    with _store(appconfig, keyvault) as store, pytest.raises(ValidationError) as caught:
        _settings_class(store)()
    assert SECRET not in str(caught.value)


def test_under_patch_a_store_built_from_its_endpoint_reaches_the_fakes(fakes: Any) -> None:
    _keyvault, appconfig = fakes
    with appconfig.patch(), AppConfigurationStore(appconfig.endpoint(STORE), key_prefix="app:") as store:
        settings = _settings_class(store)()
    assert settings.database.password.get_secret_value() == SECRET


async def test_async_load_and_refresh_run_off_the_event_loop_as_a_lifespan_uses_them(fakes: Any) -> None:
    import asyncio
    import contextlib
    from collections.abc import AsyncIterator

    keyvault, appconfig = fakes
    appconfig.latency = 0.03  # each store request takes 30 ms: a blocked loop would not tick meanwhile
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:  # what a FastAPI lifespan does with the store
        async with _store(appconfig, keyvault, refresh_on="sentinel") as store:
            state["store"] = store
            state["settings"] = await store.load_async(_settings_class(store), greeting="from init")
            yield

    ticking = asyncio.create_task(ticker())
    try:
        async with lifespan():
            store, settings = state["store"], state["settings"]
            assert ticks >= 3  # the loop kept serving while the store was listed and the sentinel read
            assert settings.greeting == "from init"
            assert settings.database.password.get_secret_value() == SECRET

            assert await store.refresh_async(settings) is settings  # 304 on the sentinel
            appconfig.set(STORE, "app:greeting", "refreshed")
            appconfig.set(STORE, "sentinel", "2")
            before = ticks
            refreshed, again = await asyncio.gather(store.refresh_async(settings), store.refresh_async(settings))
            assert ticks > before
            assert {refreshed.greeting, again.greeting} & {"refreshed"}  # one reloaded; the other saw it done
            assert store.loads == 2
    finally:
        ticking.cancel()


async def test_aclose_closes_the_resolver_the_store_made(fakes: Any) -> None:
    keyvault, appconfig = fakes
    async with AppConfigurationStore(
        appconfig.connection_string(STORE), credential=keyvault.async_credential(), transport=appconfig.transport()
    ) as store:
        resolver = store.resolver
        assert resolver.resolve({"plain": "value"}) == {"plain": "value"}
    with pytest.raises(RuntimeError, match="closed"):
        resolver.resolve({"plain": "value"})


def test_an_untrusted_store_is_refused_before_a_credential_or_client_is_used(
    recording_credential: Any, sent_requests: list[str]
) -> None:
    for store in ("https://evil.example", "Endpoint=https://evil.example;Id=k;Secret=c2VjcmV0"):
        with pytest.raises(UntrustedStoreError, match=r"untrusted App Configuration host 'evil\.example'"):
            AppConfigurationStore(store, credential=recording_credential, key_prefix="app:")
    assert (recording_credential.calls, sent_requests) == ([], [])


def test_trusted_hosts_admit_another_store_and_its_vaults_for_the_default_resolver(recording_credential: Any) -> None:
    with AppConfigurationStore(
        "https://config.internal.example:8443",
        credential=recording_credential,
        trusted_hosts=[".internal.example:8443"],
    ) as store:
        assert store.address.endpoint == "https://config.internal.example:8443"
        assert store.resolver.trusted_hosts == (".internal.example:8443",)
    assert recording_credential.calls == []  # nothing was read yet


def test_two_keys_naming_one_field_are_refused(fakes: Any) -> None:
    keyvault, appconfig = fakes
    appconfig.set(STORE, "app:database:port", "7000")  # app:database__port names database.port too
    with _store(appconfig, keyvault) as store, pytest.raises(KeyCollisionError) as caught:
        _settings_class(store)()
    assert "keys 'app:database:port' (no label) and 'app:database__port' (no label) both map to 'database.port'" in (
        str(caught.value)
    )


def test_keys_differing_in_case_are_refused_unless_the_settings_are_case_sensitive(fakes: Any) -> None:
    keyvault, appconfig = fakes
    appconfig.set(STORE, "app:Greeting", "hello again")
    with _store(appconfig, keyvault) as store:
        with pytest.raises(KeyCollisionError, match="both map to 'greeting'"):
            _settings_class(store)()

        class CaseSensitive(_settings_class(store)):  # type: ignore[misc,valid-type]
            model_config = SettingsConfigDict(case_sensitive=True)

        assert CaseSensitive().greeting == "hello"  # Greeting names no field of a case-sensitive class
