"""``kvconfig fleet rotate``: change the data key of the shared tier on Redis (docs/fleet.md, "Rotating the keys").

Without ``--new-data-key`` the same data key is wrapped again under the key-encryption key's current version (or the
version the key URL names): every sealed entry stays valid. With it, a new data key replaces the old one and the old
sealed entries are deleted (or, with ``--keep-entries``, left to expire unread). The output names ids and Key Vault key
ids only: never a key, a value or the Redis URL (it may hold a password).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kvconfig.cli._common import fail, valid_trusted_hosts, warn
from kvconfig.errors import KvConfigError, UntrustedVaultError

if TYPE_CHECKING:
    from kvconfig.fleet import DataKeyChange

__all__ = ["fleet_group"]


@click.group("fleet")
def fleet_group() -> None:
    """Replicas sharing a sealed cache on Redis: rotate its data key."""


def _valid_redis_url(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from kvconfig.fleet.redis_ops import is_redis_url

    if not is_redis_url(value):
        raise click.BadParameter("give a redis://, rediss:// or unix:// URL (it is never printed).")
    return value


def _valid_namespace(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from kvconfig.fleet.redis_ops import NAMESPACE_RULE, is_namespace

    if not is_namespace(value):
        raise click.BadParameter(f"a namespace is {NAMESPACE_RULE}.")
    return value


def _key_url(value: str, trusted_hosts: tuple[str, ...]) -> str:
    """A Key Vault key id on a trusted host: ``https://<vault>/keys/<name>`` or ``.../keys/<name>/<version>``."""
    from kvconfig.crypto._key_ids import key_encryption_key_id

    try:
        return key_encryption_key_id(value, trusted_hosts=trusted_hosts)
    except UntrustedVaultError as exc:
        raise click.BadParameter(
            f"{exc.host} is not a Key Vault or Managed HSM host; add --trusted-host to allow it (it receives a token).",
            param_hint="'--key'",
        ) from None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--key'") from None


@fleet_group.command("rotate")
@click.option(
    "--redis",
    "redis_url",
    envvar="KVCONFIG_REDIS_URL",
    required=True,
    metavar="URL",
    callback=_valid_redis_url,
    help="The shared tier's Redis (default: $KVCONFIG_REDIS_URL). Never printed.",
)
@click.option(
    "--key",
    "key_url",
    envvar="KVCONFIG_REDIS_KEK",
    required=True,
    metavar="KEY_URL",
    help="The key-encryption key (default: $KVCONFIG_REDIS_KEK): https://<vault>/keys/<name> wraps with its current "
    "version, .../<name>/<version> with that one.",
)
@click.option(
    "--new-data-key",
    is_flag=True,
    help="Replace the data key itself: the old sealed entries are retired and each secret is read from the vault "
    "once more for the fleet. Without it, the same data key is re-wrapped and every entry stays valid.",
)
@click.option(
    "--keep-entries",
    is_flag=True,
    help="With --new-data-key: leave the old sealed entries to expire (never opened again) instead of deleting them.",
)
@click.option(
    "--namespace",
    default="kvconfig",
    show_default=True,
    callback=_valid_namespace,
    help="The RedisSharedCache namespace.",
)
@click.option(
    "--algorithm",
    default="RSA-OAEP-256",
    show_default=True,
    help="The key wrap algorithm (CKM_AES_KEY_WRAP for a Managed HSM oct key).",
)
@click.option(
    "--trusted-host",
    "trusted_hosts",
    multiple=True,
    callback=valid_trusted_hosts,
    help="Also allow this key host (or .suffix) to receive a token.",
)
@click.option(
    "--fake-vault",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Use kvconfig's embedded fake Key Vault, seeded from this JSON file (its key must be in the seed).",
)
def rotate(
    redis_url: str,
    key_url: str,
    new_data_key: bool,
    keep_entries: bool,
    namespace: str,
    algorithm: str,
    trusted_hosts: tuple[str, ...],
    fake_vault: Path | None,
) -> None:
    """Re-wrap the shared tier's data key under the key's current version, or replace it (--new-data-key).

    After rotating the key-encryption key in Key Vault, re-wrap, then disable the old version (replicas need no
    restart):

    \b
        kvconfig fleet rotate --redis rediss://cache:6380/0 --key https://contoso.vault.azure.net/keys/kvconfig-kek
    """
    if keep_entries and not new_data_key:
        raise click.UsageError("--keep-entries only applies with --new-data-key (a re-wrap keeps every entry).")
    key_url = _key_url(key_url, trusted_hosts)
    with contextlib.ExitStack() as stack:
        try:
            if fake_vault is not None:
                from kvconfig.cli._fake_seed import patched_fakes

                stack.enter_context(patched_fakes(fake_vault))
        except KvConfigError as exc:  # a seed that cannot be used
            fail(exc)
        try:
            change = asyncio.run(
                _change(redis_url, key_url, namespace, algorithm, trusted_hosts, new_data_key, not keep_entries)
            )
        except ImportError as exc:
            fail(str(exc))
        except Exception as exc:
            fail(_failure(exc, new_data_key))
    _report(change, namespace)


async def _change(
    redis_url: str,
    key_url: str,
    namespace: str,
    algorithm: str,
    trusted_hosts: tuple[str, ...],
    new_data_key: bool,
    drop_entries: bool,
) -> DataKeyChange:
    try:
        from azure.identity.aio import DefaultAzureCredential
        from azure.keyvault.keys.crypto.aio import CryptographyClient
    except ImportError:
        raise ImportError(
            "kvconfig fleet rotate needs azure-keyvault-keys: pip install 'kvconfig[keys,redis]'"
        ) from None
    from kvconfig.crypto import AsyncAzureKeyWrapper
    from kvconfig.fleet import RedisSharedCache

    credential = DefaultAzureCredential()
    clients: list[CryptographyClient] = []

    def client(kid: str) -> CryptographyClient:
        made = CryptographyClient(kid, credential)
        clients.append(made)
        return made

    wrapper = AsyncAzureKeyWrapper(
        client(key_url), algorithm=algorithm, client_factory=client, trusted_hosts=trusted_hosts
    )
    cache = RedisSharedCache(redis_url, wrapper, namespace=namespace, op_timeout=10.0)
    try:
        if new_data_key:
            return await cache.rotate_data_key(drop_entries=drop_entries)
        return await cache.rewrap()
    finally:
        await cache.aclose()
        for made in clients:
            await made.close()
        await credential.close()


def _failure(exc: Exception, new_data_key: bool) -> str:
    from kvconfig.fleet import DataKeyError
    from kvconfig.fleet.sealing import RecordRefusedError

    if isinstance(exc, DataKeyError):
        return str(exc)
    if isinstance(exc, RecordRefusedError):
        return (
            f"re-wrapping the data key failed: the record was refused ({exc}) Nothing was changed; replace it "
            "with --new-data-key (replicas refuse it too, and replace it when they next store)."
        )
    what = "replacing the data key" if new_data_key else "re-wrapping the data key"
    detail = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"{what} failed: {type(exc).__name__}" + (f": {detail}" if detail else "") + " (nothing was changed)."


def _report(change: DataKeyChange, namespace: str) -> None:
    if change.new_data_key:
        replaced = f" replaces {change.previous_data_key_id}" if change.previous_data_key_id else ""
        click.echo(f"new data key {change.data_key_id}{replaced} in namespace {namespace}")
        click.echo(f"  wrapped by {change.wrapped_by} ({change.algorithm})")
        click.echo(
            f"sealed entries: {change.entries_dropped} deleted; each secret is read from the vault once more, "
            "for the whole fleet"
        )
        return
    click.echo(f"re-wrapped data key {change.data_key_id} in namespace {namespace}")
    click.echo(f"  was wrapped by {change.previous_wrapped_by}")
    click.echo(f"  now wrapped by {change.wrapped_by} ({change.algorithm})")
    click.echo("sealed entries: all kept (the data key is the same)")
    if change.wrapped_by == change.previous_wrapped_by:
        warn("the key has no newer version: the record is wrapped by the same version as before.")
