"""Key Vault reference grammar: parsing and validation (the trusted vault hosts are in ``_hosts.py``).

This module owns the text forms that point at a Key Vault secret, as specified in ``docs/references.md`` (rules
R1, R2, ... are cited in comments below):

* App Service / Functions references, standalone or embedded in a longer value::

      @Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/db[/<version>])
      @Microsoft.KeyVault(VaultName=myvault;SecretName=db[;SecretVersion=<version>])

* App Configuration Key Vault references (content type ``application/vnd.microsoft.appconfig.keyvaultref+json``,
  value ``{"uri": "https://myvault.vault.azure.net/secrets/db"}``).

Every accepted form parses to one canonical, hashable :class:`KeyVaultReference`. Nothing here does I/O; the
trusted-host check is what stops a token from ever being sent to a host an attacker chose.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from kvconfig.errors import ReferenceSyntaxError, UntrustedVaultError
from kvconfig.references._hosts import (
    CloudName,
    TrustedEntry,
    canonical_host,
    cloud_vault_suffix,
    is_trusted,
    trusted_entries,
)
from kvconfig.references._hosts import Problem as _Problem

__all__ = [
    "APPCONFIG_KEYVAULT_CONTENT_TYPE",
    "KeyVaultReference",
    "find_references",
    "is_reference",
    "parse_appconfig_reference",
    "parse_reference",
]

APPCONFIG_KEYVAULT_CONTENT_TYPE = "application/vnd.microsoft.appconfig.keyvaultref+json"

_PREFIX = "@microsoft.keyvault("
# re.ASCII matters: with Unicode case folding, the Kelvin sign and the long s would match "k" and "s".
_PREFIX_RE = re.compile(re.escape(_PREFIX), re.IGNORECASE | re.ASCII)
_SECRET_NAME_RE = re.compile(r"[0-9A-Za-z-]{1,127}")
_VAULT_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]")
_VERSION_RE = re.compile(r"[0-9A-Fa-f]{32}")
_CANONICAL_VERSION_RE = re.compile(r"[0-9a-f]{32}")

# Canonical spelling of each key, looked up by its lower-cased form (R4: key names are case-insensitive).
_KEYS = {key.lower(): key for key in ("SecretUri", "VaultName", "SecretName", "SecretVersion")}
_KEY_LIST = "SecretUri, VaultName, SecretName, SecretVersion"
_URI_SHAPE = "https://<vault-host>/secrets/<name>[/<version>]"
_SHOWN_LIMIT = 200


def _quote(text: str) -> str:
    """Quote reference text for a message: repr escapes control characters, so a log line cannot be forged."""
    if len(text) <= _SHOWN_LIMIT:
        return repr(text)
    return f"{text[:_SHOWN_LIMIT]!r}... ({len(text)} characters)"


def _syntax_error(problem: str, shown: str | None, *, setting: str | None, origin: str | None) -> ReferenceSyntaxError:
    # R22: only the reference text itself is ever quoted, and only when the caller knows it is reference text.
    reason = problem if shown is None else f"{problem} (in {_quote(shown)})"
    return ReferenceSyntaxError(reason, setting=setting, origin=origin)


@dataclass(frozen=True)
class KeyVaultReference:
    """One secret in one vault, optionally pinned to a version, in canonical form.

    ``vault_url`` is ``https://`` plus the lower-cased host (and ``:port`` only when it is not 443), without a
    trailing slash; ``name`` keeps its case (Key Vault names are case-insensitive, see :attr:`key`); ``version`` is
    32 lower-case hex characters or ``None`` for "the current version". Build one with :func:`parse_reference`;
    the constructor only checks that the fields are already canonical, so equal references compare equal.
    """

    vault_url: str
    name: str
    version: str | None = None

    def __post_init__(self) -> None:
        try:
            if not self.vault_url.startswith("https://"):
                raise _Problem("vault_url must start with https://")
            host = self.vault_url[len("https://") :]
            if canonical_host(host) != host:
                raise _Problem("vault_url must be https:// plus a lower-case host[:port], without :443 or a path")
            _check_secret_name(self.name)
            if self.version is not None and not _CANONICAL_VERSION_RE.fullmatch(self.version):
                raise _Problem("version must be None or 32 lower-case hexadecimal characters")
        except _Problem as problem:
            raise ReferenceSyntaxError(f"KeyVaultReference fields are not canonical: {problem}") from None

    @property
    def vault_host(self) -> str:
        """The vault's lower-case ``host[:port]``, the unit of trust and of SDK clients."""
        return self.vault_url[len("https://") :]

    @property
    def secret_id(self) -> str:
        """The secret's identifier URL: ``<vault_url>/secrets/<name>[/<version>]``."""
        suffix = f"/{self.version}" if self.version else ""
        return f"{self.vault_url}/secrets/{self.name}{suffix}"

    @property
    def key(self) -> tuple[str, str, str | None]:
        """Dedupe key: Key Vault compares secret names case-insensitively, so ``DB`` and ``db`` are one secret."""
        return (self.vault_url, self.name.lower(), self.version)

    def __str__(self) -> str:
        return f"@Microsoft.KeyVault(SecretUri={self.secret_id})"


def is_reference(text: str) -> bool:
    """Cheap check: does ``text`` (ignoring surrounding whitespace) start with ``@Microsoft.KeyVault(``?"""
    head = text.lstrip()[: len(_PREFIX)]
    return head.isascii() and head.lower() == _PREFIX


def parse_reference(
    text: str,
    *,
    setting: str | None = None,
    origin: str | None = None,
    cloud: str | CloudName = "public",
    trusted_hosts: Iterable[str] = (),
) -> KeyVaultReference:
    """Parse one App Service / Functions Key Vault reference that makes up the whole of ``text``.

    ``setting`` and ``origin`` (such as ``".env:3"``) only locate errors. ``cloud`` picks the vault suffix for
    ``VaultName=`` references. ``trusted_hosts`` adds hosts (``"myvault.localhost:8443"``) or suffixes
    (``".localhost:8443"``) to the Azure vault suffixes.

    Raises :class:`ReferenceSyntaxError` when the text is malformed and :class:`UntrustedVaultError` when it is
    well formed but names a host that must not receive a token.
    """
    return _parse_reference(
        text,
        setting=setting,
        origin=origin,
        cloud_suffix=cloud_vault_suffix(cloud),
        trusted=trusted_entries(trusted_hosts),
    )


def _parse_reference(
    text: str, *, setting: str | None, origin: str | None, cloud_suffix: str, trusted: tuple[TrustedEntry, ...]
) -> KeyVaultReference:
    stripped = text.strip()  # R3
    if not stripped:
        raise _syntax_error("the value is empty", None, setting=setting, origin=origin)
    if not is_reference(stripped):
        # Not quoted: a value that is not a reference may well be a secret typed in by mistake.
        raise _syntax_error(
            "the value does not start with '@Microsoft.KeyVault('", None, setting=setting, origin=origin
        )
    end = _reference_end(stripped, len(_PREFIX))
    shown = stripped if end is None else stripped[:end]
    try:
        if end is None:
            raise _Problem("unbalanced parentheses: the closing ')' is missing")  # R15
        if end != len(stripped):
            # The rest is not quoted: it is not part of the reference and may hold other configuration.
            if stripped[end] == ")":
                raise _Problem("unbalanced parentheses: an extra ')' after the reference")
            extra = len(stripped) - end
            raise _Problem(
                f"unexpected text after the closing ')' ({extra} character{'s' * (extra != 1)}); "
                "use find_references() for references embedded in a longer value"
            )
        body = stripped[len(_PREFIX) : end - 1]
        if "(" in body or ")" in body:
            raise _Problem("parentheses are not allowed inside a reference")  # R15
        host, name, version = _parse_body(body, cloud_suffix)
    except _Problem as problem:
        raise _syntax_error(str(problem), shown, setting=setting, origin=origin) from None
    # Checked for VaultName= references too: a mutated CLOUD_VAULT_SUFFIXES must not become a way around it.
    if not is_trusted(host, trusted):
        raise UntrustedVaultError(host, setting=setting, origin=origin)
    return KeyVaultReference(f"https://{host}", name, version)


def find_references(
    text: str,
    *,
    setting: str | None = None,
    origin: str | None = None,
    cloud: str | CloudName = "public",
    trusted_hosts: Iterable[str] = (),
) -> list[tuple[int, int, KeyVaultReference]]:
    """Find every reference embedded in ``text``, as ``(start, end, reference)`` with ``text[start:end]`` the reference.

    A reference ends at the ``)`` matching its opening parenthesis, so
    ``Server=x;Password=@Microsoft.KeyVault(VaultName=v;SecretName=s);Timeout=3`` yields one reference. Malformed or
    untrusted references raise as in :func:`parse_reference`; text without references yields ``[]``.
    """
    cloud_suffix = cloud_vault_suffix(cloud)
    trusted = trusted_entries(trusted_hosts)  # once: a generator must serve every reference
    found: list[tuple[int, int, KeyVaultReference]] = []
    position = 0
    while (match := _PREFIX_RE.search(text, position)) is not None:
        start = match.start()
        end = _reference_end(text, match.end())
        if end is None:
            # Only the position is reported: where an unterminated reference stops is unknowable, and the text
            # after it may be other configuration.
            raise _syntax_error(
                f"unbalanced parentheses: the '@Microsoft.KeyVault(' at character {start} has no closing ')'",
                None,
                setting=setting,
                origin=origin,
            )
        reference = _parse_reference(
            text[start:end], setting=setting, origin=origin, cloud_suffix=cloud_suffix, trusted=trusted
        )
        found.append((start, end, reference))
        position = end
    return found


def parse_appconfig_reference(
    value: str,
    content_type: str | None,
    *,
    setting: str | None = None,
    origin: str | None = None,
    trusted_hosts: Iterable[str] = (),
) -> KeyVaultReference | None:
    """Parse an App Configuration Key Vault reference; ``None`` when ``content_type`` says it is not one.

    The content type is compared case-insensitively, ignoring parameters such as ``;charset=utf-8``. The value
    must be a JSON object whose ``"uri"`` is a secret URL, following the same rules as ``SecretUri=``.
    """
    if content_type is None:
        return None
    media_type = content_type.split(";", 1)[0].strip()
    if not (media_type.isascii() and media_type.lower() == APPCONFIG_KEYVAULT_CONTENT_TYPE):
        return None
    trusted = trusted_entries(trusted_hosts)
    try:
        document = json.loads(value, object_pairs_hook=_reject_duplicate_members)
    except _Problem as problem:
        raise _syntax_error(str(problem), None, setting=setting, origin=origin) from None
    except (ValueError, RecursionError) as exc:
        # The value is not quoted: with a wrong content type it could be anything, secrets included.
        detail = f" ({exc.msg} at character {exc.pos})" if isinstance(exc, json.JSONDecodeError) else ""
        raise _syntax_error(
            f"the App Configuration Key Vault reference is not valid JSON{detail}", None, setting=setting, origin=origin
        ) from None
    uri = document.get("uri") if isinstance(document, dict) else None
    if not isinstance(uri, str):
        raise _syntax_error(
            'the App Configuration Key Vault reference must be a JSON object with a "uri" string',
            None,
            setting=setting,
            origin=origin,
        )
    try:
        host, name, version = _parse_secret_uri(uri.strip(), label="uri")
    except _Problem as problem:
        raise _syntax_error(str(problem), uri, setting=setting, origin=origin) from None
    if not is_trusted(host, trusted):
        raise UntrustedVaultError(host, setting=setting, origin=origin)
    return KeyVaultReference(f"https://{host}", name, version)


# --------------------------------------------------------------------------------------------------------------------
# Grammar internals. Helpers raise _Problem; the public functions add the reference text and location.


def _reference_end(text: str, body_start: int) -> int | None:
    """Index just past the ``)`` matching the ``(`` that ends at ``body_start``, or None when it never closes."""
    depth = 1
    for index in range(body_start, len(text)):
        char = text[index]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _parse_body(body: str, cloud_suffix: str) -> tuple[str, str, str | None]:
    """Parse the ``Key=Value;...`` inside the parentheses into ``(host[:port], name, version)``."""
    parts = body.split(";")
    if len(parts) > 1 and not parts[-1].strip():
        parts.pop()  # R5: App Service tolerates one trailing ';'
    if len(parts) == 1 and not parts[0].strip():
        raise _Problem(
            f"the reference is empty; expected SecretUri={_URI_SHAPE} or VaultName=<vault>;SecretName=<name>"
        )
    values: dict[str, str] = {}
    for raw_part in parts:
        part = raw_part.strip()
        if not part:
            raise _Problem("empty part: two ';' in a row or a leading ';'")  # R14
        raw_key, equals, raw_value = part.partition("=")
        key, value = raw_key.strip(), raw_value.strip()
        if not equals:
            raise _Problem(f"part {part!r} is not Key=Value")
        canonical = _KEYS.get(key.lower()) if key.isascii() else None
        if canonical is None:
            raise _Problem(f"unknown key {key!r}; expected {_KEY_LIST}" if key else f"part {part!r} has no key")
        if canonical in values:
            raise _Problem(f"duplicate key {canonical}")
        if not value:
            raise _Problem(f"empty value for {canonical}")
        values[canonical] = value

    if "SecretUri" in values:
        mixed = [key for key in ("VaultName", "SecretName", "SecretVersion") if key in values]
        if mixed:
            raise _Problem(f"SecretUri cannot be combined with {', '.join(mixed)}; use one form or the other")
        return _parse_secret_uri(values["SecretUri"], label="SecretUri")
    if "VaultName" not in values:
        raise _Problem("missing VaultName (or use SecretUri= instead)")
    if "SecretName" not in values:
        raise _Problem("missing SecretName")
    vault = _check_vault_name(values["VaultName"])
    name = _check_secret_name(values["SecretName"])
    version = _check_version(values["SecretVersion"]) if "SecretVersion" in values else None
    return f"{vault.lower()}.{cloud_suffix}", name, version


def _parse_secret_uri(uri: str, *, label: str) -> tuple[str, str, str | None]:
    """Parse a secret URL into ``(host[:port], name, version)``.

    Deliberately not ``urllib.parse``: it accepts userinfo, backslashes and percent-encoded hosts, and its
    ``hostname`` is not the host a client actually connects to in every such case. Anything unusual is an error.
    """
    if not uri:
        raise _Problem(f"empty value for {label}")
    # The one whitespace character str.isprintable() accepts is the space (every other one is not printable).
    if not uri.isprintable() or " " in uri:
        raise _Problem(f"{label} must not contain whitespace or control characters")
    if not uri.isascii():
        raise _Problem(f"{label} must be ASCII (write internationalised host names in their xn-- form)")
    if "\\" in uri:
        raise _Problem(f"{label} must not contain backslashes")
    scheme, separator, rest = uri.partition("://")
    if not separator:
        raise _Problem(f"{label} must be an absolute URL of the form {_URI_SHAPE}")
    if scheme.lower() != "https":  # R7
        raise _Problem(f"{label} must use https, not {scheme.lower() or 'an empty scheme'}")
    if "#" in rest:
        raise _Problem(f"{label} must not have a fragment ('#...')")
    if "?" in rest:
        raise _Problem(f"{label} must not have a query string ('?...')")
    if "%" in rest:
        raise _Problem(f"{label} must not contain percent-encoding")
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        # https://myvault.vault.azure.net@evil.com/... connects to evil.com: never accept userinfo.
        raise _Problem(f"{label} must not contain user information ('user@' before the host)")
    host = canonical_host(netloc, label=label)
    name, version = _parse_secret_path(slash + path, label=label)
    return host, name, version


def _parse_secret_path(path: str, *, label: str) -> tuple[str, str | None]:
    if path.endswith("/"):
        path = path[:-1]  # R6: one trailing slash is tolerated, as App Service does
    if not path:
        raise _Problem(f"{label} has no path; expected {_URI_SHAPE}")
    segments = path[1:].split("/")
    collection = segments[0].lower()
    if collection in ("keys", "certificates"):  # R8
        hint = ""
        if collection == "certificates":
            hint = " (a certificate's private key is readable as the secret of the same name)"
        raise _Problem(f"{label} points at {collection}, but only secrets can be referenced; use /secrets/<name>{hint}")
    if collection != "secrets":
        raise _Problem(f"{label} path must be /secrets/<name>[/<version>], not /{segments[0]}/...")
    if any(not segment for segment in segments):
        raise _Problem(f"{label} path has an empty segment ('//')")
    if len(segments) == 1:
        raise _Problem(f"{label} has no secret name after /secrets/")
    if len(segments) > 3:
        raise _Problem(f"{label} path has too many segments; expected /secrets/<name>[/<version>]")
    name = _check_secret_name(segments[1])
    version = _check_version(segments[2]) if len(segments) == 3 else None
    return name, version


def _check_secret_name(name: str) -> str:
    if not _SECRET_NAME_RE.fullmatch(name):
        too_long = f" ({len(name)} characters)" if len(name) > 127 else ""
        raise _Problem(f"invalid secret name{too_long}: use 1-127 letters, digits and '-'")
    return name


def _check_vault_name(vault: str) -> str:
    if any(char in vault for char in "./:"):
        raise _Problem(
            "VaultName must be the vault's name (like 'myvault'), not a host or URL; use SecretUri= for that"
        )
    if not _VAULT_NAME_RE.fullmatch(vault) or "--" in vault:
        raise _Problem(
            "invalid VaultName: use 3-24 letters, digits and '-', starting with a letter, not ending with '-', "
            "without '--'"
        )
    return vault


def _check_version(version: str) -> str:
    if not _VERSION_RE.fullmatch(version):
        raise _Problem(f"invalid secret version ({len(version)} characters): use exactly 32 hexadecimal characters")
    return version.lower()


def _reject_duplicate_members(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document: dict[str, object] = {}
    for member, value in pairs:
        if member in document:
            raise _Problem(f"the App Configuration Key Vault reference has a duplicate {member!r} member")
        document[member] = value
    return document
