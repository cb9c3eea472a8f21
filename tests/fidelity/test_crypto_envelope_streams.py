"""Async envelope streams through the official ``aio`` CryptographyClient on the fake: an RSA key (RSA-OAEP-256) and
a Managed HSM oct key (CKM_AES_KEY_WRAP), and envelopes sealed under a key version that was rotated since. A*KW is
refused by the Azure wrappers, and the last test shows why on the fake.

The fake unwraps every data key; it wraps them too, except RSA wraps, which the SDK computes from the public JWK
the fake returned. Each envelope also opens with the vault key's material through kvconfig's local wrapper, so the
two sides agree on the format.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.keyvault.keys.crypto import KeyWrapAlgorithm

from kvconfig.crypto import (
    AsyncAzureKeyWrapper,
    CryptoError,
    EnvelopeKeyError,
    LocalKeyWrapper,
    UnsupportedAlgorithmError,
    decrypt_envelope,
    decrypt_stream_async,
    encrypt_stream_async,
    read_envelope_header,
)
from kvconfig.fake.keys.store import key_material

from .keys_support import HSM_URL, VAULT_URL, KeysUnderTest, _handle


@pytest.fixture
async def kha() -> AsyncIterator[KeysUnderTest]:
    """The official async key and crypto clients on a fresh fake."""
    async for handle in _handle(is_async=True):
        yield handle


class AsyncBytesReader:
    """``async read(size)`` over bytes, at most 50,000 bytes per call; records the largest request."""

    def __init__(self, data: bytes) -> None:
        self._source = io.BytesIO(data)
        self.largest_request = 0

    async def read(self, size: int) -> bytes:
        self.largest_request = max(self.largest_request, size)
        await asyncio.sleep(0)
        return self._source.read(min(size, 50_000))


class AsyncBytesWriter:
    """``async write(data)`` into memory; records the largest write."""

    def __init__(self) -> None:
        self._sink = io.BytesIO()
        self.largest_write = 0

    async def write(self, data: bytes) -> int:
        self.largest_write = max(self.largest_write, len(data))
        await asyncio.sleep(0)
        return self._sink.write(data)

    def getvalue(self) -> bytes:
        return self._sink.getvalue()


async def seal(data: bytes, wrapper: AsyncAzureKeyWrapper) -> bytes:
    sink = AsyncBytesWriter()
    assert await encrypt_stream_async(AsyncBytesReader(data), sink, wrapper) == len(sink.getvalue())
    assert sink.largest_write <= 64 * 1024 + 16
    return sink.getvalue()


async def open_(blob: bytes, wrapper: AsyncAzureKeyWrapper) -> bytes:
    source, sink = AsyncBytesReader(blob), AsyncBytesWriter()
    await decrypt_stream_async(source, sink, wrapper)
    assert source.largest_request <= 64 * 1024 + 16
    return sink.getvalue()


@pytest.mark.parametrize(
    ("vault_url", "kind", "algorithm"), [(VAULT_URL, "RSA", "RSA-OAEP-256"), (HSM_URL, "oct", "CKM_AES_KEY_WRAP")]
)
async def test_async_stream_round_trip_with_the_aio_cryptography_client(
    kha: KeysUnderTest, vault_url: str, kind: str, algorithm: str
) -> None:
    keys = kha.key_client(vault_url)
    name = kha.name()
    if kind == "RSA":
        key = await keys.create_rsa_key(name, size=2048)
    else:
        key = await keys.create_oct_key(name, size=256, hardware_protected=True)
    wrapper = AsyncAzureKeyWrapper(kha.crypto_client(key), algorithm=algorithm)
    data = os.urandom(1024 * 1024 + 17)

    blob = await seal(data, wrapper)
    header = read_envelope_header(blob)
    assert (header.key_id, header.wrap_algorithm) == (key.id, algorithm)
    assert await open_(blob, wrapper) == data
    assert kha.fake.operation_counts["unwrapKey"] == 1
    assert kha.fake.operation_counts["wrapKey"] == (1 if kind == "oct" else 0)
    vault_key = key_material(kha.fake.vault(vault_url), name)
    assert decrypt_envelope(blob, LocalKeyWrapper(vault_key, key.id, algorithm=algorithm)) == data


async def test_async_stream_sealed_before_a_rotation_opens_through_the_client_factory(kha: KeysUnderTest) -> None:
    keys = kha.key_client()
    name = kha.name()
    first = await keys.create_rsa_key(name, size=2048)
    sealed_before = await seal(b"written under the first version", AsyncAzureKeyWrapper(kha.crypto_client(first)))
    rotated = await keys.rotate_key(name)
    assert rotated.id != first.id

    made: list[str] = []

    def factory(key_id: str) -> Any:
        made.append(key_id)
        return kha.crypto_client(key_id)  # an unversioned client would be refused; this one GETs the version

    current = AsyncAzureKeyWrapper(kha.crypto_client(rotated), client_factory=factory)
    sealed_after = await seal(b"written under the rotated version", current)
    assert read_envelope_header(sealed_after).key_id == rotated.id
    assert await open_(sealed_after, current) == b"written under the rotated version"
    assert await open_(sealed_before, current) == b"written under the first version"
    assert made == [first.id]
    with pytest.raises(EnvelopeKeyError, match="client_factory"):
        await open_(sealed_before, AsyncAzureKeyWrapper(kha.crypto_client(rotated)))


async def test_aes_kw_through_the_sdk_is_refused_because_the_sdk_would_wrap_with_a_random_key(
    kha: KeysUnderTest,
) -> None:
    keys = kha.key_client(HSM_URL)
    key = await keys.create_oct_key(kha.name(), size=256, hardware_protected=True)
    assert key.key.k is None  # what the SDK replaces with os.urandom(32) when it computes A256KW itself
    client = kha.crypto_client(key)
    with pytest.raises(UnsupportedAlgorithmError, match="CKM_AES_KEY_WRAP"):
        AsyncAzureKeyWrapper(client, algorithm="A256KW")
    wrapped = await client.wrap_key(KeyWrapAlgorithm.aes_256, bytes(32))
    assert kha.fake.operation_counts["wrapKey"] == 0  # the request never reached the vault
    material = key_material(kha.fake.vault(HSM_URL), key.name)
    with pytest.raises(CryptoError):
        LocalKeyWrapper(material, key.id, algorithm="A256KW").unwrap_key(key.id, "A256KW", wrapped.encrypted_key)
