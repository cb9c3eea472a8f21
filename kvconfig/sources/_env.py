"""Settings from memory: a mapping, or the process environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from kvconfig.sources._base import ConfigSource

__all__ = ["from_environ", "from_mapping"]


def from_mapping(settings: Mapping[str, Any], *, origin: str = "mapping") -> ConfigSource:
    return ConfigSource(dict(settings), dict.fromkeys(settings, origin), "mapping")


def from_environ(environ: Mapping[str, str] | None = None, *, prefix: str = "") -> ConfigSource:
    """Environment variables (optionally only those starting with ``prefix``, which is kept in the names)."""
    env = os.environ if environ is None else environ
    settings = {key: value for key, value in env.items() if key.startswith(prefix)}
    return ConfigSource(settings, dict.fromkeys(settings, "environment"), "environ")
