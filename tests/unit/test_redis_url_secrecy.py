"""A Redis URL whose password holds an unescaped ``#``, ``/`` or ``?`` ends its host early, so redis-py reads the
password's head as the port and says so ("Port could not be cast to integer value as '<password>'"). Such a URL is
refused where it is given, by every entry point, without showing any of it."""

from __future__ import annotations

import asyncio

import pytest

from kvconfig.crypto import LocalKeyWrapper, generate_key
from kvconfig.fleet import FleetEnvironmentError, RedisSharedCache, fleet_from_environment
from kvconfig.fleet.redis_ops import is_redis_url
from kvconfig.references import parse_reference

PASSWORD = "hunter2XYZZY"
KEK = "https://contoso.vault.azure.net/keys/kvconfig-kek"
BAD_URLS = [
    f"redis://:{PASSWORD}#tail@cache.example:6379/0",
    f"rediss://user:{PASSWORD}/tail@cache.example:6380",
    f"redis://:{PASSWORD}?tail@cache.example",
    "redis://cache.example:99999",
]
wrapper = LocalKeyWrapper(generate_key("oct", size=256), "https://contoso.vault.azure.net/keys/k/" + "0" * 32)


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_url_whose_port_cannot_be_read_is_no_redis_url(url: str) -> None:
    assert not is_redis_url(url)


@pytest.mark.parametrize("url", BAD_URLS)
def test_the_environment_refuses_it_without_showing_it(url: str) -> None:
    with pytest.raises(FleetEnvironmentError) as caught:
        fleet_from_environment(environ={"KVCONFIG_REDIS_URL": url, "KVCONFIG_REDIS_KEK": KEK})

    assert PASSWORD not in str(caught.value)
    assert str(caught.value).startswith("KVCONFIG_REDIS_URL must be a redis://")


@pytest.mark.parametrize("url", BAD_URLS)
def test_the_shared_cache_refuses_it_when_made_never_at_a_read(url: str) -> None:
    with pytest.raises(ValueError) as caught:
        RedisSharedCache(url, wrapper)

    assert PASSWORD not in str(caught.value)


def test_a_good_url_is_still_opened_lazily_and_a_read_falls_back_to_the_vault() -> None:
    cache = RedisSharedCache(f"redis://:{PASSWORD}@127.0.0.1:1/0", wrapper, op_timeout=0.5, retry_interval=60)
    ref = parse_reference("@Microsoft.KeyVault(SecretUri=https://contoso.vault.azure.net/secrets/db)")
    assert ref is not None

    async def fetch() -> object:
        return "from-the-vault"

    async def read() -> object:
        try:
            return await cache.get_or_fetch(ref, fetch)  # type: ignore[arg-type]
        finally:
            await cache.aclose()

    assert asyncio.run(read()) == "from-the-vault"
    assert PASSWORD not in str(cache.health())


@pytest.mark.parametrize("url", BAD_URLS[:2])
def test_fleet_rotate_refuses_it_without_printing_it(url: str) -> None:
    from click.testing import CliRunner

    from kvconfig.cli import cli

    result = CliRunner().invoke(cli, ["fleet", "rotate", "--redis", url, "--key", KEK], catch_exceptions=False)

    assert result.exit_code == 2, result.output
    assert "give a redis://, rediss:// or unix:// URL" in result.output
    assert PASSWORD not in result.output
