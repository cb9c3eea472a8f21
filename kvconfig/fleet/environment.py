"""The fleet from environment variables: what every replica of an app reads to share the sealed tier on Redis.

- ``KVCONFIG_REDIS_URL``: the shared tier's Redis, ``redis://``, ``rediss://`` or ``unix://`` (unset or empty: no
  fleet). Never shown: it may hold a password.
- ``KVCONFIG_REDIS_KEK``: required with the URL. The key-encryption key, ``https://<vault>/keys/<name>`` (its current
  version wraps) or ``.../<name>/<version>``, on a Key Vault or Managed HSM host.
- ``KVCONFIG_REDIS_NAMESPACE``: the tier's namespace (default ``kvconfig``): letters, digits, ``-``, ``_``, ``.``.
- ``KVCONFIG_FLEET_REPLICAS``: how many replicas share the vaults (default 10); each takes its share of the limit.

Every malformed value raises :class:`FleetEnvironmentError`, one line naming the variable and never its value. What
is opened here (the key clients, a credential made here) is closed with the fleet (``Fleet.aclose``, which the
resolver's ``close`` calls).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kvconfig.crypto import AsyncAzureKeyWrapper
from kvconfig.crypto._key_ids import key_encryption_key_id
from kvconfig.crypto._wrappers import azure_wrap_algorithm
from kvconfig.errors import UntrustedVaultError
from kvconfig.fleet.budget import VaultBudget
from kvconfig.fleet.coordinator import AsyncClosable, Fleet
from kvconfig.fleet.redis_cache import RedisSharedCache
from kvconfig.fleet.redis_ops import NAMESPACE_RULE, is_namespace, is_redis_url, redis_module
from kvconfig.fleet.startup import StartupPolicy
from kvconfig.references import trusted_entries
from kvconfig.resolve import SecretResolver
from kvconfig.sources import SourceError

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.keyvault.keys.crypto.aio import CryptographyClient

__all__ = ["FleetEnvironmentError", "fleet_from_environment", "resolver_from_environment"]

REDIS_URL = "KVCONFIG_REDIS_URL"
REDIS_KEK = "KVCONFIG_REDIS_KEK"
REDIS_NAMESPACE = "KVCONFIG_REDIS_NAMESPACE"
REPLICAS = "KVCONFIG_FLEET_REPLICAS"
DEFAULT_REPLICAS = 10
MAX_REPLICAS = 100_000


class FleetEnvironmentError(SourceError, ValueError):
    """A fleet environment variable is missing or malformed; the message names it, never its value."""


@dataclass(frozen=True)
class _Wanted:
    redis_url: str
    kek: str
    namespace: str
    replicas: int


def _read(
    environ: Mapping[str, str] | None, replicas: int | None, trusted_hosts: Iterable[str], namespace: str | None
) -> _Wanted | None:
    """The fleet the environment asks for, checked; ``None`` without ``KVCONFIG_REDIS_URL``. Nothing is opened."""
    env = os.environ if environ is None else environ
    redis_url = env.get(REDIS_URL, "")
    if not redis_url:
        return None
    if not is_redis_url(redis_url):
        raise FleetEnvironmentError(
            f"{REDIS_URL} must be a redis://, rediss:// or unix:// URL (not shown here: it may hold a password)."
        )
    kek = env.get(REDIS_KEK, "")
    if not kek:
        raise FleetEnvironmentError(
            f"{REDIS_KEK} is not set: with {REDIS_URL} set, it names the Key Vault key that seals the shared tier "
            "(https://<vault>/keys/<name>)."
        )
    try:
        key_encryption_key_id(kek, trusted_hosts=trusted_hosts)
    except UntrustedVaultError as exc:
        raise FleetEnvironmentError(
            f"{REDIS_KEK} names {exc.host}, which is not a Key Vault or Managed HSM host (it would receive a token); "
            "list it in trusted_hosts if it is yours."
        ) from None
    except ValueError as exc:
        raise FleetEnvironmentError(f"{REDIS_KEK}: {exc}") from None
    if namespace is not None and not is_namespace(namespace):
        raise ValueError(f"namespace must be {NAMESPACE_RULE}.")
    if namespace is None:
        namespace = env.get(REDIS_NAMESPACE) or "kvconfig"
        if not is_namespace(namespace):
            raise FleetEnvironmentError(f"{REDIS_NAMESPACE} must be {NAMESPACE_RULE} (':' would overlap namespaces).")
    return _Wanted(redis_url, kek, namespace, _replicas(env, replicas))


def _replicas(env: Mapping[str, str], given: int | None) -> int:
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, int) or not 1 <= given <= MAX_REPLICAS:
            raise ValueError(f"replicas must be a whole number from 1 to {MAX_REPLICAS}.")
        return given
    text = env.get(REPLICAS, "").strip()
    if not text:
        return DEFAULT_REPLICAS
    if len(text) > 6 or not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_REPLICAS:
        raise FleetEnvironmentError(f"{REPLICAS} must be a whole number from 1 to {MAX_REPLICAS}.")
    return int(text)


class _KeyClients:
    """Makes the key wrapper's clients (its key's, and one per version a data key record names) on one credential,
    and closes every one it made."""

    def __init__(self, credential: AsyncTokenCredential) -> None:
        self._credential = credential
        self._made: list[CryptographyClient] = []

    def __call__(self, key_id: str) -> CryptographyClient:
        from azure.keyvault.keys.crypto.aio import CryptographyClient

        made = CryptographyClient(key_id, self._credential)
        self._made.append(made)
        return made

    async def close(self) -> None:
        made, self._made = self._made, []
        for client in made:
            await client.close()


def _needed_packages() -> None:
    """Fail now, with what to install, rather than at the first read."""
    try:
        import azure.identity.aio
        import azure.keyvault.keys.crypto.aio  # noqa: F401
    except ImportError:
        raise ImportError(
            f"{REDIS_URL} turns on the shared tier, which needs azure-identity and azure-keyvault-keys: "
            "pip install 'kvconfig[keys,redis]'"
        ) from None
    redis_module()


def _from_environment(
    credential: AsyncTokenCredential | None,
    environ: Mapping[str, str] | None,
    replicas: int | None,
    deadline: float,
    namespace: str | None,
    trusted_hosts: Iterable[str],
    algorithm: str,
) -> tuple[Fleet, AsyncTokenCredential] | None:
    """The fleet and the credential its key clients use (the fleet closes it when it was made here)."""
    trusted_hosts = (trusted_hosts,) if isinstance(trusted_hosts, str) else tuple(trusted_hosts)
    trusted_entries(trusted_hosts)  # a malformed entry is the caller's ValueError, not the variable's
    wanted = _read(environ, replicas, trusted_hosts, namespace)
    if wanted is None:
        return None
    _needed_packages()
    azure_wrap_algorithm(algorithm)  # refused before a credential or client exists, so none is left unclosed
    startup, budget = StartupPolicy(deadline=deadline), VaultBudget.share_of(replicas=wanted.replicas)
    owned: list[AsyncClosable] = []
    if credential is None:
        from azure.identity.aio import DefaultAzureCredential

        credential = DefaultAzureCredential()
        owned.append(credential)  # closed last: after the resolver's own clients and the key clients
    clients = _KeyClients(credential)
    wrapper = AsyncAzureKeyWrapper(
        clients(wanted.kek), algorithm=algorithm, client_factory=clients, trusted_hosts=trusted_hosts
    )
    fleet = Fleet(
        shared=RedisSharedCache(wanted.redis_url, wrapper, namespace=wanted.namespace),
        budget=budget,
        startup=startup,
        closing=[clients, *owned],
    )
    return fleet, credential


def fleet_from_environment(
    credential: AsyncTokenCredential | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    replicas: int | None = None,
    deadline: float = 300.0,
    namespace: str | None = None,
    trusted_hosts: Iterable[str] = (),
    algorithm: str = "RSA-OAEP-256",
) -> Fleet | None:
    """The :class:`Fleet` the environment asks for (see the module docstring), or ``None`` when ``KVCONFIG_REDIS_URL``
    is unset or empty.

    With the URL: a :class:`RedisSharedCache` sealed under ``KVCONFIG_REDIS_KEK`` (an ``aio`` ``CryptographyClient``
    per key version, on ``credential``, by default an ``azure.identity.aio.DefaultAzureCredential`` made here), a
    :class:`VaultBudget` for one of ``replicas`` (default ``KVCONFIG_FLEET_REPLICAS``, else 10) and a
    :class:`StartupPolicy` with ``deadline``. ``namespace`` overrides ``KVCONFIG_REDIS_NAMESPACE``; ``trusted_hosts``
    lets the key live on another host; ``algorithm`` is the key wrap algorithm (``CKM_AES_KEY_WRAP`` for a Managed HSM
    oct key). The fleet's ``aclose`` closes the key clients, and the credential when it was made here.

    Give it to one resolver: ``SecretResolver(credential, fleet=fleet_from_environment(credential))``, or use
    :func:`resolver_from_environment`. Raises :class:`FleetEnvironmentError` for a missing or malformed variable and
    ``ImportError`` (naming the extra to install) when the packages it needs are missing.
    """
    made = _from_environment(credential, environ, replicas, deadline, namespace, trusted_hosts, algorithm)
    return None if made is None else made[0]


def resolver_from_environment(
    credential: AsyncTokenCredential | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    replicas: int | None = None,
    deadline: float = 300.0,
    namespace: str | None = None,
    trusted_hosts: Iterable[str] = (),
    algorithm: str = "RSA-OAEP-256",
    embedded: bool = False,
) -> SecretResolver | None:
    """A :class:`~kvconfig.SecretResolver` with the fleet :func:`fleet_from_environment` builds, on one credential
    (an ``aio`` ``DefaultAzureCredential`` made here by default); ``None`` when ``KVCONFIG_REDIS_URL`` is unset, so
    a framework plugin given ``None`` makes its own resolver as usual. ``trusted_hosts`` and ``embedded`` are the
    resolver's too. Closing the resolver closes its fleet: the Redis client, the key clients and a credential made
    here.
    """
    trusted_hosts = (trusted_hosts,) if isinstance(trusted_hosts, str) else tuple(trusted_hosts)  # read once
    made = _from_environment(credential, environ, replicas, deadline, namespace, trusted_hosts, algorithm)
    if made is None:
        return None
    fleet, credential = made
    return SecretResolver(credential, fleet=fleet, trusted_hosts=trusted_hosts, embedded=embedded)
