"""``--appconfig``: a command reads the key-values of an Azure App Configuration store as settings (``check`` does).

The store is an endpoint (read with ``DefaultAzureCredential``) or a connection string (its access key signs the
requests); ``KVCONFIG_APPCONFIG`` can hold either, which keeps a connection string off the command line. A
connection string is never echoed. ``--label`` (repeatable; a later label wins, ``\\0`` is the null label, the
default) and ``--key-filter`` choose the key-values, as the provider's ``SettingSelector`` does. With
``--fake-vault SEED.json``, a seed's ``appconfig`` part makes the stores that the command reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from kvconfig.sources import AppConfigSource, from_appconfig

__all__ = ["appconfig_options", "read_store"]

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
                "DefaultAzureCredential, or a connection string; env: KVCONFIG_APPCONFIG).",
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


def read_store(params: dict[str, Any]) -> AppConfigSource | None:
    """The store the options name, read now (inside the command's fakes when ``--fake-vault`` is given)."""
    store = params.get("appconfig")
    if not store:
        if params.get("labels") or params.get("trim_prefixes") or params.get("key_filter", "*") != "*":
            raise click.UsageError("--label, --key-filter and --trim-prefix choose key-values of --appconfig.")
        return None
    labels = [None if label in _NULL_LABELS else label for label in params.get("labels") or ()] or [None]
    return from_appconfig(
        store, key_filter=params["key_filter"], labels=labels, trim_prefixes=params.get("trim_prefixes") or ()
    )
