"""Reading a SecretProviderClass's objects through the official SDK, and turning each into the bytes the Azure
provider writes for it.

- ``secret``: the secret's value, decoded per ``objectEncoding`` (``utf-8`` as is, ``hex``, ``base64``). A
  certificate's secret (content type ``application/x-pkcs12``) becomes PEM: the private key, then the certificate and
  its chain; with ``objectFormat: pfx`` it stays the PFX (base64 text, or binary with ``objectEncoding: base64``).
- ``key``: the public key, PEM (``-----BEGIN PUBLIC KEY-----``).
- ``cert``: the certificate alone, PEM (``-----BEGIN CERTIFICATE-----``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kvconfig.errors import KvConfigError
from kvconfig.mount._spc import MountObject, SecretProviderClass

__all__ = ["MountError", "MountedObject", "read_objects"]

_PKCS12 = "application/x-pkcs12"


class MountError(KvConfigError):
    """One or more objects could not be read or converted; the message lists each, with its status."""


@dataclass(frozen=True)
class MountedObject:
    """One object as read: the file's bytes, its mode, and the version it came from."""

    obj: MountObject
    content: bytes
    version: str

    def __repr__(self) -> str:  # the content is a secret
        return f"MountedObject({self.obj.file_name!r}, version={self.version!r}, {len(self.content)} bytes)"


def _status(exc: Exception, kind: str) -> str:
    code = getattr(exc, "status_code", None)
    if code == 404:
        return {"secret": "SecretNotFound", "key": "KeyNotFound", "cert": "CertificateNotFound"}[kind]
    if code in (401, 403):
        return "AccessToKeyVaultDenied"
    if code == 429:
        return "Throttled"
    return "OtherReasons"


def read_objects(spc: SecretProviderClass, credential: Any, **client_options: Any) -> list[MountedObject]:
    """Every object of ``spc``, read from its vault; raises :class:`MountError` listing every object that failed."""
    from azure.core.exceptions import AzureError

    readers = _Readers(spc.vault_url, credential, client_options)
    mounted: list[MountedObject] = []
    failures: list[str] = []
    try:
        for obj in spc.objects:
            try:
                mounted.append(readers.read(obj))
            except AzureError as exc:
                reason = str(getattr(exc, "message", "") or type(exc).__name__).splitlines()[0]
                failures.append(f"{obj.type} {obj.name} [{_status(exc, obj.type)}]: {reason}")
            except ValueError as exc:
                failures.append(f"{obj.type} {obj.name} [InvalidContent]: {exc}")
    finally:
        readers.close()
    if failures:
        lines = "\n".join(f"  - {line}" for line in failures)
        raise MountError(f"{len(failures)} object(s) of {spc.origin or spc.name} could not be mounted:\n{lines}")
    return mounted


class _Readers:
    """One SDK client per object kind, made when first needed."""

    def __init__(self, vault_url: str, credential: Any, options: dict[str, Any]) -> None:
        self._url, self._credential, self._options = vault_url, credential, options
        self._clients: dict[str, Any] = {}

    def _client(self, kind: str) -> Any:
        client = self._clients.get(kind)
        if client is None:
            factory: Callable[..., Any]
            if kind == "secret":
                from azure.keyvault.secrets import SecretClient as factory
            elif kind == "key":
                from azure.keyvault.keys import KeyClient as factory
            else:
                from azure.keyvault.certificates import CertificateClient as factory
            client = self._clients[kind] = factory(self._url, self._credential, **self._options)
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def read(self, obj: MountObject) -> MountedObject:
        if obj.type == "secret":
            secret = self._client("secret").get_secret(obj.name, obj.version)
            content = _secret_content(obj, secret.value or "", secret.properties.content_type)
            return MountedObject(obj, content, secret.properties.version or "")
        if obj.type == "key":
            key = self._client("key").get_key(obj.name, obj.version)
            return MountedObject(obj, public_pem(key.key), key.properties.version or "")
        client = self._client("cert")
        cert = (
            client.get_certificate_version(obj.name, obj.version) if obj.version else client.get_certificate(obj.name)
        )
        return MountedObject(obj, _certificate_pem(bytes(cert.cer or b"")), cert.properties.version or "")


def _secret_content(obj: MountObject, value: str, content_type: str | None) -> bytes:
    if content_type == _PKCS12 and obj.format == "pem":
        return pkcs12_to_pem(base64.b64decode(value))
    if obj.format == "pfx" and content_type != _PKCS12:
        raise ValueError(f"objectFormat pfx needs a certificate's PKCS12 secret; this one is {content_type or 'text'}.")
    try:
        if obj.encoding == "base64":
            return base64.b64decode(value, validate=True)
        if obj.encoding == "hex":
            return bytes.fromhex(value)
    except (binascii.Error, ValueError):
        raise ValueError(f"the value is not {obj.encoding} (objectEncoding {obj.encoding}).") from None
    return value.encode("utf-8")


def pkcs12_to_pem(data: bytes) -> bytes:
    """A PFX as the provider writes it in PEM: the private key (PKCS#8), then the certificate, then its chain."""
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, pkcs12

    key, cert, chain = pkcs12.load_key_and_certificates(data, None)
    parts = []
    if key is not None:
        parts.append(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    parts.extend(c.public_bytes(Encoding.PEM) for c in ([cert] if cert is not None else []) + list(chain))
    return b"".join(parts)


def _certificate_pem(der: bytes) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM)


def public_pem(jwk: Any) -> bytes:
    """A Key Vault key's public half as PEM (SubjectPublicKeyInfo), from its JSON web key (RSA or EC)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    def number(raw: bytes | None) -> int:
        return int.from_bytes(raw or b"", "big")

    kty = str(getattr(jwk.kty, "value", jwk.kty) or "").replace("-HSM", "")
    if kty == "RSA":
        public: Any = rsa.RSAPublicNumbers(number(jwk.e), number(jwk.n)).public_key()
    elif kty == "EC":
        curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1(), "P-256K": ec.SECP256K1()}
        curve = curves.get(str(getattr(jwk.crv, "value", jwk.crv)))
        if curve is None:
            raise ValueError(f"curve {jwk.crv} has no PEM form here.")
        public = ec.EllipticCurvePublicNumbers(number(jwk.x), number(jwk.y), curve).public_key()
    else:
        raise ValueError(f"a {kty or 'symmetric'} key has no public key to write.")
    return bytes(public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
