"""The AKS Secrets Store CSI driver, locally: a ``SecretProviderClass`` (provider ``azure``) read as the driver reads
it, its objects written into a folder as the driver writes them (``..data`` swap, aliases, file modes), kept current
by polling, and the Kubernetes Secrets its ``secretObjects`` would sync. ``kvconfig mount`` is its command; see
docs/platforms/aks-csi.md.
"""

from __future__ import annotations

from kvconfig.mount._fetch import MountedObject, MountError, pkcs12_to_pem, public_pem, read_objects
from kvconfig.mount._manifest import secret_manifests
from kvconfig.mount._spc import MountObject, SecretObject, SecretProviderClass, SpcError, read_spc
from kvconfig.mount._sync import DEFAULT_FILE_MODE, SecretsMount
from kvconfig.mount._writer import DATA_LINK, MountWriteError, write_generation

__all__ = [
    "DATA_LINK",
    "DEFAULT_FILE_MODE",
    "MountError",
    "MountObject",
    "MountWriteError",
    "MountedObject",
    "SecretObject",
    "SecretProviderClass",
    "SecretsMount",
    "SpcError",
    "pkcs12_to_pem",
    "public_pem",
    "read_objects",
    "read_spc",
    "secret_manifests",
    "write_generation",
]
