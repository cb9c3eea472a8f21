"""``KeyVaultReferences``: a pydantic-settings source that resolves the Key Vault references found in other sources.

It wraps the sources it is given and combines them exactly as pydantic-settings does (the first source wins, nested
dicts are deep-merged), then resolves every reference left in the merged values, at any depth, in one concurrent
batch. A reference hidden by a higher-priority plain value is never read.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

from kvconfig.resolve import SecretResolver
from kvconfig.settings._common import (
    Build,
    current_build,
    deep_update,
    hide_inputs_in_errors,
    looks_like_reference,
    reference_text,
    references_in,
    resolve_with_fallback,
)
from kvconfig.sources import assign, leaves, path_key

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

__all__ = ["KeyVaultReferences", "ResolverFactory"]

ResolverFactory = Callable[[], SecretResolver]

_ORIGIN_NAMES = {
    "InitSettingsSource": "init arguments",
    "EnvSettingsSource": "environment",
    "DotEnvSettingsSource": "dotenv file",
    "SecretsSettingsSource": "secrets directory",
    "NestedSecretsSettingsSource": "secrets directory",
    "JsonConfigSettingsSource": "JSON file",
    "YamlConfigSettingsSource": "YAML file",
    "TomlConfigSettingsSource": "TOML file",
    "PyprojectTomlConfigSettingsSource": "pyproject.toml",
}


class KeyVaultReferences(PydanticBaseSettingsSource):
    """Resolve Key Vault references in the values of ``sources``, keeping their precedence (first wins).

    Use it from ``settings_customise_sources``::

        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                       file_secret_settings):
            return KeyVaultReferences.wrap(settings_cls, init_settings, env_settings, dotenv_settings,
                                           file_secret_settings)

    (``wrap`` also keeps pydantic-settings from warning that ``json_file``... are unused when a file source is
    wrapped; the plain constructor works too.)

    :param resolver: a :class:`~kvconfig.SecretResolver` to share (its cache then outlives one settings object), or
        a zero-argument factory of one; by default a resolver using ``credential`` is made for each load and closed.
    :param credential: credential of the default resolver (``DefaultAzureCredential`` when ``None``).
    Every failing reference is reported at once in one :class:`~kvconfig.ResolutionError`. A reference given wrapped
    in a ``SecretStr`` (``Settings(db_password=SecretStr("@Microsoft.KeyVault(...)"))``) resolves into a ``SecretStr``.
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        *sources: PydanticBaseSettingsSource,
        resolver: SecretResolver | ResolverFactory | None = None,
        credential: object = None,
    ) -> None:
        super().__init__(settings_cls)
        hide_inputs_in_errors(settings_cls)
        self.sources = sources
        self._resolver = resolver
        self._credential = credential

    @classmethod
    def wrap(
        cls,
        settings_cls: type[BaseSettings],
        *sources: PydanticBaseSettingsSource,
        resolver: SecretResolver | ResolverFactory | None = None,
        credential: object = None,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The source for ``settings_customise_sources``, plus inert stand-ins of the wrapped file sources.

        pydantic-settings warns that ``json_file``, ``yaml_file``... are ignored when no source of that class is
        among the returned sources; the stand-ins (which return nothing) keep that check satisfied.
        """
        wrapper = cls(settings_cls, *sources, resolver=resolver, credential=credential)
        return (wrapper, *(_inert(source) for source in sources if type(source).__name__ in _FILE_SOURCES))

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Values come from the wrapped sources as whole dicts; there is nothing to read per field.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        states = dict(self.settings_sources_data)
        origins: dict[str, str] = {}
        for source in self.sources:
            source._set_current_state(state)
            source._set_settings_sources_data(states)
            data = source()
            name = getattr(source, "__name__", type(source).__name__)
            states[name] = data
            where = _origin(source)
            for path, value in leaves(data):
                if looks_like_reference(value):
                    origins.setdefault(path_key(path), where)
            state = deep_update(data, state)
        return self.resolve(state, origins)

    def resolve(self, state: dict[str, Any], origins: Mapping[str, str]) -> dict[str, Any]:
        """Resolve the references in ``state`` (nested dicts and lists too) and return the resolved copy."""
        paths = {path_key(path): path for path, value in leaves(state) if looks_like_reference(value)}
        if not paths:
            return state
        flat: dict[str, str] = {}
        wrapped: set[str] = set()  # given as SecretStr: resolved into a SecretStr too
        for key, path in paths.items():
            value: Any = state
            for part in path:
                value = value[part]
            if isinstance(value, SecretStr):
                wrapped.add(key)
            flat[key] = str(reference_text(value))
        build = current_build()
        previous = _previous_references(build.previous) if build is not None and build.previous else None
        resolver, owned = self._make_resolver()
        try:
            kept: dict[str, str] = {}
            if build is not None and previous is not None:
                kept = _kept(build, resolver, flat, previous)
                for key, text in flat.items():
                    if key in kept:
                        continue
                    for ref in references_in(text, resolver):
                        if ref.version is None and build.rereads(ref.vault_url, ref.name):
                            resolver.invalidate(ref.vault_url, ref.name, announce=False)
            read = {key: text for key, text in flat.items() if key not in kept}
            values, _missing, stale = resolve_with_fallback(
                resolver, read, {key: origins.get(key, "settings") for key in read}, previous=previous
            )
            values.update(kept)
            if build is not None:
                if build.previous is not None:
                    stale.update(key for key in kept if key in build.previous.stale)
                _record(build, resolver, flat, values, stale)
        finally:
            if owned:
                resolver.close()
        resolved = state
        for key, path in paths.items():
            if key in values:
                found = SecretStr(str(values[key])) if key in wrapped else values[key]
                resolved = assign(resolved, path, found)
        return resolved

    def _make_resolver(self) -> tuple[SecretResolver, bool]:
        if isinstance(self._resolver, SecretResolver):
            return self._resolver, False
        if self._resolver is not None:
            return self._resolver(), True
        return SecretResolver(self._credential, concurrency=64), True

    def __repr__(self) -> str:
        names = ", ".join(type(source).__name__ for source in self.sources)
        return f"{type(self).__name__}({names})"


_FILE_SOURCES = frozenset(
    {
        "JsonConfigSettingsSource",
        "YamlConfigSettingsSource",
        "TomlConfigSettingsSource",
        "PyprojectTomlConfigSettingsSource",
    }
)
_INERT_CLASSES: dict[type[PydanticBaseSettingsSource], type[PydanticBaseSettingsSource]] = {}


def _inert(source: PydanticBaseSettingsSource) -> PydanticBaseSettingsSource:
    """A copy of ``source`` that returns nothing: its values already came through the wrapper."""
    base = type(source)
    inert_cls = _INERT_CLASSES.get(base)
    if inert_cls is None:

        def call(self: PydanticBaseSettingsSource) -> dict[str, Any]:
            return {}

        inert_cls = type(f"{base.__name__}ReadByKeyVaultReferences", (base,), {"__call__": call})
        _INERT_CLASSES[base] = inert_cls
    twin = copy.copy(source)
    twin.__class__ = inert_cls
    return twin


def _origin(source: PydanticBaseSettingsSource) -> str:
    name = type(source).__name__
    where = _ORIGIN_NAMES.get(name, name)
    for attribute in ("env_file", "secrets_dir", "json_file_path", "yaml_file_path", "toml_file_path"):
        path = getattr(source, attribute, None)
        if isinstance(path, str | os.PathLike):
            return f"{where} {os.fspath(path)}"
    return where


def _kept(
    build: Build, resolver: SecretResolver, flat: Mapping[str, str], previous: Mapping[str, tuple[str, str]]
) -> dict[str, str]:
    """In a targeted refresh, the last values of the settings it does not read again: reference text unchanged and
    no secret of theirs named by the refresh."""
    if build.only is None:
        return {}
    return {
        key: previous[key][1]
        for key, text in flat.items()
        if key in previous
        and previous[key][0] == text
        and not any(build.rereads(ref.vault_url, ref.name) for ref in references_in(text, resolver))
    }


def _previous_references(previous: Build) -> dict[str, tuple[str, str]]:
    return {key: (text, previous.values[key]) for key, text in previous.references.items() if key in previous.values}


def _record(
    build: Build, resolver: SecretResolver, flat: Mapping[str, str], values: Mapping[str, Any], stale: set[str]
) -> None:
    for key, text in flat.items():
        build.references[key] = text
        if key in values:
            build.values[key] = str(values[key])
        build.fields.add(key.split(".", 1)[0].split("[", 1)[0])
        for ref in references_in(text, resolver):
            build.used.add((ref.vault_url, ref.name.lower()))
    build.stale.update(stale)
