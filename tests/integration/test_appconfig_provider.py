"""The official App Configuration provider (``azure.appconfiguration.provider.load``) against the fake store, with Key
Vault references resolved by the provider itself and by kvconfig (``kvconfig.appconfig.load``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from azure.appconfiguration.provider import SettingSelector, WatchKey
from azure.appconfiguration.provider import load as provider_load

from kvconfig import ResolutionError, SecretResolver, UntrustedStoreError
from kvconfig.appconfig import ProviderSecretResolver, load, load_async
from kvconfig.fake import FakeKeyVault
from kvconfig.fake.appconfig import FakeAppConfiguration

STORE = "provider-store"
VAULT_URL = "https://appvault.vault.azure.net"


@pytest.fixture
def fakes() -> tuple[FakeKeyVault, FakeAppConfiguration]:
    keyvault = FakeKeyVault()
    appconfig = FakeAppConfiguration(keyvault=keyvault)
    keyvault.set_secret(VAULT_URL, "db-password", "s3cret-db")
    keyvault.set_secret(VAULT_URL, "api-key", "s3cret-api")
    appconfig.set(STORE, "app:name", "demo")
    appconfig.set(STORE, "app:name", "demo-prod", label="prod")
    appconfig.set_secret_reference(STORE, "app:db", f"{VAULT_URL}/secrets/db-password")
    appconfig.set_secret_reference(STORE, "app:db-again", f"{VAULT_URL}/secrets/db-password")
    appconfig.set_secret_reference(STORE, "app:api", f"{VAULT_URL}/secrets/api-key", label="prod")
    return keyvault, appconfig


@pytest.fixture
def resolver(fakes: tuple[FakeKeyVault, FakeAppConfiguration]) -> Iterator[SecretResolver]:
    keyvault, _ = fakes
    with SecretResolver(keyvault.async_credential(), transport=keyvault.async_transport) as made:
        yield made


def _options(appconfig: FakeAppConfiguration) -> dict[str, object]:
    return {
        "connection_string": appconfig.connection_string(STORE),
        "transport": appconfig.transport(),
        "replica_discovery_enabled": False,
    }


def test_provider_resolves_references_itself_against_the_fake_vault(
    fakes: tuple[FakeKeyVault, FakeAppConfiguration],
) -> None:
    keyvault, appconfig = fakes
    config = provider_load(
        **_options(appconfig),
        keyvault_credential=keyvault.credential(),
        keyvault_client_configs={f"{VAULT_URL}/": {"transport": keyvault.transport()}},
    )
    assert dict(config) == {"app:name": "demo", "app:db": "s3cret-db", "app:db-again": "s3cret-db"}


def test_kvconfig_resolves_every_reference_once_with_labels_selected(
    fakes: tuple[FakeKeyVault, FakeAppConfiguration], resolver: SecretResolver
) -> None:
    keyvault, appconfig = fakes
    config = load(
        **_options(appconfig),
        resolver=resolver,
        selects=[
            SettingSelector(key_filter="*", label_filter="\0"),
            SettingSelector(key_filter="*", label_filter="prod"),
        ],
    )
    assert dict(config) == {
        "app:name": "demo-prod",
        "app:db": "s3cret-db",
        "app:db-again": "s3cret-db",
        "app:api": "s3cret-api",
    }
    assert keyvault.operation_counts["GetSecret"] == 2  # db-password once for both keys, api-key once


def test_second_load_is_served_from_kvconfigs_cache(
    fakes: tuple[FakeKeyVault, FakeAppConfiguration], resolver: SecretResolver
) -> None:
    keyvault, appconfig = fakes
    load(**_options(appconfig), resolver=resolver)
    fetched = keyvault.operation_counts["GetSecret"]
    again = load(**_options(appconfig), resolver=resolver)
    assert again["app:db"] == "s3cret-db"
    assert keyvault.operation_counts["GetSecret"] == fetched


@pytest.mark.usefixtures("provider_fails_at_once")
def test_every_failing_reference_is_reported_with_key_and_label_and_no_value(
    fakes: tuple[FakeKeyVault, FakeAppConfiguration], resolver: SecretResolver
) -> None:
    _keyvault, appconfig = fakes
    appconfig.set_secret_reference(STORE, "app:missing", f"{VAULT_URL}/secrets/not-there")
    appconfig.set_secret_reference(STORE, "app:evil", "https://attacker.example.com/secrets/x", label="prod")
    with pytest.raises(ResolutionError) as raised:
        load(
            **_options(appconfig),
            resolver=resolver,
            selects=[SettingSelector(key_filter="*", label_filter="\0,prod")],
        )
    failures = {failure.setting: failure for failure in raised.value.failures}
    assert set(failures) == {"app:missing", "app:evil (label prod)"}
    assert failures["app:missing"].status == "SecretNotFound"
    assert failures["app:evil (label prod)"].status == "UntrustedVault"
    assert "label 'prod'" in (failures["app:evil (label prod)"].origin or "")
    assert STORE in (failures["app:missing"].origin or "")
    assert "s3cret" not in str(raised.value)


def test_refresh_through_a_sentinel_resolves_new_references_and_keeps_config_on_failure(
    fakes: tuple[FakeKeyVault, FakeAppConfiguration], resolver: SecretResolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The provider's refresh interval is wall-clock (time.time()) and at least one second: its timer reads a clock
    # this test moves on, instead of the test sleeping through the interval.
    from azure.appconfiguration.provider import _refresh_timer

    skew = [0.0]
    monkeypatch.setattr(_refresh_timer, "time", SimpleNamespace(time=lambda: time.time() + skew[0]))
    keyvault, appconfig = fakes
    appconfig.set(STORE, "sentinel", "1")
    config = load(**_options(appconfig), resolver=resolver, refresh_on=[WatchKey("sentinel")], refresh_interval=1)
    keyvault.set_secret(VAULT_URL, "new-secret", "s3cret-new")
    appconfig.set_secret_reference(STORE, "app:new", f"{VAULT_URL}/secrets/new-secret")
    appconfig.set(STORE, "sentinel", "2")
    skew[0] += 1.05  # past the refresh interval
    config.refresh()
    assert config["app:new"] == "s3cret-new"

    appconfig.set_secret_reference(STORE, "app:broken", f"{VAULT_URL}/secrets/absent")
    appconfig.set(STORE, "sentinel", "3")
    skew[0] += 1.05
    with pytest.raises(ResolutionError) as raised:
        config.refresh()
    assert [failure.setting for failure in raised.value.failures] == ["app:broken"]
    assert "app:broken" not in config  # the last good configuration stays in place
    assert config["app:new"] == "s3cret-new"


def test_a_reference_that_resolved_before_keeps_its_last_good_value(
    fakes: tuple[FakeKeyVault, FakeAppConfiguration], caplog: pytest.LogCaptureFixture
) -> None:
    keyvault, appconfig = fakes
    with SecretResolver(keyvault.async_credential(), transport=keyvault.async_transport, ttl=0) as short_lived:
        hook = ProviderSecretResolver(short_lived)
        first = provider_load(**_options(appconfig), **hook.provider_options())
        assert first["app:db"] == "s3cret-db"
        keyvault.inject_fault(status=503, times=None)
        with caplog.at_level(logging.WARNING, logger="kvconfig.appconfig"):
            second = provider_load(**_options(appconfig), **hook.provider_options())
    assert second["app:db"] == "s3cret-db"
    # The resolver itself keeps it now (a resolve after the TTL keeps the last good value while the vault cannot be
    # read) and says which setting did.
    assert "keeping the last good value for app:db" in caplog.text
    assert "s3cret" not in caplog.text


def test_provider_options_refuse_the_providers_own_key_vault_settings(resolver: SecretResolver) -> None:
    hook = ProviderSecretResolver(resolver)
    with pytest.raises(ValueError, match="keyvault_credential"):
        hook.provider_options(keyvault_credential=object())


def test_a_user_response_hook_is_still_called(
    fakes: tuple[FakeKeyVault, FakeAppConfiguration], resolver: SecretResolver
) -> None:
    _, appconfig = fakes
    seen: list[int] = []
    load(**_options(appconfig), resolver=resolver, raw_response_hook=lambda r: seen.append(r.http_response.status_code))
    assert seen
    assert set(seen) == {200}


async def test_aio_provider_resolves_through_kvconfig(fakes: tuple[FakeKeyVault, FakeAppConfiguration]) -> None:
    keyvault, appconfig = fakes
    async with SecretResolver(keyvault.async_credential(), transport=keyvault.async_transport) as made:
        config = await load_async(
            connection_string=appconfig.connection_string(STORE),
            transport=appconfig.async_transport(),
            replica_discovery_enabled=False,
            resolver=made,
        )
        try:
            assert config["app:db"] == "s3cret-db"
            assert keyvault.operation_counts["GetSecret"] == 1
        finally:
            await config.close()


def _ordered_requests(keyvault: FakeKeyVault, appconfig: FakeAppConfiguration) -> list[str]:
    """Which service each request went to, in the order they were served."""
    served: list[str] = []
    for fake, name in ((keyvault, "vault"), (appconfig, "store")):
        dispatch = fake.dispatch

        def recorded(request: object, dispatch: object = dispatch, name: str = name) -> object:
            served.append(name)
            return dispatch(request)  # type: ignore[operator]

        fake.dispatch = recorded  # type: ignore[method-assign]
    return served


def _paged_store(appconfig: FakeAppConfiguration, keyvault: FakeKeyVault) -> None:
    # Three pages of 100: references on the first page only, plain settings after them.
    for index in range(5):
        keyvault.set_secret(VAULT_URL, f"early-{index}", f"early-value-{index}")
        appconfig.set_secret_reference(STORE, f"app:a:{index}", f"{VAULT_URL}/secrets/early-{index}")
    for index in range(250):
        appconfig.set(STORE, f"app:z:{index:03d}", "plain")


@pytest.mark.parametrize("pipeline", [True, False])
def test_pipelined_fetches_start_while_later_pages_are_listed(
    fakes: tuple[FakeKeyVault, FakeAppConfiguration], resolver: SecretResolver, pipeline: bool
) -> None:
    keyvault, appconfig = fakes
    _paged_store(appconfig, keyvault)
    appconfig.latency = 0.05  # room for the first page's references to resolve while the next pages are listed
    served = _ordered_requests(keyvault, appconfig)

    config = load(**_options(appconfig), resolver=resolver, pipeline=pipeline)

    assert config["app:a:0"] == "early-value-0"
    last_page = len(served) - 1 - served[::-1].index("store")
    first_fetch = served.index("vault")
    if pipeline:
        assert first_fetch < last_page, served
    else:
        assert first_fetch > last_page, served


@pytest.mark.usefixtures("provider_fails_at_once")
def test_failures_of_several_pipelined_pages_are_reported_together(
    fakes: tuple[FakeKeyVault, FakeAppConfiguration], resolver: SecretResolver
) -> None:
    keyvault, appconfig = fakes
    _paged_store(appconfig, keyvault)
    appconfig.set_secret_reference(STORE, "app:a:missing", f"{VAULT_URL}/secrets/absent-early")
    appconfig.set_secret_reference(STORE, "app:zz:missing", f"{VAULT_URL}/secrets/absent-late", label="prod")

    with pytest.raises(ResolutionError) as caught:
        load(
            **_options(appconfig),
            resolver=resolver,
            selects=[SettingSelector(key_filter="app:*"), SettingSelector(key_filter="app:*", label_filter="prod")],
        )
    settings = sorted(failure.setting for failure in caught.value.failures)
    assert settings == ["app:a:missing", "app:zz:missing (label prod)"]


async def test_kvconfig_load_refuses_an_untrusted_store_before_the_provider_sees_it(
    resolver: SecretResolver, recording_credential: Any, sent_requests: list[str]
) -> None:
    with pytest.raises(UntrustedStoreError, match=r"host 'evil\.example'"):
        load(endpoint="https://evil.example", credential=recording_credential, resolver=resolver)
    with pytest.raises(UntrustedStoreError, match=r"host 'evil\.example'"):
        await load_async(connection_string="Endpoint=https://evil.example;Id=k;Secret=c2VjcmV0", resolver=resolver)
    assert (recording_credential.calls, sent_requests) == ([], [])
