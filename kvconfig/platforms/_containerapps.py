"""A Container App's definition as the platform reads it: ``configuration.secrets`` (``keyVaultUrl`` with an
``identity``, or ``value``) and each container's ``env`` (``value`` or ``secretRef``).

Read from the ARM/Bicep JSON shape (a ``Microsoft.App/containerApps`` resource, an ARM template holding one, or
``az containerapp show`` output) or the YAML ``az containerapp create --yaml`` takes; both have the same structure.
The platform's rules kept here: a ``keyVaultUrl`` without a version follows the latest version; every secret is
read when a revision starts, also one no container uses; an ``env`` entry names a secret that exists; an identity is
``system`` or a user-assigned identity the app has. A ``value`` (of a secret or an env entry) is used as written:
the platform does not resolve ``@Microsoft.KeyVault(...)`` text in it, and neither does kvconfig (it warns).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kvconfig.platforms._document import Document, PlatformError, read_document
from kvconfig.platforms._identity import ManagedIdentity, parse_identity
from kvconfig.sources import PathPart

__all__ = ["AppSecret", "Container", "ContainerApp", "EnvVar", "read_containerapp"]

logger = logging.getLogger("kvconfig")

_WHAT = "Container App"
_APP_TYPE = "microsoft.app/containerapps"
# Container Apps: lower-case alphanumerics, '-' or '.', starting and ending with an alphanumeric.
_SECRET_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
_MARKER = "@microsoft.keyvault("

Path_ = tuple[PathPart, ...]


@dataclass(frozen=True)
class AppSecret:
    """One entry of ``configuration.secrets``: a Key Vault secret (``key_vault_url``, read with ``identity``; ``None``
    is the system-assigned identity) or a ``value``."""

    name: str
    origin: str
    key_vault_url: str | None = None
    identity: ManagedIdentity | None = None
    value: str | None = field(default=None, repr=False)

    @property
    def reference(self) -> str | None:
        """The ``keyVaultUrl`` as a Key Vault reference kvconfig's resolver reads."""
        return f"@Microsoft.KeyVault(SecretUri={self.key_vault_url})" if self.key_vault_url is not None else None


@dataclass(frozen=True)
class EnvVar:
    """One ``env`` entry of a container: a plain ``value`` or a ``secret_ref`` to one of the app's secrets."""

    name: str
    origin: str
    secret_ref: str | None = None
    value: str = field(default="", repr=False)


@dataclass(frozen=True)
class Container:
    """A container of the app's template (``init`` for ``initContainers``) and its environment entries."""

    name: str
    origin: str
    env: tuple[EnvVar, ...] = ()
    init: bool = False

    @property
    def label(self) -> str:
        return self.name or "(unnamed)"


@dataclass(frozen=True)
class ContainerApp:
    """A Container App's secrets and containers, each with the file and line it was written at."""

    path: Path
    name: str
    secrets: Mapping[str, AppSecret]
    containers: tuple[Container, ...]
    #: Where the template's containers are written (``app.yaml:12``), for errors about choosing one.
    origin: str = ""

    def container(self, name: str | None = None) -> Container:
        """The container called ``name``; without a name, the app's only (non-init) container."""
        if name is None:
            main = [container for container in self.containers if not container.init]
            if len(main) == 1:
                return main[0]
            names = ", ".join(container.label for container in main)
            raise PlatformError(f"{self.origin}: the app has {len(main)} containers ({names}); choose one by name.")
        for container in self.containers:
            if container.name == name:
                return container
        names = ", ".join(container.label for container in self.containers) or "none"
        raise PlatformError(f"{self.origin}: the app has no container {name!r} (its containers: {names}).")

    def key_vault_secrets(self) -> dict[ManagedIdentity | None, list[AppSecret]]:
        """The ``keyVaultUrl`` secrets grouped by the identity that reads them (``None``: system-assigned)."""
        groups: dict[ManagedIdentity | None, list[AppSecret]] = {}
        for secret in self.secrets.values():
            if secret.key_vault_url is not None:
                groups.setdefault(secret.identity, []).append(secret)
        return groups

    def users(self, secret: str) -> list[str]:
        """``NAME in container web`` for every env entry that uses ``secret``."""
        return [
            f"{var.name} in container {container.label}"
            for container in self.containers
            for var in container.env
            if var.secret_ref == secret
        ]

    def environment(self, container: Container, secret_values: Mapping[str, str]) -> dict[str, str]:
        """The container's environment: each entry's value, or the value of the secret it names."""
        environment = {}
        for var in container.env:
            if var.secret_ref is None:
                environment[var.name] = var.value
            else:
                environment[var.name] = secret_values[var.secret_ref]
        return environment


def read_containerapp(path: str | os.PathLike[str]) -> ContainerApp:
    """Read a Container App definition (JSON or YAML). Raises :class:`PlatformError` with the file and line for
    what the platform would refuse: a secret with both or neither of ``keyVaultUrl`` and ``value``, a
    ``keyVaultUrl`` without an ``identity``, an identity that is malformed or that the app does not have, an env
    entry naming an unknown secret (``secretRef``) or with both ``value`` and ``secretRef``, a name given twice."""
    document = read_document(path, _WHAT, bicep=True)
    base, app = _app(document)
    properties: Path_ = (*base, "properties") if isinstance(app.get("properties"), Mapping) else base
    assigned = _assigned_identities(document, base, app)
    secrets = _secrets(document, (*properties, "configuration", "secrets"), assigned)
    containers: list[Container] = []
    for section, init in (("initContainers", True), ("containers", False)):
        containers.extend(_containers(document, (*properties, "template", section), secrets, init))
    if not any(not container.init for container in containers):
        raise document.fail((*properties, "template"), "the app's template has no containers.")
    name = app.get("name")
    origin = document.origin((*properties, "template", "containers"))
    return ContainerApp(document.path, str(name) if isinstance(name, str) else "", secrets, tuple(containers), origin)


def _app(document: Document) -> tuple[Path_, Mapping[str, Any]]:
    data = document.data
    if not isinstance(data, Mapping):
        raise document.fail((), "a Container App definition is an object (a Microsoft.App/containerApps resource).")
    resources = data.get("resources")
    if isinstance(resources, list) and "properties" not in data:
        apps = [
            index
            for index, resource in enumerate(resources)
            if isinstance(resource, Mapping) and str(resource.get("type", "")).lower().startswith(_APP_TYPE)
        ]
        if len(apps) != 1:
            raise document.fail(
                ("resources",),
                f"the template holds {len(apps)} Microsoft.App/containerApps resources; kvconfig reads one app.",
            )
        return ("resources", apps[0]), resources[apps[0]]
    return (), data


def _assigned_identities(document: Document, base: Path_, app: Mapping[str, Any]) -> tuple[bool, list[str]] | None:
    """(system-assigned enabled, user-assigned resource ids), or ``None`` when the file does not say."""
    identity = app.get("identity")
    if identity is None:
        return None
    if not isinstance(identity, Mapping):
        raise document.fail((*base, "identity"), "identity is an object with 'type' (and 'userAssignedIdentities').")
    kind = str(identity.get("type") or "None").lower().replace(" ", "")
    users = identity.get("userAssignedIdentities")
    return "systemassigned" in kind, [str(key) for key in users] if isinstance(users, Mapping) else []


def _secrets(document: Document, at: Path_, assigned: tuple[bool, list[str]] | None) -> dict[str, AppSecret]:
    entries = _list_at(document, at, "configuration.secrets")
    secrets: dict[str, AppSecret] = {}
    for index, entry in enumerate(entries):
        where = (*at, index)
        if not isinstance(entry, Mapping):
            raise document.fail(where, f"secret [{index}] is an object with 'name' and 'keyVaultUrl' or 'value'.")
        name = entry.get("name")
        if not isinstance(name, str) or not _SECRET_NAME.match(name):
            raise document.fail(
                (*where, "name"),
                f"secret [{index}] needs a name of lower-case letters, digits, '-' or '.' (starting and ending with a "
                "letter or digit).",
            )
        if name in secrets:
            raise document.fail((*where, "name"), f"secret {name!r} is defined twice (also at {secrets[name].origin}).")
        url, value = entry.get("keyVaultUrl"), entry.get("value")
        if (url is None) == (value is None):
            raise document.fail(where, f"secret {name!r} needs exactly one of 'keyVaultUrl' and 'value'.")
        if value is not None:
            if not isinstance(value, str):
                raise document.fail((*where, "value"), f"the value of secret {name!r} is text.")
            if _MARKER in value.lower():
                logger.warning(
                    "%s: secret %r holds Key Vault reference text in its 'value'; Container Apps uses it as written "
                    "(only 'keyVaultUrl' is read from Key Vault), and so does kvconfig.",
                    document.origin((*where, "value")),
                    name,
                )
            secrets[name] = AppSecret(name, document.origin((*where, "name")), value=value)
            continue
        if not isinstance(url, str) or not url.strip():
            raise document.fail((*where, "keyVaultUrl"), f"the keyVaultUrl of secret {name!r} is a secret's URL.")
        identity = _secret_identity(document, where, name, entry.get("identity"), assigned)
        secrets[name] = AppSecret(name, document.origin((*where, "keyVaultUrl")), url.strip(), identity)
    return secrets


def _secret_identity(
    document: Document, where: Path_, name: str, written: object, assigned: tuple[bool, list[str]] | None
) -> ManagedIdentity | None:
    if written is None:
        raise document.fail(
            where,
            f"secret {name!r} has a keyVaultUrl but no identity: Container Apps needs 'identity: system' or a "
            "user-assigned identity's resource id.",
        )
    try:
        identity = parse_identity(written)
    except ValueError as exc:
        raise document.fail((*where, "identity"), f"the identity of secret {name!r}: {exc}.") from None
    if assigned is None:
        return identity
    system, users = assigned
    if identity is None and not system:
        raise document.fail(
            (*where, "identity"),
            f"secret {name!r} is read with the system-assigned identity, which the app does not have "
            "(add SystemAssigned to identity.type).",
        )
    if identity is not None and identity.kind == "resource_id" and not any(identity.same_as(user) for user in users):
        raise document.fail(
            (*where, "identity"),
            f"secret {name!r} is read with the user-assigned identity {identity.name!r}, which the app does not have "
            "(add it to identity.userAssignedIdentities).",
        )
    return identity


def _containers(document: Document, at: Path_, secrets: Mapping[str, AppSecret], init: bool) -> list[Container]:
    entries = _list_at(document, at, f"template.{at[-1]}")
    containers = []
    names: dict[str, str] = {}
    for index, entry in enumerate(entries):
        where = (*at, index)
        if not isinstance(entry, Mapping):
            raise document.fail(where, f"container [{index}] is an object with 'name', 'image' and 'env'.")
        name = entry.get("name", "")
        if not isinstance(name, str):
            raise document.fail((*where, "name"), f"the name of container [{index}] is text.")
        if name and name in names:
            raise document.fail((*where, "name"), f"container {name!r} is defined twice (also at {names[name]}).")
        origin = document.origin((*where, "name") if name else where)
        names[name] = origin
        env = _env(document, (*where, "env"), name or f"[{index}]", secrets)
        containers.append(Container(name, origin, env, init))
    return containers


def _env(document: Document, at: Path_, container: str, secrets: Mapping[str, AppSecret]) -> tuple[EnvVar, ...]:
    entries = _list_at(document, at, "env")
    found: dict[str, EnvVar] = {}
    for index, entry in enumerate(entries):
        where = (*at, index)
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise document.fail(where, f"env entry [{index}] of container {container} needs a 'name'.")
        name = entry["name"]
        if name in found:
            raise document.fail(
                (*where, "name"),
                f"env {name!r} of container {container} is given twice (also at {found[name].origin}).",
            )
        ref, value = entry.get("secretRef"), entry.get("value")
        origin = document.origin((*where, "name"))
        if ref is not None and value is not None:
            raise document.fail(where, f"env {name!r} of container {container} has both 'value' and 'secretRef'.")
        if ref is not None:
            if ref not in secrets:
                known = ", ".join(sorted(secrets)) or "none"
                raise document.fail(
                    (*where, "secretRef"),
                    f"env {name!r} of container {container} uses secretRef {ref!r}, which is not among the app's "
                    f"secrets (configuration.secrets: {known}).",
                )
            found[name] = EnvVar(name, origin, secret_ref=str(ref))
            continue
        if isinstance(value, Mapping | list):
            raise document.fail((*where, "value"), f"the value of env {name!r} of container {container} is text.")
        text = "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
        if _MARKER in text.lower():
            logger.warning(
                "%s: env %r of container %s holds Key Vault reference text in its 'value'; Container Apps passes it "
                "as written (use a keyVaultUrl secret and secretRef), and so does kvconfig.",
                origin,
                name,
                container,
            )
        found[name] = EnvVar(name, origin, value=text)
    return tuple(found.values())


def _list_at(document: Document, at: Path_, what: str) -> list[Any]:
    data: Any = document.data
    for part in at:
        if not isinstance(data, Mapping | list):
            return []
        if isinstance(part, int):
            data = data[part] if isinstance(data, list) and part < len(data) else None
        else:
            data = data.get(part) if isinstance(data, Mapping) else None
        if data is None:
            return []
    if not isinstance(data, list):
        raise document.fail(at, f"{what} is a list.")
    return data
