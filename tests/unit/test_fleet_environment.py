"""kvconfig.fleet from environment variables: no fleet without ``KVCONFIG_REDIS_URL``, and a one-line
``FleetEnvironmentError`` naming the variable (never the Redis URL, which may hold a password) for every bad value,
raised before anything is opened. Also the Redis namespace rule and the key id check shared with the CLI."""

from __future__ import annotations

import re

import pytest

from kvconfig.crypto import LocalKeyWrapper, UnsupportedAlgorithmError, generate_key
from kvconfig.crypto._key_ids import key_encryption_key_id
from kvconfig.errors import UntrustedVaultError
from kvconfig.fleet import FleetEnvironmentError, RedisSharedCache, fleet_from_environment, resolver_from_environment
from kvconfig.sources import SourceError

KEK = "https://contoso.vault.azure.net/keys/kvconfig-kek"
PASSWORD = "hunter2-XYZZY"
URL = f"redis://:{PASSWORD}@cache.example:6379/0"
wrapper = LocalKeyWrapper(generate_key("oct", size=256), "https://contoso.vault.azure.net/keys/k/" + "0" * 32)


def failure(environ: dict[str, str], **options: object) -> str:
    with pytest.raises(FleetEnvironmentError) as caught:
        fleet_from_environment(environ=environ, **options)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message
    assert PASSWORD not in message
    return message


@pytest.mark.parametrize("environ", [{}, {"KVCONFIG_REDIS_URL": ""}, {"KVCONFIG_REDIS_KEK": KEK}])
def test_no_redis_url_means_no_fleet_and_no_resolver(environ: dict[str, str]) -> None:
    assert fleet_from_environment(environ=environ) is None
    assert resolver_from_environment(environ=environ, embedded=True) is None


@pytest.mark.parametrize(
    "url", [f"http://:{PASSWORD}@cache:6379", f"cache.example:6379/{PASSWORD}", f"redis://[::1:{PASSWORD}", "x" * 5000]
)
def test_a_url_that_is_not_redis_is_refused_without_showing_it(url: str) -> None:
    message = failure({"KVCONFIG_REDIS_URL": url, "KVCONFIG_REDIS_KEK": KEK})

    assert message.startswith("KVCONFIG_REDIS_URL must be a redis://, rediss:// or unix:// URL")
    assert url[:20] not in message


def test_the_key_encryption_key_is_required_with_the_url() -> None:
    message = failure({"KVCONFIG_REDIS_URL": URL})

    assert message.startswith("KVCONFIG_REDIS_KEK is not set: with KVCONFIG_REDIS_URL set")


@pytest.mark.parametrize(
    "kek",
    [
        "https://contoso.vault.azure.net/secrets/kvconfig-kek",
        "http://contoso.vault.azure.net/keys/kvconfig-kek",
        "https://contoso.vault.azure.net/keys/kvconfig-kek/not-a-version",
        "https://contoso.vault.azure.net/keys/kvconfig-kek?x=1",
        "https://user@contoso.vault.azure.net/keys/kvconfig-kek",
        "kvconfig-kek",
    ],
)
def test_a_malformed_key_id_is_refused(kek: str) -> None:
    message = failure({"KVCONFIG_REDIS_URL": URL, "KVCONFIG_REDIS_KEK": kek})

    assert message.startswith("KVCONFIG_REDIS_KEK: give a Key Vault key id: https://<vault>/keys/<name>")


def test_a_key_on_an_untrusted_host_is_refused_naming_the_host() -> None:
    message = failure({"KVCONFIG_REDIS_URL": URL, "KVCONFIG_REDIS_KEK": "https://evil.example.com/keys/kek"})

    assert message.startswith("KVCONFIG_REDIS_KEK names evil.example.com, which is not a Key Vault or Managed HSM host")


@pytest.mark.parametrize("namespace", ["app:x", "a b", "app*", "n" * 65])
def test_a_namespace_that_could_overlap_another_is_refused(namespace: str) -> None:
    environ = {"KVCONFIG_REDIS_URL": URL, "KVCONFIG_REDIS_KEK": KEK, "KVCONFIG_REDIS_NAMESPACE": namespace}
    message = failure(environ)

    assert message.startswith("KVCONFIG_REDIS_NAMESPACE must be 1 to 64 letters, digits, '-', '_' or '.'")


@pytest.mark.parametrize("replicas", ["0", "-3", "abc", "1.5", "100001", "9" * 40, "\uff11\uff12"])
def test_replicas_must_be_a_bounded_whole_number(replicas: str) -> None:
    environ = {"KVCONFIG_REDIS_URL": URL, "KVCONFIG_REDIS_KEK": KEK, "KVCONFIG_FLEET_REPLICAS": replicas}
    message = failure(environ)

    assert message == "KVCONFIG_FLEET_REPLICAS must be a whole number from 1 to 100000."


@pytest.mark.parametrize("replicas", [0, -1, 100_001, True])
def test_a_replicas_argument_out_of_bounds_is_a_value_error(replicas: int) -> None:
    with pytest.raises(ValueError, match="replicas must be a whole number from 1 to 100000"):
        fleet_from_environment(environ={"KVCONFIG_REDIS_URL": URL, "KVCONFIG_REDIS_KEK": KEK}, replicas=replicas)


def test_a_malformed_trusted_host_is_the_callers_error_not_the_variables() -> None:
    environ = {"KVCONFIG_REDIS_URL": URL, "KVCONFIG_REDIS_KEK": KEK}
    with pytest.raises(ValueError) as caught:
        fleet_from_environment(environ=environ, trusted_hosts=["https://not a host/"])

    assert not isinstance(caught.value, FleetEnvironmentError)


def test_the_error_is_a_kvconfig_source_error_and_a_value_error() -> None:
    assert issubclass(FleetEnvironmentError, SourceError)
    assert issubclass(FleetEnvironmentError, ValueError)


# -- the checks shared with ``kvconfig fleet rotate`` ----------------------------------------------------------------


@pytest.mark.parametrize(
    "key_id",
    [
        KEK,
        f"{KEK}/0123456789abcdef0123456789abcdef",
        "https://contoso.managedhsm.azure.net/keys/kek",
        "https://contoso.vault.azure.cn/keys/kek",
    ],
)
def test_key_encryption_key_ids_on_key_vault_and_managed_hsm_hosts_are_accepted(key_id: str) -> None:
    assert key_encryption_key_id(key_id) == key_id


def test_a_listed_host_may_hold_the_key_encryption_key() -> None:
    key_id = "https://keys.internal.example:8443/keys/kek"
    with pytest.raises(UntrustedVaultError) as caught:
        key_encryption_key_id(key_id)

    assert caught.value.host == "keys.internal.example:8443"
    assert key_encryption_key_id(key_id, trusted_hosts=["keys.internal.example:8443"]) == key_id


@pytest.mark.parametrize("namespace", ["app:x", "app:v", "", "a b", "app*", "n" * 65, "ns\n"])
def test_the_shared_cache_refuses_a_namespace_that_could_overlap_another(namespace: str) -> None:
    with pytest.raises(ValueError, match=re.escape("namespace must be 1 to 64 letters, digits, '-', '_' or '.'")):
        RedisSharedCache("redis://127.0.0.1:1/0", wrapper, namespace=namespace)


@pytest.mark.parametrize("namespace", ["kvconfig", "app", "app.x", "team-a_1", "n" * 64])
def test_the_shared_cache_accepts_plain_namespaces(namespace: str) -> None:
    assert RedisSharedCache("redis://127.0.0.1:1/0", wrapper, namespace=namespace).record_key == f"{namespace}:datakey"


@pytest.mark.parametrize("algorithm", ["bogus", "A256KW"])
def test_an_algorithm_the_wrapper_refuses_is_refused_before_a_credential_is_made(
    algorithm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import azure.identity.aio

    made: list[object] = []
    monkeypatch.setattr(azure.identity.aio, "DefaultAzureCredential", lambda *a, **k: made.append(a) or object())
    environ = {"KVCONFIG_REDIS_URL": URL, "KVCONFIG_REDIS_KEK": KEK}

    with pytest.raises(UnsupportedAlgorithmError):
        resolver_from_environment(environ=environ, algorithm=algorithm)

    assert made == []
