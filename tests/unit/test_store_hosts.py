"""The trusted-host rule of App Configuration stores (``kvconfig.references``): a store name under a cloud's store
domain on the default port, under the loopback emulator's domain on any port, or a listed host; crafted hosts are
refused, and the fake App Configuration serves the same domains from the same list."""

from __future__ import annotations

import pytest

from kvconfig.fake.appconfig import FakeAppConfiguration
from kvconfig.references import (
    APPCONFIG_STORE_DOMAINS,
    LOOPBACK_STORE_DOMAIN,
    is_store_name,
    is_trusted_store_host,
    store_host,
)


@pytest.mark.parametrize(
    "host",
    [
        "contoso-config.azconfig.io",
        "contoso-config.appconfig.azure.com",
        "contoso-config.azconfig.azure.us",
        "contoso-config.azconfig.azure.cn",
        "Contoso-Config.AZCONFIG.IO",  # hosts are case-insensitive
        "contoso-config.azconfig.io:443",  # the default port, written out
        "abcde.azconfig.io",  # 5 characters, the shortest name
        "a" * 50 + ".azconfig.io",  # 50, the longest
        "contoso-config.azconfig.localhost:8443",  # the loopback emulator, any port
        "contoso-config.azconfig.localhost",
    ],
)
def test_stores_of_the_clouds_and_the_loopback_emulator_are_trusted(host: str) -> None:
    assert is_trusted_store_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "azconfig.io",  # the domain itself is no store
        "abcd.azconfig.io",  # 4 characters: no store has that name
        "a" * 51 + ".azconfig.io",
        "-contoso.azconfig.io",  # a name starts and ends with a letter or digit
        "contoso-.azconfig.io",
        "a.contoso-config.azconfig.io",  # one label only
        "contoso-config.azconfig.io.evil.com",
        "contoso-config.azconfig.io:8443",  # a cloud store on another port
        "azconfig.io@evil.com",
        "contoso-config.vault.azure.net",  # a vault is not a store
        "contoso_config.azconfig.io",
        "contoso-config.azconfig.localhost.evil.com:8443",
        "",
    ],
)
def test_anything_else_is_not(host: str) -> None:
    assert not is_trusted_store_host(host)


def test_listed_hosts_and_suffixes_are_trusted_and_a_bad_entry_is_an_error() -> None:
    assert is_trusted_store_host("config.internal.example:8443", ["config.internal.example:8443"])
    assert is_trusted_store_host("eu.config.internal.example", [".config.internal.example"])
    assert not is_trusted_store_host("config.internal.example", ["config.internal.example:8443"])
    with pytest.raises(ValueError, match="must be a host"):
        is_trusted_store_host("contoso-config.azconfig.io", ["https://evil.example"])


@pytest.mark.parametrize(
    ("endpoint", "reason"),
    [
        ("http://contoso-config.azconfig.io", "must start with https://"),
        ("https://azconfig.io@evil.com", "user information"),
        ("https://user:pass@contoso-config.azconfig.io", "user information"),
        ("https://contoso-config.azconfig.io/kv", "no path"),
        ("https://evil.com/contoso-config.azconfig.io", "no path"),
        ("https://evil.com?x=.azconfig.io", "no path, query"),
        ("https://evil.com#.azconfig.io", "no path, query"),
        ("https://evil.com\\@contoso-config.azconfig.io", "user information"),
        ("https://contoso-config.azconfig.io:99999", "invalid port"),
        ("https://[::1]:8443", "not an IPv6 address"),
        ("https://", "has no host"),
    ],
)
def test_an_endpoint_is_https_host_and_port_only(endpoint: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("?", r"\?")):
        store_host(endpoint)


def test_an_endpoint_gives_its_canonical_host() -> None:
    assert store_host("https://Contoso-Config.azconfig.io:443/") == "contoso-config.azconfig.io"
    assert store_host("https://contoso-config.azconfig.localhost:8443") == "contoso-config.azconfig.localhost:8443"


def test_store_names_follow_the_service_rule() -> None:
    assert is_store_name("contoso-config")
    assert not is_store_name("contoso config")
    assert not is_store_name("contosö-config")


def test_the_fake_serves_exactly_the_trusted_domains() -> None:
    fake = FakeAppConfiguration()
    domain = fake.add_loopback_port(8443)
    assert domain == f"{LOOPBACK_STORE_DOMAIN}:8443"
    for suffix in (*APPCONFIG_STORE_DOMAINS, domain):
        assert fake.serves_host(f"contoso-config.{suffix}")
        assert is_trusted_store_host(f"contoso-config.{suffix}")
    for host in ("abcd.azconfig.io", "-contoso.azconfig.io", "contoso-config.azconfig.io.evil.com"):
        assert not fake.serves_host(host)
