"""Sealed backup blobs: the one format Backup/Restore Secret, Key and Certificate share.

A blob is ``prefix + nonce + AES-GCM(payload JSON)``, base64url-encoded, with the prefix as associated data. The
prefix is the one the service's blobs carry, as observed; sealing means a hand-edited blob answers ``Malformed
backup blob`` as the service does. Each kind has its own key, fixed and public (this is a fake, and a blob from one
fake must restore into another), so a key's blob does not open as a certificate's although their prefixes match.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.routing import OperationContext
from kvconfig.fake.core.wire import b64url_decode, b64url_encode

__all__ = ["CERTIFICATE_BACKUP", "KEY_BACKUP", "SECRET_BACKUP", "BackupFormat"]

_NONCE_BYTES = 12


@dataclass(frozen=True)
class BackupFormat:
    """The prefix and sealing key of one kind of backup blob."""

    prefix: bytes
    key: bytes

    def seal(self, payload: dict[str, Any]) -> str:
        """The blob for ``payload``, as the ``value`` of a backup response."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.key).encrypt(nonce, json.dumps(payload).encode(), self.prefix)
        return b64url_encode(self.prefix + nonce + sealed)

    def open(self, text: str) -> dict[str, Any]:
        """The payload sealed in ``text``; ``Malformed backup blob`` if it is not one of this kind's blobs."""
        try:
            blob = b64url_decode(text)
            if not blob.startswith(self.prefix):
                raise ValueError("prefix")
            rest = blob[len(self.prefix) :]
            data = AESGCM(self.key).decrypt(rest[:_NONCE_BYTES], rest[_NONCE_BYTES:], self.prefix)
            payload: dict[str, Any] = json.loads(data)
            return payload
        except (ValueError, InvalidTag, UnicodeDecodeError) as exc:
            raise ServiceError.malformed_backup() from exc

    def open_request(self, ctx: OperationContext) -> dict[str, Any]:
        """The payload of a restore request's ``{"value": blob}`` body."""
        raw = ctx.body().get("value")
        if not isinstance(raw, str) or not raw:
            raise ServiceError.missing_field("value")
        return self.open(raw)


SECRET_BACKUP = BackupFormat(
    prefix=b")AzureKeyVaultSecretBackupV1.microsoft.com",
    key=bytes.fromhex("6b76636f6e6669672d66616b652d6b65792d666f722d6261636b7570732d3031"),
)
KEY_BACKUP = BackupFormat(
    prefix=b"&AzureKeyVaultKeyBackupV1.microsoft.com",
    key=bytes.fromhex("6b76636f6e6669672d66616b652d6b65792d6261636b75702d6b65792d2d3031"),
)
# Certificate backups carry the keys' prefix (as observed), under a key of their own.
CERTIFICATE_BACKUP = BackupFormat(
    prefix=b"&AzureKeyVaultKeyBackupV1.microsoft.com",
    key=bytes.fromhex("6b76636f6e6669672d66616b652d636572742d6261636b75702d6b65792d3031"),
)
