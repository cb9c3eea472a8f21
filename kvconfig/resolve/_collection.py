"""Finding the Key Vault references in settings: which setting holds which references, and which do not parse.

A value is a reference when it is one as a whole, when its App Configuration content type says so, or (with
``embedded``) when references stand inside a longer value. A value that does not parse is reported with only the
reference itself shown (see ``_shown``), never the rest of the value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kvconfig.errors import ReferenceSyntaxError, ResolutionFailure, UntrustedVaultError
from kvconfig.references import (
    KeyVaultReference,
    find_references,
    is_reference,
    parse_appconfig_reference,
    parse_reference,
)

__all__ = ["Entry", "ReferenceCollector", "written_reference"]

_PARSED_LIMIT = 16384


@dataclass
class Entry:
    """One setting and the references found in it."""

    setting: str
    text: str = field(repr=False)
    origin: str | None
    refs: list[tuple[int, int, KeyVaultReference]]
    whole: bool


class ReferenceCollector:
    """Finds the references in settings for one resolver (its cloud, trusted hosts and ``embedded`` option)."""

    def __init__(self, *, cloud: str, trusted_hosts: Iterable[str], embedded: bool) -> None:
        self.cloud = cloud
        self.trusted_hosts = tuple(trusted_hosts)
        self.embedded = embedded
        # Parsed whole-value references by text (a parse depends only on the text, the cloud and the trusted hosts,
        # which are fixed per collector); errors are not kept, they name the setting and origin.
        self._parsed: dict[str, KeyVaultReference] = {}

    def collect(
        self, settings: Mapping[str, Any], origins: Mapping[str, str], content_types: Mapping[str, str | None]
    ) -> tuple[list[Entry], list[ResolutionFailure]]:
        """The settings that hold references, and a failure for each value that is a reference but cannot be read."""
        entries: list[Entry] = []
        failures: list[ResolutionFailure] = []
        for setting, value in settings.items():
            if not isinstance(value, str):
                continue
            origin = origins.get(setting)
            try:
                content_type = content_types.get(setting)
                appconfig = (
                    parse_appconfig_reference(
                        value, content_type, setting=setting, origin=origin, trusted_hosts=self.trusted_hosts
                    )
                    if content_type
                    else None
                )
                if appconfig is not None:
                    entries.append(Entry(setting, value, origin, [(0, len(value), appconfig)], whole=True))
                elif is_reference(value):
                    ref = self._parsed.get(value)
                    if ref is None:
                        ref = parse_reference(
                            value, setting=setting, origin=origin, cloud=self.cloud, trusted_hosts=self.trusted_hosts
                        )
                        if len(self._parsed) >= _PARSED_LIMIT:
                            self._parsed.clear()
                        self._parsed[value] = ref
                    entries.append(Entry(setting, value, origin, [(0, len(value), ref)], whole=True))
                elif self.embedded and "@microsoft.keyvault(" in value.lower():
                    found = find_references(
                        value, setting=setting, origin=origin, cloud=self.cloud, trusted_hosts=self.trusted_hosts
                    )
                    if found:
                        entries.append(Entry(setting, value, origin, found, whole=False))
            except ReferenceSyntaxError as exc:
                failures.append(ResolutionFailure(setting, _shown(value), "InvalidSyntax", exc.reason, origin))
            except UntrustedVaultError as exc:
                failures.append(
                    ResolutionFailure(
                        setting, _shown(value), "UntrustedVault", f"host {exc.host!r} is not trusted", origin
                    )
                )
        return entries, failures


def written_reference(text: str) -> str:
    """A parsed reference as the setting holds it, for reports (a parsed reference holds no value), bounded."""
    text = text.strip()
    return text if len(text) <= 400 else text[:400] + "..."


def _shown(value: str) -> str:
    """What a failure shows of a value that did not parse: only the reference itself, up to its first ``)`` (a
    reference holds no parentheses), never the text after it, and nothing of a value that is not a reference: it
    may be a secret pasted by mistake."""
    text = value.strip()
    if not is_reference(text):
        return "<value hidden>"
    close = text.find(")")
    shown = text if close < 0 else text[: close + 1]
    return shown if len(shown) <= 400 else shown[:400] + "..."
