"""``KeyVaultSecretsSource``: one Key Vault secret per field, read with Get Secret only (no List permission).

pydantic-settings' ``AzureKeyVaultSettingsSource`` lists every secret of the vault, then reads the ones it needs one
at a time. This source keeps its name mapping (``--`` for nesting, ``dash_to_underscore``, ``env_prefix``, case,
``snake_case_conversion``) by reusing its code, but works out from the fields which secret names can matter and reads
those concurrently through a :class:`~kvconfig.SecretResolver`: no List call, so a role that may only *get* secrets
is enough, and a large vault costs nothing extra.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from pydantic_settings import AzureKeyVaultSettingsSource

from kvconfig.references import is_trusted_host
from kvconfig.resolve import SecretResolver
from kvconfig.settings._common import current_build, hide_inputs_in_errors, resolve_with_fallback
from kvconfig.settings._references import ResolverFactory

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

__all__ = ["KeyVaultSecretsSource"]

_SECRET_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
_ABSENT = frozenset({"SecretNotFound", "SecretDisabled"})  # the List-based source never sees disabled secrets
_MAX_DEPTH = 8
_EXTRACT_TAKES_CONFIG = "model_config" in inspect.signature(AzureKeyVaultSettingsSource._extract_field_info).parameters


class KeyVaultSecretsSource(AzureKeyVaultSettingsSource):
    """Read each field from the Key Vault secret named after it, as ``AzureKeyVaultSettingsSource`` maps names.

    A field with no secret falls through to the next source or its default (or is a validation error, if
    required), as with pydantic-settings. Any other failure (access denied, an unreachable vault...) raises one
    :class:`~kvconfig.ResolutionError` naming every secret that could not be read. Fields that a higher-priority
    source already set are not read.

    :param resolver: a shared :class:`~kvconfig.SecretResolver` (its cache then serves later loads) or a factory;
        by default one is made per load with ``credential`` and ``concurrency``.
    Limits of working without List: keys of ``dict`` fields cannot be discovered (put the whole dict in one secret
    as JSON), and since Key Vault names are case-insensitive, ``case_sensitive=True`` does not tell names apart by
    case.
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        vault_url: str,
        credential: Any = None,
        *,
        resolver: SecretResolver | ResolverFactory | None = None,
        concurrency: int = 64,
        dash_to_underscore: bool = False,
        case_sensitive: bool | None = None,
        snake_case_conversion: bool = False,
        env_prefix: str | None = None,
        env_parse_none_str: str | None = None,
        env_parse_enums: bool | None = None,
    ) -> None:
        hide_inputs_in_errors(settings_cls)
        self._resolver = resolver
        self._concurrency = concurrency
        self._loaded = False
        extra: dict[str, Any] = {"snake_case_conversion": True} if snake_case_conversion else {}
        super().__init__(
            settings_cls,
            vault_url.rstrip("/"),
            credential,
            dash_to_underscore=dash_to_underscore,
            case_sensitive=case_sensitive,
            env_prefix=env_prefix,
            env_parse_none_str=env_parse_none_str,
            env_parse_enums=env_parse_enums,
            **extra,
        )

    @property
    def vault_url(self) -> str:
        return self._url

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # Called by the constructor: nothing is read until the source is called, when it knows what is already set.
        return {}

    def __call__(self) -> dict[str, Any]:
        if not self._loaded:
            self.env_vars = self._read_secrets()
            self._loaded = True
        data = super().__call__()
        build = current_build()
        if build is not None:
            build.fields.update(data)
        return data

    # -- which secrets -------------------------------------------------------------------------------------------

    def secret_names(self) -> dict[str, str]:
        """Map each secret this source would read to the name pydantic-settings looks up for it.

        Fields that a higher-priority source already set are left out.
        """
        wanted: dict[str, str] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            for field_key, env_name, _complex in self._field_info(field, field_name, None):
                if _is_set(self.current_state, field_key):
                    continue
                for key in self._nested_names(env_name, field.annotation, 0):
                    for secret in self._secret_candidates(key):
                        wanted.setdefault(secret, key)
        return wanted

    def _field_info(self, field: Any, field_name: str, config: Any) -> list[tuple[str, str, bool]]:
        # pydantic-settings 2.16 added the model_config parameter (for nested models); older releases (the newest
        # that runs on Python 3.10 among them) take only the field and its name and use the settings' own config.
        if config is not None and _EXTRACT_TAKES_CONFIG:
            return self._extract_field_info(field, field_name, config)  # type: ignore[call-arg,unused-ignore]
        return self._extract_field_info(field, field_name)

    def _nested_names(self, env_name: str, annotation: Any, depth: int) -> Iterator[str]:
        yield env_name
        delimiter = self.env_nested_delimiter
        if not delimiter or depth >= _MAX_DEPTH:
            return
        for model in _models_in(annotation):
            for field_name, field in model.model_fields.items():
                for field_key, _env, _complex in self._field_info(field, field_name, model.model_config):
                    sub = self._apply_case_sensitive(field_key)
                    if self._dash_to_underscore and not self._snake_case_conversion:
                        sub = sub.replace("_", "-")
                    yield from self._nested_names(f"{env_name}{delimiter}{sub}", field.annotation, depth + 1)

    def _secret_candidates(self, key: str) -> list[str]:
        """Secret names that pydantic-settings would map to ``key`` (only names Key Vault can hold)."""
        if self._snake_case_conversion:
            prefix = self.env_prefix if key.startswith(self.env_prefix) else ""
            rest = key[len(prefix) :]
            parts = rest.split("__")
            kebab = "--".join(part.replace("_", "-") for part in parts)
            camel = "--".join(to_camel(part) for part in parts)
            candidates = [f"{prefix}{kebab}", f"{prefix}{camel}"]
        else:
            candidates = [key]
        return [name for name in dict.fromkeys(candidates) if _SECRET_NAME.fullmatch(name)]

    # -- reading them --------------------------------------------------------------------------------------------

    def _read_secrets(self) -> dict[str, str | None]:
        wanted = self.secret_names()
        if not wanted:
            return {}
        build = current_build()
        previous = None
        were_absent: frozenset[str] = frozenset()
        if build is not None and build.previous is not None:
            were_absent = frozenset(build.previous.absent_secrets)
            previous = {
                secret: (_reference(self._url, secret), build.previous.secret_values[secret])
                for secret in wanted
                if secret in build.previous.secret_values
            }
        # A targeted refresh reads again only the secrets it names; the others keep what the last load found.
        kept: dict[str, str] = {}
        kept_absent: set[str] = set()
        if build is not None and build.previous is not None and build.only is not None:
            for secret in wanted:
                if build.rereads(self._url, secret):
                    continue
                if secret in build.previous.secret_values:
                    kept[secret] = build.previous.secret_values[secret]
                elif secret in build.previous.absent_secrets:
                    kept_absent.add(secret)
        resolver, owned = self._make_resolver()
        try:
            read = [secret for secret in wanted if secret not in kept and secret not in kept_absent]
            if previous is not None:
                for secret in read:
                    resolver.invalidate(self._url, secret, announce=False)
            flat = {secret: _reference(self._url, secret) for secret in read}
            origins = dict.fromkeys(flat, f"Key Vault {self._url}")
            values, missing, stale = resolve_with_fallback(
                resolver, flat, origins, previous=previous, absent=_ABSENT, were_absent=were_absent
            )
            values.update(kept)
        finally:
            if owned:
                resolver.close()
        found: dict[str, str | None] = {}
        for secret, value in values.items():
            text = str(value)
            # The first candidate found wins (kebab-case before camelCase with snake_case_conversion).
            found.setdefault(wanted[secret], None if text == self.env_parse_none_str else text)
        if build is not None:
            for secret in values:
                build.secrets[secret] = self._url
                build.secret_values[secret] = str(values[secret])
                build.used.add((self._url.lower(), secret.lower()))
            build.absent_secrets.update(failure.setting for failure in missing)
            build.absent_secrets.update(kept_absent)
            build.stale.update(f"{self._url}/secrets/{secret}" for secret in stale)
            if build.previous is not None:
                kept_ids = {f"{self._url}/secrets/{secret}" for secret in kept}
                build.stale.update(kept_ids & build.previous.stale)
        return found

    def _make_resolver(self) -> tuple[SecretResolver, bool]:
        if isinstance(self._resolver, SecretResolver):
            return self._resolver, False
        if self._resolver is not None:
            return self._resolver(), True
        host = self._url.split("://", 1)[-1].split("/", 1)[0]
        trusted = () if is_trusted_host(host) else (host,)
        return SecretResolver(self._credential, concurrency=self._concurrency, trusted_hosts=trusted), True

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vault_url={self._url!r}, env_nested_delimiter={self.env_nested_delimiter!r})"


def _reference(vault_url: str, secret: str) -> str:
    return f"@Microsoft.KeyVault(SecretUri={vault_url}/secrets/{secret})"


def _is_set(state: Mapping[str, Any], field_key: str) -> bool:
    """A field a higher-priority source set to something other than a dict (a dict may still get more keys)."""
    return field_key in state and not isinstance(state[field_key], dict)


def _models_in(annotation: Any) -> Iterable[type[BaseModel]]:
    """The pydantic models a field's value may be: the annotation itself, or members of a union/Optional."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = get_origin(annotation)
    if origin is None or (isinstance(origin, type) and issubclass(origin, Mapping | list | tuple | set)):
        return []
    models: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        models.extend(_models_in(arg))
    return models
