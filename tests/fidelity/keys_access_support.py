"""Helpers for the keys, certificates and Managed HSM access-control fidelity tests: official clients whose tokens
name an identity, key material made once per session, and a counter of the requests a client puts on the wire."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.certificates import CertificateClient, CertificatePolicy, KeyType
from azure.keyvault.certificates import aio as certificates_aio
from azure.keyvault.keys import JsonWebKey, KeyClient
from azure.keyvault.keys import aio as keys_aio
from azure.keyvault.keys.crypto import CryptographyClient
from azure.keyvault.keys.crypto import aio as crypto_aio
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets import aio as secrets_aio
from cryptography.hazmat.primitives.asymmetric import rsa

from kvconfig.fake import Identity

from .cert_support import CertVault
from .keys_support import KeysUnderTest


def credential_as(kh: KeysUnderTest, identity: str | Identity) -> Any:
    credential = kh.fake.async_credential(identity) if kh.is_async else kh.fake.credential(identity)
    kh._closeables.append(credential)
    return credential


def key_client_as(kh: KeysUnderTest, identity: str | Identity, vault_url: str, **kwargs: Any) -> Any:
    """An official KeyClient (sync or async, like ``kh``) whose tokens name ``identity``."""
    cls = keys_aio.KeyClient if kh.is_async else KeyClient
    client = cls(vault_url, credential_as(kh, identity), **kh._options(kwargs))
    kh._closeables.append(client)
    return client


def crypto_client_as(kh: KeysUnderTest, identity: str | Identity, key: Any, **kwargs: Any) -> Any:
    """An official CryptographyClient for ``key`` (a KeyVaultKey or a key id) whose tokens name ``identity``."""
    cls = crypto_aio.CryptographyClient if kh.is_async else CryptographyClient
    client = cls(key, credential_as(kh, identity), **kh._options(kwargs))
    kh._closeables.append(client)
    return client


@functools.cache
def rsa_jwk() -> JsonWebKey:
    """One RSA 2048 private key for the whole session, as a JWK to import (key generation is slow)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.private_numbers()
    public = numbers.public_numbers

    def b64(value: int) -> bytes:
        return value.to_bytes((value.bit_length() + 7) // 8, "big")

    fields = {
        "n": b64(public.n),
        "e": b64(public.e),
        "d": b64(numbers.d),
        "p": b64(numbers.p),
        "q": b64(numbers.q),
        "dp": b64(numbers.dmp1),
        "dq": b64(numbers.dmq1),
        "qi": b64(numbers.iqmp),
    }
    return JsonWebKey(kty="RSA", **fields)  # type: ignore[arg-type]


class RequestCounter:
    """A ``raw_request_hook``: counts every request the client's pipeline sends (the challenge request included)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    def __call__(self, request: Any) -> None:
        http = request.http_request
        self.requests.append((http.method, http.url))

    @property
    def count(self) -> int:  # not __len__: azure-core skips a hook that is falsy
        return len(self.requests)


async def denied(kh: Any, method: Any, *args: Any, **kwargs: Any) -> HttpResponseError:
    """Call ``method`` and return the HttpResponseError it must raise (403 or another status)."""
    with pytest.raises(HttpResponseError) as caught:
        await kh.call(method, *args, **kwargs)
    return caught.value


def inner_code(error: HttpResponseError) -> str | None:
    inner = error.error.innererror if error.error is not None else None
    return inner.get("code") if isinstance(inner, dict) else None


# -- certificates ---------------------------------------------------------------------------------------------------

EC_POLICY = CertificatePolicy(issuer_name="Self", subject="CN=access.test", key_type=KeyType.ec, key_curve_name="P-256")


def cert_client_as(cv: CertVault, identity: str | Identity, **kwargs: Any) -> Any:
    """An official CertificateClient (sync or async, like ``cv``) on ``cv``'s vault whose tokens name ``identity``."""
    credential = cv.fake.async_credential(identity) if cv.is_async else cv.fake.credential(identity)
    cls = certificates_aio.CertificateClient if cv.is_async else CertificateClient
    client = cls(cv.vault_url, credential, **{**cv._options(), **kwargs})
    cv._closeables.extend([client, credential])
    return client


def secret_client_as(cv: CertVault, identity: str | Identity) -> Any:
    """An official SecretClient of ``cv``'s kind on ``cv``'s vault whose tokens name ``identity``."""
    credential = cv.fake.async_credential(identity) if cv.is_async else cv.fake.credential(identity)
    cls = secrets_aio.SecretClient if cv.is_async else SecretClient
    options = {key: value for key, value in cv._options().items() if key != "api_version"}
    client = cls(cv.vault_url, credential, **options)
    cv._closeables.extend([client, credential])
    return client


async def create_certificate(cv: CertVault, client: Any, name: str, policy: CertificatePolicy = EC_POLICY) -> Any:
    """Create through the SDK's poller (as applications do) with ``client``; returns the poller's result."""
    if cv.is_async:
        return await client.create_certificate(name, policy, _polling_interval=0)
    return client.begin_create_certificate(name, policy, _polling_interval=0).result()
