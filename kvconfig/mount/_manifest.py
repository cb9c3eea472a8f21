"""The Kubernetes ``Secret`` manifests that a SecretProviderClass's ``secretObjects`` make the driver sync.

Each Secret's ``data`` holds the mounted files' bytes, base64-encoded, under the keys ``secretObjects`` names. For
``type: kubernetes.io/tls`` the driver splits a mounted PEM: ``tls.key`` gets the private key, ``tls.crt`` the
certificates; kvconfig does the same.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

from kvconfig.mount._spc import SecretObject

__all__ = ["secret_manifests"]

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.*?-----END \1-----\r?\n?", re.DOTALL)


def _tls_part(content: bytes, key: str) -> bytes:
    blocks = [(match.group(1), match.group(0)) for match in _PEM_BLOCK.finditer(content)]
    if key == "tls.key":
        return b"".join(block for label, block in blocks if label.endswith(b"PRIVATE KEY"))
    if key == "tls.crt":
        return b"".join(block for label, block in blocks if label == b"CERTIFICATE")
    return content


def secret_manifests(
    secret_objects: tuple[SecretObject, ...], files: Mapping[str, bytes], namespace: str | None = None
) -> str:
    """The Secrets as a multi-document YAML text (values base64-encoded, as in any Secret manifest)."""
    import yaml  # read_spc() has already needed it

    documents: list[dict[str, Any]] = []
    for secret in secret_objects:
        metadata: dict[str, Any] = {"name": secret.secret_name}
        if namespace:
            metadata["namespace"] = namespace
        if secret.labels:
            metadata["labels"] = dict(secret.labels)
        if secret.annotations:
            metadata["annotations"] = dict(secret.annotations)
        tls = secret.type == "kubernetes.io/tls"
        data = {
            key: base64.b64encode(_tls_part(files[name], key) if tls else files[name]).decode("ascii")
            for name, key in secret.data
        }
        documents.append(
            {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": secret.type, "data": data}
        )
    return yaml.safe_dump_all(documents, sort_keys=False)
