"""A ``SecretProviderClass`` of the Secrets Store CSI driver, provider ``azure``, read as the driver reads it.

``spec.parameters`` holds strings only (Kubernetes says so); ``objects`` is itself YAML: ``array:`` of YAML strings,
one object each. Every field the Azure provider reads is checked here, and a bad one is reported with the file, the
line of its parameter and the object (``spc.yaml:21: object 2 (db-password): objectType 'blob' is not ...``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kvconfig.errors import KvConfigError

if TYPE_CHECKING:
    import yaml

__all__ = ["MountObject", "SecretObject", "SecretProviderClass", "SpcError", "read_spc"]

MAX_FILE = 1024 * 1024  # a SecretProviderClass is a small manifest; the bound keeps a hostile file from costing much
MAX_OBJECTS = 1000
_OBJECT_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
_VAULT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")
_VERSION = re.compile(r"^[0-9a-fA-F]{32}$")
_ALIAS = re.compile(r"^[^/\x00]{1,253}$")
_PERMISSION = re.compile(r"^0?[0-7]{3}$")
# The Azure provider's cloudName values (empty is the public cloud) and the vault DNS suffix of each.
CLOUDS = {
    "": "vault.azure.net",
    "azurepubliccloud": "vault.azure.net",
    "azureusgovernmentcloud": "vault.usgovcloudapi.net",
    "azurechinacloud": "vault.azure.cn",
    "azuregermancloud": "vault.microsoftazure.de",
}
_OBJECT_FIELDS = {
    "objectName",
    "objectType",
    "objectVersion",
    "objectAlias",
    "objectFormat",
    "objectEncoding",
    "filePermission",
    "objectVersionHistory",
}


class SpcError(KvConfigError, ValueError):
    """A SecretProviderClass the driver would refuse (or that kvconfig cannot read), with the file and line."""


@dataclass(frozen=True)
class MountObject:
    """One entry of ``objects``: what to read from the vault and the file it becomes."""

    name: str
    type: str = "secret"  # secret | key | cert
    version: str | None = None
    alias: str | None = None
    format: str = "pem"  # pem | pfx
    encoding: str = "utf-8"  # utf-8 | hex | base64
    file_permission: int | None = None

    @property
    def file_name(self) -> str:
        """The file the driver writes: the alias when there is one, else the object's name."""
        return self.alias or self.name


@dataclass(frozen=True)
class SecretObject:
    """One entry of ``secretObjects``: a Kubernetes Secret synced from mounted files."""

    secret_name: str
    type: str
    data: tuple[tuple[str, str], ...]  # (objectName as mounted, key in the Secret)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SecretProviderClass:
    """The parts of a ``SecretProviderClass`` kvconfig acts on."""

    name: str
    keyvault_name: str
    vault_url: str
    tenant_id: str
    objects: tuple[MountObject, ...]
    secret_objects: tuple[SecretObject, ...] = ()
    origin: str = ""


@functools.cache
def _loader() -> Any:
    """PyYAML's safe loader without anchors and aliases: a manifest has no use for them, and alias expansion is a
    memory bomb. PyYAML is imported here, so ``kvconfig mount`` says what to install when it is missing."""
    try:
        import yaml
    except ImportError:
        raise SpcError("kvconfig mount reads YAML: pip install 'kvconfig[yaml,keys,certificates]'.") from None

    class NoAliases(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise yaml.MarkedYAMLError("while reading", None, "aliases are not allowed here", event.start_mark)
            return super().compose_node(parent, index)

    return NoAliases


def _load(text: str, where: str) -> tuple[Any, yaml.Node | None]:
    import yaml

    loader = _loader()
    try:
        node = yaml.compose(text, Loader=loader)
        return (yaml.load(text, Loader=loader) if node is not None else None), node
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise SpcError(f"{where}{line}: {problem}.") from None


def _line_of(node: yaml.Node | None, *path: str) -> int | None:
    import yaml

    for key in path:
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((value for name, value in node.value if name.value == key), None)
    return node.start_mark.line + 1 if node is not None else None


def read_spc(path: str | Path) -> SecretProviderClass:
    """Read and check a ``SecretProviderClass`` manifest (the first one of the file with provider ``azure``)."""
    source = Path(path)
    try:
        with source.open("rb") as handle:
            data = handle.read(MAX_FILE + 1)  # a device or a huge file is refused below, never read whole
    except OSError as exc:
        raise SpcError(f"Cannot read {source}: {exc.strerror or type(exc).__name__}.") from None
    if len(data) > MAX_FILE:
        raise SpcError(f"{source}: {len(data)} bytes is more than a SecretProviderClass needs ({MAX_FILE}).")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SpcError(f"{source}: not UTF-8 text.") from None
    document, node = _load(text, str(source))
    if not isinstance(document, dict) or document.get("kind") != "SecretProviderClass":
        raise SpcError(f"{source}: not a SecretProviderClass (kind: SecretProviderClass).")
    spec = document.get("spec")
    if not isinstance(spec, dict) or spec.get("provider") != "azure":
        raise SpcError(f"{source}:{_line_of(node, 'spec') or 1}: spec.provider must be 'azure'.")
    parameters = spec.get("parameters")
    if not isinstance(parameters, dict):
        raise SpcError(f"{source}:{_line_of(node, 'spec') or 1}: spec.parameters is missing.")

    def where(parameter: str) -> str:
        return f"{source}:{_line_of(node, 'spec', 'parameters', parameter) or _line_of(node, 'spec') or 1}"

    for key, value in parameters.items():
        if not isinstance(value, str):
            raise SpcError(f"{where(str(key))}: parameter {key} must be a string (quote it).")
    vault_name = parameters.get("keyvaultName", "")
    if not _VAULT_NAME.match(vault_name):
        raise SpcError(f"{where('keyvaultName')}: keyvaultName {vault_name!r} is not a vault name (3-24 characters).")
    cloud = parameters.get("cloudName", "")
    if cloud.lower() not in CLOUDS:
        raise SpcError(f"{where('cloudName')}: cloudName {cloud!r} is not one of {', '.join(c for c in CLOUDS if c)}.")
    objects = _objects(parameters.get("objects", ""), where("objects"))
    metadata: dict[str, Any] = document["metadata"] if isinstance(document.get("metadata"), dict) else {}
    return SecretProviderClass(
        name=str(metadata.get("name", "")),
        keyvault_name=vault_name,
        vault_url=f"https://{vault_name.lower()}.{CLOUDS[cloud.lower()]}",
        tenant_id=parameters.get("tenantId", ""),
        objects=objects,
        secret_objects=_secret_objects(
            spec.get("secretObjects"), f"{source}:{_line_of(node, 'spec', 'secretObjects')}", objects
        ),
        origin=str(source),
    )


def _objects(text: str, where: str) -> tuple[MountObject, ...]:
    parsed, _node = _load(text, where) if text.strip() else ({}, None)
    array = parsed.get("array") if isinstance(parsed, dict) else None
    if not isinstance(array, list) or not array:
        raise SpcError(f"{where}: objects must hold 'array:' with at least one object.")
    if len(array) > MAX_OBJECTS:
        raise SpcError(f"{where}: {len(array)} objects is more than {MAX_OBJECTS}.")
    objects: list[MountObject] = []
    for index, entry in enumerate(array, 1):
        spec, _ = _load(entry, where) if isinstance(entry, str) else (entry, None)
        objects.append(_object(spec, f"{where}: object {index}"))
    names = [obj.file_name for obj in objects]
    duplicate = next((name for name in names if names.count(name) > 1), None)
    if duplicate is not None:
        raise SpcError(f"{where}: two objects would write the same file {duplicate!r} (use objectAlias).")
    return tuple(objects)


def _object(spec: Any, where: str) -> MountObject:
    if not isinstance(spec, dict):
        raise SpcError(f"{where}: an object must be a mapping with objectName and objectType.")
    name = str(spec.get("objectName", ""))
    where = f"{where} ({name})" if name else where
    unknown = sorted(set(spec) - _OBJECT_FIELDS)
    if unknown:
        raise SpcError(f"{where}: unknown field {unknown[0]!r}.")
    if not _OBJECT_NAME.match(name):
        raise SpcError(f"{where}: objectName must be 1-127 letters, digits and dashes.")
    kind = str(spec.get("objectType", "")).lower()
    if kind not in ("secret", "key", "cert"):
        raise SpcError(f"{where}: objectType {kind!r} is not one of secret, key, cert.")
    version = str(spec.get("objectVersion") or "") or None
    if version is not None and not _VERSION.match(version):
        raise SpcError(f"{where}: objectVersion must be empty (the latest) or 32 hexadecimal digits.")
    alias = str(spec.get("objectAlias") or "") or None
    if alias is not None and (not _ALIAS.match(alias) or alias in (".", "..") or alias.startswith("..")):
        raise SpcError(f"{where}: objectAlias {alias!r} must be a plain file name (no '/', not starting with '..').")
    fmt = str(spec.get("objectFormat") or "pem").lower()
    if fmt not in ("pem", "pfx"):
        raise SpcError(f"{where}: objectFormat {fmt!r} is not one of pem, pfx.")
    if fmt == "pfx" and kind != "secret":
        raise SpcError(f"{where}: objectFormat pfx is only for objectType secret (a certificate's secret).")
    encoding = str(spec.get("objectEncoding") or "utf-8").lower()
    if encoding not in ("utf-8", "hex", "base64"):
        raise SpcError(f"{where}: objectEncoding {encoding!r} is not one of utf-8, hex, base64.")
    if encoding != "utf-8" and kind != "secret":
        raise SpcError(f"{where}: objectEncoding is only for objectType secret.")
    permission = str(spec.get("filePermission") or "")
    if permission and not _PERMISSION.match(permission):
        raise SpcError(f"{where}: filePermission {permission!r} must be an octal mode such as 0644.")
    return MountObject(name, kind, version, alias, fmt, encoding, int(permission, 8) if permission else None)


def _secret_objects(spec: Any, where: str, objects: tuple[MountObject, ...]) -> tuple[SecretObject, ...]:
    if spec is None:
        return ()
    if not isinstance(spec, list):
        raise SpcError(f"{where}: secretObjects must be a list.")
    mounted = {obj.file_name for obj in objects}
    result = []
    for entry in spec:
        if not isinstance(entry, dict) or not entry.get("secretName") or not entry.get("type"):
            raise SpcError(f"{where}: each secretObject needs secretName and type.")
        data = entry.get("data") or []
        pairs = []
        for item in data:
            if not isinstance(item, dict) or not item.get("objectName") or not item.get("key"):
                raise SpcError(
                    f"{where}: secretObject {entry['secretName']}: each data entry needs objectName and key."
                )
            if item["objectName"] not in mounted:
                raise SpcError(
                    f"{where}: secretObject {entry['secretName']}: objectName {item['objectName']!r} is not a "
                    "mounted object (use its objectAlias when it has one)."
                )
            pairs.append((str(item["objectName"]), str(item["key"])))
        labels: dict[str, Any] = entry["labels"] if isinstance(entry.get("labels"), dict) else {}
        annotations: dict[str, Any] = entry["annotations"] if isinstance(entry.get("annotations"), dict) else {}
        result.append(
            SecretObject(
                str(entry["secretName"]),
                str(entry["type"]),
                tuple(pairs),
                {str(k): str(v) for k, v in labels.items()},
                {str(k): str(v) for k, v in annotations.items()},
            )
        )
    return tuple(result)
