"""``kvconfig fleet rotate`` through click's CliRunner against a real redis-server: re-wrap under the key's new
version, a new data key, the fake vault of a seed, and the one-line errors. Output names ids, never a value, a key or
the Redis URL."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("redis")

import redis
from azure.keyvault.keys import KeyClient
from click.testing import CliRunner, Result

from kvconfig import SecretResolver
from kvconfig.cli import cli
from kvconfig.fake import FakeKeyVault

from .conftest import VAULT_URL, patched_vault_with_kek, ref
from .test_fleet_rotation import wrapper

SEED = Path(__file__).resolve().parents[3] / "examples" / "vault.json"
KEK_URL = f"{VAULT_URL}/keys/fleet-kek"
VALUE = "cli-rotation-plaintext-FROBNITZ"


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["fleet", "rotate", *args], env=env, catch_exceptions=False)


def assert_nothing_secret(result: Result, redis_url: str) -> None:
    assert VALUE not in result.output + result.stderr
    assert redis_url not in result.output + result.stderr


@pytest.fixture
def fake() -> Iterator[FakeKeyVault]:
    """A fake vault patched in for the test: the CLI and the replica below talk to the same one."""
    with patched_vault_with_kek(VALUE) as fake:
        yield fake


def resolve_once(fake: FakeKeyVault, redis_url: str) -> None:
    """One replica resolves a secret: the data key record and a sealed entry exist."""
    from kvconfig.fleet import Fleet, RedisSharedCache

    shared = RedisSharedCache(redis_url, wrapper(fake, Counter()))
    with SecretResolver(fake.async_credential(), fleet=Fleet(shared=shared)) as resolver:
        assert resolver.resolve_value(ref("db")) == VALUE


def record(redis_url: str) -> dict[str, Any]:
    client = redis.Redis.from_url(redis_url)
    try:
        parsed: dict[str, Any] = json.loads(client.get("kvconfig:datakey") or b"null")
        return parsed
    finally:
        client.close()


def test_rotate_rewraps_under_the_keys_new_version(fake: FakeKeyVault, redis_url: str) -> None:
    resolve_once(fake, redis_url)
    before = record(redis_url)
    keys = KeyClient(VAULT_URL, fake.credential(), transport=fake.transport())
    new_kid = keys.rotate_key("fleet-kek").id
    keys.close()

    result = invoke("--redis", redis_url, "--key", KEK_URL)

    assert result.exit_code == 0, result.stderr
    after = record(redis_url)
    assert after["id"] == before["id"]
    assert after["kid"] == new_kid != before["kid"]
    assert result.output.splitlines() == [
        f"re-wrapped data key {before['id']} in namespace kvconfig",
        f"  was wrapped by {before['kid']}",
        f"  now wrapped by {new_kid} (RSA-OAEP-256)",
        "sealed entries: all kept (the data key is the same)",
    ]
    assert_nothing_secret(result, redis_url)


def test_rotate_new_data_key_from_the_environment_deletes_the_sealed_entries(
    fake: FakeKeyVault, redis_url: str
) -> None:
    resolve_once(fake, redis_url)
    before = record(redis_url)

    result = invoke("--new-data-key", env={"KVCONFIG_REDIS_URL": redis_url, "KVCONFIG_REDIS_KEK": KEK_URL})

    assert result.exit_code == 0, result.stderr
    after = record(redis_url)
    assert after["id"] != before["id"]
    assert result.output.splitlines()[0] == f"new data key {after['id']} replaces {before['id']} in namespace kvconfig"
    assert "sealed entries: 2 deleted" in result.output  # the version and the latest pointer of "db"
    client = redis.Redis.from_url(redis_url)
    assert sorted(client.scan_iter("kvconfig:*")) == [b"kvconfig:datakey"]
    client.close()
    assert_nothing_secret(result, redis_url)


def test_rotate_against_the_example_seed_makes_a_data_key_that_another_run_rewraps(redis_url: str) -> None:
    key = "https://contoso-app.vault.azure.net/keys/kvconfig-kek"
    made = invoke("--redis", redis_url, "--key", key, "--new-data-key", "--fake-vault", str(SEED))
    # Another run is another fake vault; the seed pins the key's material and version, so it unwraps the record.
    rewrapped = invoke("--redis", redis_url, "--key", key, "--fake-vault", str(SEED))

    assert made.exit_code == 0, made.stderr
    assert made.output.startswith(f"new data key {record(redis_url)['id']} in namespace kvconfig\n")
    assert rewrapped.exit_code == 0, rewrapped.stderr
    assert f"  now wrapped by {key}/e0a1b2c3d4e5f60718293a4b5c6d7e8f (RSA-OAEP-256)" in rewrapped.output
    assert (
        rewrapped.stderr
        == "kvconfig: warning: the key has no newer version: the record is wrapped by the same version as before.\n"
    )


def test_rotate_refuses_a_record_not_signed_by_the_named_key_and_changes_nothing(
    fake: FakeKeyVault, redis_url: str
) -> None:
    resolve_once(fake, redis_url)  # wrapped by contoso's fleet-kek, which the seed's fake vault does not hold
    before = record(redis_url)
    key = "https://contoso-app.vault.azure.net/keys/kvconfig-kek"

    result = invoke("--redis", redis_url, "--key", key, "--fake-vault", str(SEED))

    assert result.exit_code == 1
    # signed by contoso's key, not by the one named here: refused before any unwrap
    assert result.stderr.startswith("kvconfig: re-wrapping the data key failed: the record was refused (")
    assert "replace it with --new-data-key" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert record(redis_url) == before


def test_rotate_rewrap_without_a_record_says_no_replica_made_one(fake: FakeKeyVault, redis_url: str) -> None:
    result = invoke("--redis", redis_url, "--key", KEK_URL)

    assert result.exit_code == 1
    assert result.stderr.startswith("kvconfig: There is no data key record at kvconfig:datakey to re-wrap")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--key", "https://evil.example.com/keys/kek"], "evil.example.com is not a Key Vault or Managed HSM host"),
        (["--key", f"{VAULT_URL}/secrets/kek"], "give a Key Vault key id"),
        (["--key", KEK_URL, "--keep-entries"], "--keep-entries only applies with --new-data-key"),
        (["--key", KEK_URL, "--namespace", "app:x"], "a namespace is 1 to 64 letters, digits, '-', '_' or '.'"),
    ],
)
def test_rotate_refuses_bad_options_before_reading_anything(args: list[str], message: str) -> None:
    result = invoke("--redis", "redis://127.0.0.1:1/0", *args)

    assert result.exit_code == 2
    assert message in result.stderr


def test_rotate_refuses_a_url_that_is_not_redis() -> None:
    result = invoke("--redis", "http://cache:6379", "--key", KEK_URL)

    assert result.exit_code == 2
    assert "give a redis://, rediss:// or unix:// URL" in result.stderr
    assert "http://cache:6379" not in result.stderr


def test_rotate_with_redis_unreachable_fails_in_one_line(fake: FakeKeyVault) -> None:
    result = invoke("--redis", "redis://127.0.0.1:1/0", "--key", KEK_URL, "--new-data-key")

    assert result.exit_code == 1
    assert result.stderr.startswith("kvconfig: Redis failed while the data key record was being changed (")
    assert len(result.stderr.strip().splitlines()) == 1


def test_rotate_with_a_seed_that_is_not_json_fails_in_one_line(tmp_path: Path, redis_url: str) -> None:
    seed = tmp_path / "vault.json"
    seed.write_text("{not json")

    result = invoke("--redis", redis_url, "--key", KEK_URL, "--fake-vault", str(seed))

    assert result.exit_code == 1
    assert (
        result.stderr
        == f"kvconfig: Cannot use the --fake-vault seed {seed}: it is not valid JSON (line 1, column 2).\n"
    )
