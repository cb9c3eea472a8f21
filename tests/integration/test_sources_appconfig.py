"""``kvconfig.from_appconfig``: a store's key-values as settings through the official client, with origins, content
types, labels in order, trimmed prefixes, feature flags left out, a bound, and one-line errors that never show a
connection string."""

from __future__ import annotations

import pytest

from kvconfig import SourceError, from_appconfig
from kvconfig.fake.appconfig import KEYVAULT_REF_CONTENT_TYPE, FakeAppConfiguration
from kvconfig.sources import StoreAddress
from kvconfig.sources import _appconfig as appconfig_source

STORE = "contoso-config"


@pytest.fixture
def fake() -> FakeAppConfiguration:
    fake = FakeAppConfiguration()
    fake.set(STORE, "app:a", "1")
    fake.set(STORE, "app:a", "1-prod", label="prod")
    fake.set(STORE, "app:b", "2")
    fake.set(STORE, "other", "x")
    fake.set(STORE, ".appconfig.featureflag/beta", '{"enabled": true}', content_type="application/json")
    fake.set_secret_reference(STORE, "app:db", "https://v1.vault.azure.net/secrets/db")
    return fake


def test_connection_string_read_with_labels_in_order_and_prefix_trimmed(fake: FakeAppConfiguration) -> None:
    source = from_appconfig(
        fake.connection_string(STORE),
        key_filter="app:*",
        labels=[None, "prod"],
        trim_prefixes=["app:"],
        transport=fake.transport(),
    )
    assert source.settings == {"a": "1-prod", "b": "2", "db": '{"uri": "https://v1.vault.azure.net/secrets/db"}'}
    assert source.origins["a"] == f"App Configuration {fake.endpoint(STORE)}, key 'app:a', label 'prod'"
    assert source.content_types["db"] == KEYVAULT_REF_CONTENT_TYPE
    assert "Secret=" not in repr(source)


def test_endpoint_read_with_a_token_credential_leaves_feature_flags_out(fake: FakeAppConfiguration) -> None:
    source = from_appconfig(fake.endpoint(STORE), credential=fake.credential(), transport=fake.transport())
    assert sorted(source.settings) == ["app:a", "app:b", "app:db", "other"]


def test_refused_credentials_and_missing_roles_are_one_line_source_errors(fake: FakeAppConfiguration) -> None:
    wrong = FakeAppConfiguration().connection_string(STORE)
    with pytest.raises(SourceError) as caught:
        from_appconfig(wrong, transport=fake.transport())
    assert (
        str(caught.value) == f"Cannot read App Configuration {fake.endpoint(STORE)}: the credential was refused (401)."
    )
    assert wrong.rsplit("Secret=", 1)[1] not in str(caught.value)
    fake.assign_role(STORE, "someone-else", "App Configuration Data Reader")
    with pytest.raises(SourceError, match=r"may not read this store \(403\)"):
        from_appconfig(fake.endpoint(STORE), credential=fake.credential("app"), transport=fake.transport())


def test_a_store_larger_than_the_bound_is_refused(fake: FakeAppConfiguration, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(appconfig_source, "MAX_STORE_SETTINGS", 3)
    with pytest.raises(SourceError, match="holds more than 3 key-values"):
        from_appconfig(fake.connection_string(STORE), transport=fake.transport())


@pytest.mark.parametrize(
    "text",
    [
        "contoso-config",
        "http://contoso-config.azconfig.io",
        "Endpoint=https://x.azconfig.io;Id=a",
        "Endpoint=x;Id=a;Secret=b",
        "Endpoint=https://x.azconfig.io;Id=a;Secret=c2VjcmV0;Extra=1",
        "Endpoint=https://x.azconfig.io;Id=a;Secret=not base64 SUPERSECRET",
        "Endpoint=https://x.azconfig.io;Id=;Secret=c2VjcmV0",
    ],
)
def test_store_addresses_that_are_neither_endpoint_nor_connection_string_are_refused(text: str) -> None:
    with pytest.raises(SourceError) as caught:
        StoreAddress.parse(text)
    assert "Secret" not in str(caught.value).replace("Secret=...", "").replace("access key's Secret", "")
    assert "SUPERSECRET" not in str(caught.value)


@pytest.mark.parametrize("suffix", [";", " ; ", ""])
def test_a_connection_string_with_a_trailing_separator_or_spaces_reads_the_store(
    fake: FakeAppConfiguration, suffix: str
) -> None:
    """The SDK's own parser takes exactly three ';'-separated parts (a trailing ';' was a bare ValueError from it):
    the address hands it the string in its own form."""
    endpoint, key_id, secret = (part.partition("=")[2] for part in fake.connection_string(STORE).split(";"))
    text = f" Id={key_id} ; Endpoint={endpoint};  Secret={secret}{suffix}"

    source = from_appconfig(text, transport=fake.transport())

    assert source.settings
    assert StoreAddress.parse(text).endpoint == endpoint.rstrip("/")
