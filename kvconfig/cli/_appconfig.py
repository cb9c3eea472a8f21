"""``--appconfig``: ``check``, ``resolve``, ``run`` and ``inject`` read the key-values of an Azure App Configuration
store as settings, with these options shared by all four.

The store is an endpoint (read with ``DefaultAzureCredential``) or a connection string (its access key signs the
requests); ``KVCONFIG_APPCONFIG`` can hold either, which keeps a connection string off the command line. A
connection string is never echoed. ``--label`` (repeatable; a later label wins, ``\\0`` is the null label, the
default) and ``--key-filter`` choose the key-values, as the provider's ``SettingSelector`` does. With
``--fake-vault SEED.json``, a seed's ``appconfig`` part makes the stores that the command reads.

The store's key-values win over the files' and the environment's settings of the same name. Its Key Vault
references, stored the App Configuration way (a content type and ``{"uri": ...}``) or as ``@Microsoft.KeyVault(...)``
text, are secrets like any other: masked unless ``--reveal``, with the store, key and label as their origin.

The store's host must be trusted, as a vault's is: an App Configuration store of the Azure clouds, the loopback
emulator's, or a ``--trusted-host`` (the one option governs vaults and stores). :func:`check_store` refuses any other
before a credential is made or a request sent. Two keys that a command would turn into one name (an environment
variable, a template's setting) are refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from kvconfig.cli._common import Loaded, fail
from kvconfig.errors import KvConfigError
from kvconfig.references import APPCONFIG_KEYVAULT_CONTENT_TYPE
from kvconfig.sources import AppConfigSource, StoreAddress, from_appconfig

# How a command names a setting: one name, or every name it sets (a pipeline variable and its short name).
Naming = Callable[[str], str | tuple[str, ...]]

__all__ = ["add_store", "appconfig_options", "appconfig_references", "check_store", "read_store", "store_alone"]

F = TypeVar("F", bound=Callable[..., Any])
_NULL_LABELS = ("", "\\0", "\0", "(no label)")


def appconfig_options(func: F) -> F:
    """``--appconfig``, ``--label``, ``--key-filter`` and ``--trim-prefix``."""
    for option in reversed(
        [
            click.option(
                "--appconfig",
                envvar="KVCONFIG_APPCONFIG",
                metavar="ENDPOINT|CONNECTION-STRING",
                help="Also read the key-values of this App Configuration store (an https:// endpoint, read with "
                "DefaultAzureCredential, or a connection string; env: KVCONFIG_APPCONFIG). Its host must be a store of "
                "the Azure clouds (*.azconfig.io, ...) or a --trusted-host.",
            ),
            click.option(
                "--label",
                "labels",
                multiple=True,
                metavar="LABEL",
                help="Labels of the store to read, in order (a later label wins; \\0 is no label, the default).",
            ),
            click.option(
                "--key-filter",
                default="*",
                show_default=True,
                help="Key filter of the store (app:* for keys starting with app:).",
            ),
            click.option(
                "--trim-prefix",
                "trim_prefixes",
                multiple=True,
                help="Trim this prefix from the store's keys (repeatable; the longest matching one is trimmed).",
            ),
        ]
    ):
        func = option(func)
    return func


def check_store(params: dict[str, Any]) -> None:
    """Parse ``--appconfig`` first thing, before any credential is made: a malformed store, or one whose host is not
    trusted (neither an App Configuration store of the clouds nor a ``--trusted-host``), ends the command with its
    one-line error; the parsed address replaces the text in ``params``."""
    store = params.get("appconfig")
    if isinstance(store, str) and store:
        try:
            params["appconfig"] = StoreAddress.parse(store, trusted_hosts=params.get("trusted_hosts") or ())
        except KvConfigError as exc:
            fail(exc)


def read_store(params: dict[str, Any], name_of: Naming | None = None) -> AppConfigSource | None:
    """The store the options name, read now (inside the command's fakes when ``--fake-vault`` is given); with
    ``name_of`` (how the command names a setting: an environment variable...), two keys it maps to one name are a
    :class:`~kvconfig.sources.KeyCollisionError`."""
    store = params.get("appconfig")
    if not store:
        if params.get("labels") or params.get("trim_prefixes") or params.get("key_filter", "*") != "*":
            raise click.UsageError("--label, --key-filter and --trim-prefix choose key-values of --appconfig.")
        return None
    labels = [None if label in _NULL_LABELS else label for label in params.get("labels") or ()] or [None]
    source = from_appconfig(
        store,
        key_filter=params["key_filter"],
        labels=labels,
        trim_prefixes=params.get("trim_prefixes") or (),
        trusted_hosts=params.get("trusted_hosts") or (),
    )
    if name_of is not None:
        source.names_as(name_of)
    return source


def store_alone(params: dict[str, Any]) -> None:
    """With ``--appconfig`` and neither ``--env`` nor ``--no-env``, the process environment is not read: the store is
    what was asked for (``run`` still passes its environment to the child)."""
    if params.get("appconfig") and params.get("use_env") is None:
        params["use_env"] = False


def add_store(params: dict[str, Any], loaded: Loaded, name_of: Naming | None = None) -> dict[str, str | None]:
    """Read the store of ``--appconfig`` (call it inside the command's resolver: ``--fake-vault`` is patched in by
    then) into ``loaded``, its key-values winning; the content type of each setting read from it. ``name_of`` as for
    :func:`read_store`."""
    store = read_store(params, name_of)
    if store is None:
        return {}
    loaded.from_environment.difference_update(store.settings)
    loaded.settings.update(store.settings)
    loaded.origins.update(store.origins)
    return store.content_types


def appconfig_references(content_types: dict[str, str | None]) -> set[str]:
    """The settings a store holds as App Configuration Key Vault references (by content type, parameters ignored)."""
    return {
        name
        for name, content_type in content_types.items()
        if content_type is not None and content_type.split(";", 1)[0].strip().lower() == APPCONFIG_KEYVAULT_CONTENT_TYPE
    }
