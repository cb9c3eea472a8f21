"""Where settings come from: the environment, ``.env`` files (python-dotenv), JSON, YAML or TOML files, and Azure App
Configuration stores (``azure-appconfiguration``, imported when a store is read).

Each reader returns a :class:`ConfigSource`. This wing imports nothing of kvconfig but :mod:`kvconfig.errors` and
:mod:`kvconfig.references` (the trusted App Configuration store hosts); the resolver and the CLI sit above it. Users
import the readers from :mod:`kvconfig`; this package's ``__all__`` is what the other wings use.
"""

from __future__ import annotations

from kvconfig.sources._appconfig import (
    AppConfigSource,
    KeyCollisionError,
    StoreAddress,
    UntrustedStoreError,
    from_appconfig,
)
from kvconfig.sources._base import ConfigSource, SourceError
from kvconfig.sources._dotenv import from_dotenv
from kvconfig.sources._env import from_environ, from_mapping
from kvconfig.sources._files import file_kind, from_file
from kvconfig.sources._paths import PathPart, assign, leaves, path_key
from kvconfig.sources._reading import MAX_FILE_CHARS, read_text_file
from kvconfig.sources._render import dotenv_quote

__all__ = [
    "MAX_FILE_CHARS",
    "AppConfigSource",
    "ConfigSource",
    "KeyCollisionError",
    "PathPart",
    "SourceError",
    "StoreAddress",
    "UntrustedStoreError",
    "assign",
    "dotenv_quote",
    "file_kind",
    "from_appconfig",
    "from_dotenv",
    "from_environ",
    "from_file",
    "from_mapping",
    "leaves",
    "path_key",
    "read_text_file",
]
