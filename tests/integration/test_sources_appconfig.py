"""``kvconfig.from_appconfig``: a store's key-values as settings through the official client, with origins, content
types, labels in order, trimmed prefixes, feature flags left out, a bound, and one-line errors that never show a
connection string; a store host outside the App Configuration domains gets no credential, and two keys naming one
setting are refused."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kvconfig import KeyCollisionError, SourceError, UntrustedStoreError, from_appconfig
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


def test_an_untrusted_endpoint_is_refused_before_a_credential_is_made_or_a_request_sent(
    recording_credential: Any, sent_requests: list[str]
) -> None:
    for credential in (None, recording_credential):  # DefaultAzureCredential (recorded too), then one given
        with pytest.raises(UntrustedStoreError) as caught:
            from_appconfig("https://evil.example", credential=credential)
        message = str(caught.value)
        assert message.startswith("Refusing to send a credential to untrusted App Configuration host 'evil.example'")
        assert "--trusted-host evil.example" in message
        assert "\n" not in message
    assert recording_credential.calls == []
    assert sent_requests == []


def test_an_untrusted_connection_string_is_refused_without_showing_its_secret(sent_requests: list[str]) -> None:
    secret = base64.b64encode(b"SUPERSECRET-access-key").decode()
    with pytest.raises(UntrustedStoreError) as caught:
        from_appconfig(f"Endpoint=https://contoso-config.azconfig.io.evil.com;Id=key-1;Secret={secret}")
    assert caught.value.host == "contoso-config.azconfig.io.evil.com"
    assert secret not in str(caught.value)
    assert sent_requests == []


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://contoso-config.azconfig.io.evil.com",
        "https://azconfig.io@evil.com",
        "https://contoso-config.azconfig.io@evil.com",
        "https://evil.com/contoso-config.azconfig.io",
        "https://evil.com#.azconfig.io",
        "https://contoso-config.azconfig.io:8443",
        "https://abcd.azconfig.io",
        "https://localhost:8443",
    ],
)
def test_crafted_store_hosts_are_refused(endpoint: str, recording_credential: Any, sent_requests: list[str]) -> None:
    with pytest.raises(SourceError) as caught:
        from_appconfig(endpoint)
    assert len(str(caught.value).splitlines()) == 1
    assert (recording_credential.calls, sent_requests) == ([], [])


def test_a_listed_host_is_trusted_with_the_credential(recording_credential: Any, sent_requests: list[str]) -> None:
    """trusted_hosts= (the CLI's --trusted-host) lets a store elsewhere receive the token; here the request is
    recorded and refused, so the read fails as an unreachable store does."""
    with pytest.raises(SourceError, match=r"Cannot read App Configuration https://config\.internal\.example:8443"):
        from_appconfig("https://config.internal.example:8443", trusted_hosts=["config.internal.example:8443"])
    assert len(recording_credential.calls) == 1
    assert [url.split("?")[0] for url in sent_requests] == ["https://config.internal.example:8443/kv"]


def test_two_keys_naming_one_setting_once_trimmed_are_refused(fake: FakeAppConfiguration) -> None:
    fake.set(STORE, "a", "plain", label="prod")  # app:a trimmed is 'a' too
    with pytest.raises(KeyCollisionError) as caught:
        from_appconfig(
            fake.connection_string(STORE), labels=[None, "prod"], trim_prefixes=["app:"], transport=fake.transport()
        )
    assert str(caught.value) == (
        f"App Configuration {fake.endpoint(STORE)}: keys 'app:a' (no label) and 'a' (label 'prod') both map to 'a'; "
        "rename one of them or narrow --key-filter/--label (key_filter=, labels=)."
    )
    assert caught.value.keys == (("app:a", None), ("a", "prod"))
