"""Crafted envelopes through the official CryptographyClient (sync and aio) on the fake: the header's key id is checked
against the trusted Key Vault hosts before any client (or credential) exists for it, every bad key id is a
CryptoError, and the vault's answers to bad wrapped keys cannot be told apart.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from azure.core.exceptions import ServiceRequestError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kvconfig.crypto import (
    AsyncAzureKeyWrapper,
    AzureKeyWrapper,
    CryptoError,
    EnvelopeHeader,
    EnvelopeIntegrityError,
    EnvelopeKeyError,
    UnsupportedAlgorithmError,
    decrypt_envelope,
    decrypt_envelope_async,
    encrypt_envelope,
    encrypt_envelope_async,
    read_envelope_header,
)
from kvconfig.crypto._jwk import key_from_jwk

from .keys_support import KeysUnderTest, _handle

VERSION = "0123456789abcdef0123456789abcdef"
HOSTILE_KEY_IDS = [
    f"https://evil.example/keys/kek/{VERSION}",
    f"https://attacker.vault.azure.net.evil.example/keys/kek/{VERSION}",
    f"https://a.b.vault.azure.net/keys/kek/{VERSION}",
    f"http://keysfidelity.vault.azure.net/keys/kek/{VERSION}",
    f"https://user@keysfidelity.vault.azure.net/keys/kek/{VERSION}",
    f"https://keysfidelity.vault.azure.net/keys/kek/{VERSION}?x=1",
    f"https://keysfidelity.vault.azure.net/keys/kek/{VERSION}#frag",
    f"https://keysfidelity.vault.azure.net:8443/keys/kek/{VERSION}",
    "https://keysfidelity.vault.azure.net/keys/kek",
    f"https://keysfidelity.vault.azure.net/secrets/kek/{VERSION}",
    f"https://keysfidelity.vault.azure.net/keys/kek/{VERSION}/extra",
    f"https://keysfidelity.vault.azure.net/keys/k_e_k/{VERSION}",
    "https://keysfidelity.vault.azure.net/keys/kek/not-a-version",
    f"https://keysfidelity.vault.azure.net\\@evil.example/keys/kek/{VERSION}",
    f"https://[::1]/keys/kek/{VERSION}",
    f"https://evil.example%2f.vault.azure.net/keys/kek/{VERSION}",
    "not a url",
    "https://" + "a" * 600,
    f"https://keysfidelity.vault.azure.net/keys/kék/{VERSION}",
]
WRONG_TYPES: list[Any] = [
    None,
    5,
    b"https://keysfidelity.vault.azure.net/keys/kek/" + VERSION.encode(),
    ["x"],
    {"a": 1},
]


@pytest.fixture(params=["sync", "async"])
async def kh(request: pytest.FixtureRequest) -> AsyncIterator[KeysUnderTest]:
    async for handle in _handle(request.param == "async"):
        yield handle


async def make_wrapper(kh: KeysUnderTest, made: list[str], **options: Any) -> tuple[Any, str]:
    """An Azure wrapper on a fresh RSA key of the fake whose client_factory records every key id it is given."""
    client = kh.key_client()
    key = await kh.call(client.create_rsa_key, kh.name())

    def factory(key_id: str) -> Any:
        made.append(key_id)
        return kh.crypto_client(key_id)

    wrapper_cls = AsyncAzureKeyWrapper if kh.is_async else AzureKeyWrapper
    return wrapper_cls(kh.crypto_client(key), client_factory=factory, **options), key.id


async def seal(kh: KeysUnderTest, data: bytes, wrapper: Any) -> bytes:
    if kh.is_async:
        return await encrypt_envelope_async(data, wrapper)
    return encrypt_envelope(data, wrapper)


async def open_(kh: KeysUnderTest, blob: bytes, wrapper: Any) -> bytes:
    if kh.is_async:
        return await decrypt_envelope_async(blob, wrapper)
    return decrypt_envelope(blob, wrapper)


async def unwrap(kh: KeysUnderTest, wrapper: Any, key_id: Any, algorithm: Any, wrapped: Any) -> bytes:
    return await kh.call(wrapper.unwrap_key, key_id, algorithm, wrapped)


def with_key_id(blob: bytes, key_id: str) -> bytes:
    header = read_envelope_header(blob)
    body = blob[len(header.encode()) :]
    forged = EnvelopeHeader(key_id, header.wrap_algorithm, header.wrapped_key, header.chunk_size, header.nonce)
    return forged.encode() + body


def requests(kh: KeysUnderTest) -> int:
    return sum(kh.fake.operation_counts.values())


@pytest.mark.parametrize("key_id", HOSTILE_KEY_IDS)
async def test_an_untrusted_or_malformed_key_id_makes_no_client_and_sends_nothing(
    kh: KeysUnderTest, key_id: str
) -> None:
    made: list[str] = []
    wrapper, _ = await make_wrapper(kh, made)
    blob = await seal(kh, b"payload", wrapper)
    before = requests(kh)
    with pytest.raises(EnvelopeKeyError) as info:
        await open_(kh, with_key_id(blob, key_id), wrapper)
    assert made == []
    assert requests(kh) == before
    assert len(str(info.value)) < 400  # the crafted text is shortened, never echoed whole


@pytest.mark.parametrize("key_id", [*WRONG_TYPES, "", HOSTILE_KEY_IDS[0]], ids=repr)
async def test_unwrap_key_called_directly_with_wrong_types_raises_crypto_errors(kh: KeysUnderTest, key_id: Any) -> None:
    made: list[str] = []
    wrapper, _ = await make_wrapper(kh, made)
    with pytest.raises(EnvelopeKeyError):
        await unwrap(kh, wrapper, key_id, "RSA-OAEP-256", b"x" * 256)
    for algorithm, wrapped in [(None, b"x" * 256), (5, b"x" * 256), ("RSA-OAEP-256", None), ("RSA-OAEP-256", "text")]:
        with pytest.raises(CryptoError):
            await unwrap(kh, wrapper, key_id, algorithm, wrapped)
    assert made == []


async def test_another_trusted_vault_and_versions_of_the_own_vault_reach_the_factory(kh: KeysUnderTest) -> None:
    made: list[str] = []
    wrapper, own_id = await make_wrapper(kh, made)
    other_made: list[str] = []
    other_wrapper, other_id = await make_wrapper(kh, other_made)
    other_client = kh.key_client("https://secondvault.vault.azure.net")
    second = await kh.call(other_client.create_rsa_key, kh.name())
    second_wrapper_cls = AsyncAzureKeyWrapper if kh.is_async else AzureKeyWrapper
    second_wrapper = second_wrapper_cls(kh.crypto_client(second))
    sealed_other = await seal(kh, b"same vault, other key", other_wrapper)
    sealed_second = await seal(kh, b"another public-cloud vault", second_wrapper)
    assert await open_(kh, sealed_other, wrapper) == b"same vault, other key"
    assert await open_(kh, sealed_second, wrapper) == b"another public-cloud vault"
    assert made == [other_id, second.id]
    assert own_id not in made


async def test_a_host_on_the_callers_allow_list_reaches_the_factory(kh: KeysUnderTest) -> None:
    made: list[str] = []
    wrapper, _ = await make_wrapper(kh, made, trusted_hosts=["keys.example.test:8443"])
    blob = await seal(kh, b"payload", wrapper)
    allowed = f"https://KEYS.example.test:8443/keys/kek/{VERSION}"
    with pytest.raises(ServiceRequestError, match=r"keys\.example\.test"):  # allowed: the request went there
        await open_(kh, with_key_id(blob, allowed), wrapper)
    assert made == [allowed.replace("KEYS", "keys")]
    made.clear()
    with pytest.raises(EnvelopeKeyError, match="not a trusted Key Vault host"):
        await open_(kh, with_key_id(blob, f"https://keys.example.test:9443/keys/kek/{VERSION}"), wrapper)
    assert made == []


async def test_a_malformed_allow_list_entry_fails_when_the_wrapper_is_made(kh: KeysUnderTest) -> None:
    with pytest.raises(ValueError, match="trusted_hosts"):
        await make_wrapper(kh, [], trusted_hosts=["https://evil.example/path"])


async def test_rsa1_5_cannot_be_configured_on_the_azure_wrappers(kh: KeysUnderTest) -> None:
    made: list[str] = []
    with pytest.raises(UnsupportedAlgorithmError, match="padding oracle"):
        await make_wrapper(kh, made, algorithm="RSA1_5")


async def test_the_vaults_answers_to_bad_wrapped_keys_are_one_error(kh: KeysUnderTest) -> None:
    # The fake, like the service, answers 400 with a message that differs between a bad padding and a bad length.
    made: list[str] = []
    wrapper, own_id = await make_wrapper(kh, made)
    blob = await seal(kh, b"payload", wrapper)
    header = read_envelope_header(blob)
    jwk = (await kh.call(kh.key_client().get_key, own_id.split("/")[-2])).key
    public = key_from_jwk({"kty": "RSA", "n": jwk.n, "e": jwk.e}).key
    assert isinstance(public, rsa.RSAPublicKey)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    forgeries: dict[str, Callable[[], bytes]] = {
        "valid padding, 16-byte key": lambda: public.encrypt(os.urandom(16), oaep),
        "valid padding, wrong 32-byte key": lambda: public.encrypt(os.urandom(32), oaep),
        "invalid padding": lambda: os.urandom(256),
        "wrong length": lambda: os.urandom(100),
    }
    body = blob[len(header.encode()) :]
    seen = {}
    for name, make in forgeries.items():
        forged = EnvelopeHeader(header.key_id, header.wrap_algorithm, make(), header.chunk_size, header.nonce)
        with pytest.raises(EnvelopeIntegrityError) as info:
            await open_(kh, forged.encode() + body, wrapper)
        error = info.value
        seen[name] = (type(error), str(error), error.__cause__, error.__context__)
    assert len(set(seen.values())) == 1, seen
    assert kh.fake.operation_counts["unwrapKey"] >= 3  # the vault was asked, and its different answers were hidden
