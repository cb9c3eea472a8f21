"""Start-up helpers: resolve the references of the environment and of ``.env`` files into ``os.environ``."""

from __future__ import annotations

import os
from collections.abc import Iterable, MutableMapping
from typing import Any

from kvconfig.resolve._results import ResolvedSettings
from kvconfig.resolve._secret_resolver import SecretResolver
from kvconfig.sources import ConfigSource, from_dotenv, from_environ

__all__ = ["merge_sources", "resolve_environ"]


def merge_sources(sources: Iterable[ConfigSource]) -> tuple[dict[str, Any], dict[str, str]]:
    """Later sources win, as when several ``.env`` files are loaded in order."""
    settings: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for source in sources:
        settings.update(source.settings)
        origins.update(source.origins)
    return settings, origins


def resolve_environ(
    resolver: SecretResolver | None = None,
    *,
    env_files: Iterable[str | os.PathLike[str]] = (),
    environ: MutableMapping[str, str] | None = None,
    override: bool = False,
) -> ResolvedSettings:
    """Resolve references found in the environment and in ``env_files`` and write the values into the environment.

    Variables already set in the environment win over the files unless ``override``; a file's plain values are
    added too (as python-dotenv's ``load_dotenv`` would). Raises :class:`~kvconfig.ResolutionError` listing every
    failure, before anything is written. Returns what was written.
    """
    env = os.environ if environ is None else environ
    file_sources = [from_dotenv(path) for path in env_files]
    file_settings, origins = merge_sources(file_sources)
    env_source = from_environ(env)
    if override:
        settings = {**env_source.settings, **file_settings}
    else:
        settings = {**file_settings, **env_source.settings}
        origins.update(dict.fromkeys(env_source.settings, "environment"))
    owned = resolver is None
    active = resolver if resolver is not None else SecretResolver()
    try:
        resolved = active.resolve(settings, origins=origins)
    finally:
        if owned:
            active.close()
    written = ResolvedSettings()
    for key, value in resolved.items():
        if env.get(key) != value:
            env[key] = value
            written[key] = value
    return written
