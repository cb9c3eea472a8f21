"""Shared machinery of the pydantic-settings sources: nested values, the per-load build record and resolving with a
last-good-value fallback on refresh."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, SecretStr

from kvconfig.errors import KvConfigError, ResolutionError, ResolutionFailure
from kvconfig.references import KeyVaultReference, find_references
from kvconfig.resolve import ResolvedSettings, SecretResolver

__all__ = ["HARD_FAILURES", "Build", "current_build", "hide_inputs_in_errors", "resolve_with_fallback", "secret_key"]

logger = logging.getLogger("kvconfig")

#: Statuses that mean the reference itself is wrong; anything else (timeouts, an unreachable vault, throttling,
#: access) may pass, so a refresh keeps the last good value for it instead of failing.
HARD_FAILURES = frozenset(
    {
        "SecretNotFound",
        "SecretVersionNotFound",
        "SecretDisabled",
        "InvalidSyntax",
        "UntrustedVault",
        "SecretExpired",
        "SecretNotYetValid",
    }
)


@dataclass
class Build:
    """What the Key Vault sources found while one settings object was being built (never shown: holds values).

    ``previous`` is the record of the object being refreshed, when this build is a refresh. ``only``, in a refresh,
    names the secrets to read again (``secret_key`` pairs); every other value whose reference text is unchanged is
    taken from ``previous`` without a vault read. ``None``: read every versionless reference again.
    """

    previous: Build | None = None
    only: frozenset[tuple[str, str]] | None = None
    references: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict, repr=False)
    secrets: dict[str, str] = field(default_factory=dict)  # secret name -> vault URL, for the per-field source
    secret_values: dict[str, str] = field(default_factory=dict, repr=False)
    absent_secrets: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)  # top-level field keys whose value came from Key Vault
    stale: set[str] = field(default_factory=set)
    used: set[tuple[str, str]] = field(default_factory=set)  # (vault URL, lower-case secret name)
    started: bool = False
    resolver: SecretResolver | None = None  # made for this build only, closed when it ends

    def close(self) -> None:
        resolver, self.resolver = self.resolver, None
        if resolver is not None:
            resolver.close()

    def flat_values(self) -> dict[str, str]:
        """Every value read from Key Vault, by setting (references) and by secret id (per-field secrets)."""
        values = dict(self.values)
        values.update({f"{self.secrets[name]}/secrets/{name}": value for name, value in self.secret_values.items()})
        return values

    @property
    def refreshing(self) -> bool:
        return self.previous is not None

    def rereads(self, vault_url: str, name: str) -> bool:
        """Whether this build reads secret ``name`` of ``vault_url`` again (always, unless the refresh is targeted)."""
        return self.only is None or secret_key(vault_url, name) in self.only


def secret_key(vault_url: str, name: str) -> tuple[str, str]:
    """How a secret is named in ``Build.used`` and ``Build.only``: the vault URL and the name, case-folded."""
    return vault_url.rstrip("/").lower(), name.lower()


_BUILD: ContextVar[Build | None] = ContextVar("kvconfig_settings_build", default=None)


def current_build() -> Build | None:
    return _BUILD.get()


@contextlib.contextmanager
def building(build: Build) -> Iterator[Build]:
    token = _BUILD.set(build)
    try:
        yield build
    finally:
        _BUILD.reset(token)


def hide_inputs_in_errors(model: type[BaseModel]) -> None:
    """Make ``model`` leave input values out of its validation errors: a value resolved from Key Vault that fails
    validation (``port: int`` given a word) must not appear in the error text.

    A class that sets ``hide_input_in_errors`` itself, either way, is left as it is; any other class gets it and is
    rebuilt once (pydantic reads the option when it builds the validator).
    """
    if "hide_input_in_errors" in model.model_config:
        return
    model.model_config["hide_input_in_errors"] = True
    model.model_rebuild(force=True)


# -- nested values ------------------------------------------------------------------------------------------------


def deep_update(mapping: dict[str, Any], *updating: Mapping[str, Any]) -> dict[str, Any]:
    """pydantic-settings' merge of two sources' dicts: nested dicts merge, anything else is replaced."""
    updated = dict(mapping)
    for update in updating:
        for key, value in update.items():
            if key in updated and isinstance(updated[key], dict) and isinstance(value, dict):
                updated[key] = deep_update(updated[key], value)
            else:
                updated[key] = value
    return updated


def looks_like_reference(value: Any) -> bool:
    """A text holding a reference, or a ``SecretStr`` wrapping one (as init arguments may)."""
    text = reference_text(value)
    return text is not None and "@microsoft.keyvault(" in text.lower()


def reference_text(value: Any) -> str | None:
    """The text of a value that may hold a reference: a ``str``, or what a ``SecretStr`` wraps."""
    if isinstance(value, str):
        return value
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return None


# -- resolving ----------------------------------------------------------------------------------------------------


def references_in(text: str, resolver: SecretResolver) -> list[KeyVaultReference]:
    """The references in ``text`` (invalid ones are the resolver's to report)."""
    try:
        found = find_references(text, cloud=resolver.cloud, trusted_hosts=resolver.trusted_hosts)
    except KvConfigError:
        return []
    return [ref for _start, _end, ref in found]


def resolve_with_fallback(
    resolver: SecretResolver,
    flat: Mapping[str, str],
    origins: Mapping[str, str],
    *,
    previous: Mapping[str, tuple[str, str]] | None = None,
    absent: frozenset[str] = frozenset(),
    were_absent: frozenset[str] = frozenset(),
) -> tuple[ResolvedSettings, list[ResolutionFailure], set[str]]:
    """Resolve ``flat`` in one batch; return (values, failures with a status in ``absent``, stale settings).

    Failures whose status is in ``absent`` leave the setting out (the per-field source's "no such secret"). When
    ``previous`` maps a setting to (reference, last good value) - a refresh - a transient failure of an unchanged
    reference keeps the last good value and is reported stale; one of a setting in ``were_absent`` (absent at the
    last load) leaves it absent, also reported stale. Any other failure raises one :class:`ResolutionError` listing
    every such failure; a resolver made with ``on_failure="keep"`` or ``"omit"`` logs them instead and leaves those
    settings out (the reference text stays where it was; a per-field secret falls through).
    """
    if not flat:
        return ResolvedSettings(), [], set()
    report = resolver.resolve_report(flat, origins=origins)
    values = report.values
    missing: list[ResolutionFailure] = []
    stale: dict[str, str] = {}
    hard: list[ResolutionFailure] = []
    stale_absent: set[str] = set()
    for failure in report.failures:
        known = previous.get(failure.setting) if previous else None
        if failure.status in absent:
            missing.append(failure)
        elif known is not None and known[0] == flat.get(failure.setting) and failure.status not in HARD_FAILURES:
            stale[failure.setting] = known[1]
        elif failure.setting in were_absent and failure.status not in HARD_FAILURES:
            missing.append(failure)
            stale_absent.add(failure.setting)
        else:
            hard.append(failure)
    if hard:
        if resolver.on_failure == "raise":
            raise ResolutionError(hard) from None
        for failure in hard:
            logger.warning("Key Vault reference not resolved (%s): %s", resolver.on_failure, failure)
    values.update(stale)
    return values, missing, set(stale) | stale_absent
