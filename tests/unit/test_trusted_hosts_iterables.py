"""``trusted_hosts`` may be any iterable of hosts (``Iterable[str]``): a generator given to ``SecretResolver`` or to
``resolver_from_environment`` is read once, not used up by the check and then seen as empty."""

from __future__ import annotations

from kvconfig import SecretResolver
from kvconfig.fake import FakeKeyVault
from kvconfig.fleet import resolver_from_environment

HOSTS = ["vault.internal.example:8443", ".keys.internal.example"]


def test_the_resolver_keeps_the_hosts_of_a_generator() -> None:
    with SecretResolver(FakeKeyVault().async_credential(), trusted_hosts=(host for host in HOSTS)) as resolver:
        assert resolver.trusted_hosts == tuple(HOSTS)


def test_the_resolver_from_the_environment_keeps_them_too() -> None:
    environ = {
        "KVCONFIG_REDIS_URL": "redis://127.0.0.1:1/0",
        "KVCONFIG_REDIS_KEK": "https://kek.keys.internal.example/keys/kvconfig-kek",
    }
    credential = FakeKeyVault().async_credential()
    resolver = resolver_from_environment(credential, environ=environ, trusted_hosts=(host for host in HOSTS))

    assert resolver is not None
    with resolver:
        assert resolver.trusted_hosts == tuple(HOSTS)
