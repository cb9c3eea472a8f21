"""``KeyVaultSettings``: a ``BaseSettings`` whose references resolve, and whose fields can come from Key Vault.

Configured in ``model_config`` (:class:`KeyVaultSettingsConfigDict`), no ``settings_customise_sources`` needed.
Objects are immutable in spirit: :meth:`KeyVaultSettings.refresh` returns a new object and leaves this one as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pydantic import AliasChoices, AliasPath, PrivateAttr, SecretBytes, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from typing_extensions import Self

from kvconfig.resolve import SecretResolver
from kvconfig.settings._common import Build, building, current_build, secret_key
from kvconfig.settings._references import KeyVaultReferences
from kvconfig.settings._secrets import KeyVaultSecretsSource

__all__ = ["KeyVaultSettings", "KeyVaultSettingsConfigDict", "SettingsStatus"]


class KeyVaultSettingsConfigDict(SettingsConfigDict, total=False):
    """``SettingsConfigDict`` plus kvconfig's options (all optional).

    * ``keyvault_url``: read each field from the secret named after it in this vault (:class:`KeyVaultSecretsSource`),
      below the other sources in precedence (init arguments, env and files win).
    * ``keyvault_resolve_references`` (default ``True``): resolve Key Vault references in the other sources' values.
    * ``keyvault_credential``: the credential (default ``DefaultAzureCredential``).
    * ``keyvault_resolver``: a :class:`~kvconfig.SecretResolver` to share across loads (or a factory of one);
      by default a resolver is made for each load and closed after it.
    * ``keyvault_prefix`` (default ``""``), ``keyvault_dash_to_underscore`` (default ``True``: secret
      ``db-password`` fills field ``db_password``), ``keyvault_snake_case_conversion``, ``keyvault_case_sensitive``:
      the name mapping of the per-field source, as in pydantic-settings' ``AzureKeyVaultSettingsSource``.
    * ``keyvault_concurrency`` (default 64): secrets read at once.
    """

    keyvault_url: str | None
    keyvault_resolve_references: bool
    keyvault_credential: Any
    keyvault_resolver: SecretResolver | Callable[[], SecretResolver] | None
    keyvault_prefix: str
    keyvault_dash_to_underscore: bool
    keyvault_snake_case_conversion: bool
    keyvault_case_sensitive: bool | None
    keyvault_concurrency: int


@dataclass(frozen=True)
class SettingsStatus:
    """Where a settings object's Key Vault values came from, and how its last load went (never values).

    ``references`` maps settings (``database.password``) to their reference text; ``secrets`` lists the secret ids
    read per field; ``stale`` names what kept its last good value because the vault could not be read during a
    refresh; ``changed`` names what a refresh changed.
    """

    loaded_at: datetime
    references: dict[str, str]
    secrets: tuple[str, ...]
    stale: frozenset[str]
    changed: frozenset[str]
    used: frozenset[tuple[str, str]]

    def uses(self, vault_url: str, name: str) -> bool:
        """Whether a value of these settings comes from secret ``name`` of ``vault_url`` (any version)."""
        return (vault_url.rstrip("/").lower(), name.lower()) in self.used

    @property
    def ok(self) -> bool:
        return not self.stale


class _Hidden:
    def __repr__(self) -> str:
        return "<from Key Vault, hidden>"


_HIDDEN = _Hidden()


class KeyVaultSettings(BaseSettings):
    """``BaseSettings`` that resolves Key Vault references in every source and can read fields from a vault.

    ::

        class Settings(KeyVaultSettings):
            model_config = KeyVaultSettingsConfigDict(env_file=".env", keyvault_url="https://myvault.vault.azure.net")
            db_password: SecretStr          # the secret "db-password", unless env/.env set DB_PASSWORD
            api_key: str                    # env API_KEY=@Microsoft.KeyVault(VaultName=myvault;SecretName=api)

    The repr hides every value that came from Key Vault. ``refresh()`` returns a new object with the latest secret
    versions (and current env/files); a secret that cannot be read keeps its last good value (``keyvault_status``
    says which are stale), a reference that became wrong raises :class:`~kvconfig.ResolutionError`.
    """

    # A value read from Key Vault that fails validation must not appear in the ValidationError.
    model_config = KeyVaultSettingsConfigDict(keyvault_resolve_references=True, hide_input_in_errors=True)

    _kv_build: Build | None = PrivateAttr(default=None)
    _kv_arguments: tuple[tuple[Any, ...], dict[str, Any]] = PrivateAttr(default=((), {}))
    _kv_loaded_at: datetime | None = PrivateAttr(default=None)

    def __init__(self, *args: Any, **values: Any) -> None:
        pending = current_build()
        build = pending if pending is not None and not pending.started else Build()
        build.started = True
        try:
            with building(build):
                super().__init__(*args, **values)
        finally:
            build.close()
        self._kv_build = build
        self._kv_arguments = (args, dict(values))
        self._kv_loaded_at = datetime.now(timezone.utc)

    # -- sources -------------------------------------------------------------------------------------------------

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return cls.keyvault_sources(settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings)

    @classmethod
    def keyvault_sources(
        cls, settings_cls: type[BaseSettings], *sources: PydanticBaseSettingsSource
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """``sources`` (highest priority first) with their references resolved, then the vault's per-field secrets.

        Call it from your own ``settings_customise_sources`` to add sources (YAML, TOML...) and keep kvconfig's.
        """
        config = settings_cls.model_config
        resolver = _resolver_for(config)
        chain: tuple[PydanticBaseSettingsSource, ...] = sources
        if config.get("keyvault_resolve_references", True):
            chain = KeyVaultReferences.wrap(settings_cls, *sources, resolver=resolver)
        url = config.get("keyvault_url")
        if url:
            chain += (
                KeyVaultSecretsSource(
                    settings_cls,
                    str(url),
                    config.get("keyvault_credential"),
                    resolver=resolver,
                    dash_to_underscore=bool(config.get("keyvault_dash_to_underscore", True)),
                    case_sensitive=_optional_bool(config.get("keyvault_case_sensitive")),
                    snake_case_conversion=bool(config.get("keyvault_snake_case_conversion", False)),
                    env_prefix=str(config.get("keyvault_prefix", "")),
                ),
            )
        return chain

    # -- refresh and status --------------------------------------------------------------------------------------

    def refresh(self, *, secrets: Iterable[tuple[str, str]] | None = None) -> Self:
        """A new settings object with the latest secret versions; this one is left unchanged.

        :keyword secrets: ``(vault_url, name)`` pairs: read only these secrets again (the one a Key Vault event
            names, say); every other value whose reference is unchanged is kept without a vault read. ``None``
            (default): read every versionless reference and per-field secret again.
        """
        args, values = self._kv_arguments
        only = None if secrets is None else frozenset(secret_key(url, name) for url, name in secrets)
        with building(Build(previous=self._kv_build, only=only)):
            return type(self)(*args, **values)

    async def refresh_async(self, *, secrets: Iterable[tuple[str, str]] | None = None) -> Self:
        """:meth:`refresh` in a worker thread, so the event loop keeps serving meanwhile."""
        chosen = None if secrets is None else tuple(secrets)
        return await asyncio.to_thread(lambda: self.refresh(secrets=chosen))

    @classmethod
    async def load_async(cls, *args: Any, **values: Any) -> Self:
        """Build the settings in a worker thread (for an async start-up hook)."""
        return await asyncio.to_thread(lambda: cls(*args, **values))

    @property
    def keyvault_status(self) -> SettingsStatus:
        build = self._kv_build or Build()
        changed: frozenset[str] = frozenset()
        if build.previous is not None:
            before, after = build.previous.flat_values(), build.flat_values()
            changed = frozenset(key for key in after.keys() | before.keys() if before.get(key) != after.get(key))
        return SettingsStatus(
            loaded_at=self._kv_loaded_at or datetime.now(timezone.utc),
            references=dict(build.references),
            secrets=tuple(sorted(f"{url}/secrets/{name}" for name, url in build.secrets.items())),
            stale=frozenset(build.stale),
            changed=changed,
            used=frozenset(build.used),
        )

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        build = self._kv_build
        hidden = build.fields if build is not None else set()
        fields = type(self).model_fields
        folded = {key.lower() for key in hidden}
        for name, value in super().__repr_args__():
            info = fields.get(name) if name else None
            keys = _input_keys(name, info) if name else set()
            if folded & keys and not isinstance(value, SecretStr | SecretBytes):
                yield name, _HIDDEN
            else:
                yield name, value


def _input_keys(name: str, info: FieldInfo | None) -> set[str]:
    """The keys a source may give a field's value under (case-folded): its name, alias and validation aliases."""
    keys = {name}
    if info is not None:
        if info.alias:
            keys.add(info.alias)
        alias = info.validation_alias
        for choice in alias.choices if isinstance(alias, AliasChoices) else [alias]:
            if isinstance(choice, str):
                keys.add(choice)
            elif isinstance(choice, AliasPath) and choice.path and isinstance(choice.path[0], str):
                keys.add(choice.path[0])
    return {key.lower() for key in keys}


def _resolver_for(config: Any) -> SecretResolver | None:
    """The configured resolver, else one for this build (shared by its sources, closed when the build ends)."""
    configured = config.get("keyvault_resolver")
    if isinstance(configured, SecretResolver):
        return configured
    build = current_build()
    if build is None:
        return configured() if configured is not None else None
    if build.resolver is None:
        build.resolver = (
            configured()
            if configured is not None
            else SecretResolver(
                config.get("keyvault_credential"), concurrency=int(config.get("keyvault_concurrency", 64))
            )
        )
    return build.resolver


def _optional_bool(value: object) -> bool | None:
    return None if value is None else bool(value)
