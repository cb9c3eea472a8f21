"""The ``keyvault_reference`` and ``keyvault_env`` fixtures' helpers: put a secret in the fake, hand back the
App Service reference to it (and put that in an environment variable)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

import pytest

if TYPE_CHECKING:
    from kvconfig.fake import FakeKeyVault

__all__ = ["KeyVaultEnv", "KeyVaultReferenceFactory"]

ReferenceStyle = Literal["uri", "name"]
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class KeyVaultReferenceFactory:
    """``keyvault_reference("db-password", "s3cret")``: set the secret in the fake, return its reference.

    ``value=None`` refers to a secret that is already there (or deliberately absent). ``vault`` is a vault name or
    URL (default: the marker's ``vault=``, else ``myvault``); ``pinned=True`` names the version; ``style="name"``
    writes ``VaultName=...;SecretName=...`` instead of ``SecretUri=...`` (public-cloud vaults only).
    """

    def __init__(self, fake: FakeKeyVault, default_vault: str) -> None:
        self._fake = fake
        self.default_vault = default_vault

    def __call__(
        self,
        name: str,
        value: str | None = None,
        *,
        vault: str | None = None,
        pinned: bool = False,
        style: ReferenceStyle = "uri",
        content_type: str | None = None,
    ) -> str:
        target = self._fake.vault(vault or self.default_vault)
        version: str | None = None
        if value is not None:
            version = self._fake.set_secret(target.url, name, value, content_type=content_type)
        elif pinned:
            found = target.secrets.get(name)
            if found is None or not found.latest:
                raise LookupError(f"pinned=True needs a version: the secret {name!r} is not in {target.url}.")
            version = found.latest
        if not pinned:
            version = None
        if style == "name":
            if not target.properties.host.endswith(".vault.azure.net"):
                raise ValueError(
                    f"style='name' (VaultName=) refers to public-cloud vaults only; use style='uri' for {target.url}."
                )
            pin = f";SecretVersion={version}" if version else ""
            return f"@Microsoft.KeyVault(VaultName={target.name};SecretName={name}{pin})"
        if style != "uri":
            raise ValueError(f"style must be 'uri' or 'name', not {style!r}.")
        pin = f"/{version}" if version else ""
        return f"@Microsoft.KeyVault(SecretUri={target.url}/secrets/{name}{pin})"


class KeyVaultEnv:
    """``keyvault_env("APP_DB_PASSWORD", "s3cret")``: set a secret (``app-db-password`` unless ``secret=``), point
    the environment variable at it with a reference, and return the reference. Undone after the test."""

    def __init__(self, references: KeyVaultReferenceFactory, monkeypatch: pytest.MonkeyPatch) -> None:
        self._references = references
        self._monkeypatch = monkeypatch

    def __call__(
        self,
        variable: str,
        value: str | None = None,
        *,
        secret: str | None = None,
        vault: str | None = None,
        pinned: bool = False,
        style: ReferenceStyle = "uri",
    ) -> str:
        if not _ENV_NAME.match(variable):
            raise ValueError(f"{variable!r} is not an environment variable name.")
        name = secret or variable.lower().replace("_", "-").strip("-")
        reference = self._references(name, value, vault=vault, pinned=pinned, style=style)
        self._monkeypatch.setenv(variable, reference)
        return reference
