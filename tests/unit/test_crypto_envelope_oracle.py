"""The envelope is no padding oracle: the header never chooses the unwrap algorithm, RSA1_5 is refused, and every
failure to unwrap the data key or to open chunk 0 is one error (same type, same message, no cause, no context)."""

from __future__ import annotations

import io
import os
import struct
import traceback

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kvconfig.crypto import (
    DecryptionError,
    EnvelopeFormatError,
    EnvelopeHeader,
    EnvelopeIntegrityError,
    InvalidInputError,
    KeyMaterial,
    KeyRing,
    LocalKeyWrapper,
    UnsupportedAlgorithmError,
    decrypt_envelope,
    decrypt_envelope_async,
    decrypt_stream,
    encrypt_envelope,
    generate_key,
    read_envelope_header,
)

V1 = "https://vault.vault.azure.net/keys/kek/11111111111111111111111111111111"


@pytest.fixture(scope="module")
def rsa_kek() -> KeyMaterial:
    return generate_key("RSA", size=2048)


def header_end(blob: bytes) -> int:
    (length,) = struct.unpack(">I", blob[5:9])
    return 9 + length


def reseal_header(blob: bytes, **changes: object) -> bytes:
    """The envelope with its header rewritten (the chunks kept as they were)."""
    header = read_envelope_header(blob)
    fields = {
        "key_id": header.key_id,
        "wrap_algorithm": header.wrap_algorithm,
        "wrapped_key": header.wrapped_key,
        "chunk_size": header.chunk_size,
        "nonce": header.nonce,
        **changes,
    }
    return EnvelopeHeader(**fields).encode() + blob[header_end(blob) :]  # type: ignore[arg-type]


def public_rsa(material: KeyMaterial) -> rsa.RSAPublicKey:
    key = material.key
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    assert isinstance(public, rsa.RSAPublicKey)
    return public


def oaep256() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def failure(call: object, *args: object) -> BaseException:
    with pytest.raises(Exception) as info:  # whatever is raised: the point is to compare them
        call(*args)  # type: ignore[operator]
    return info.value


def fingerprint(error: BaseException) -> tuple[object, ...]:
    """Everything a caller can observe of an error, short of timing."""
    return (
        type(error),
        str(error),
        error.args,
        error.__cause__,
        error.__context__,
        error.__suppress_context__,
        tuple(traceback.format_exception_only(type(error), error)),
    )


def oaep_forgeries(rsa_kek: KeyMaterial, blob: bytes) -> dict[str, bytes]:
    """Envelopes whose wrapped key has valid OAEP padding (a short key, a wrong 32-byte key) or invalid padding."""
    public = public_rsa(rsa_kek)
    return {
        "valid padding, 16-byte key": reseal_header(blob, wrapped_key=public.encrypt(os.urandom(16), oaep256())),
        "valid padding, wrong 32-byte key": reseal_header(blob, wrapped_key=public.encrypt(os.urandom(32), oaep256())),
        "invalid padding": reseal_header(blob, wrapped_key=os.urandom(256)),
        "wrong length": reseal_header(blob, wrapped_key=os.urandom(100)),
        "chunk 0 tampered": blob[:-1] + bytes([blob[-1] ^ 1]),
        "chunk 0 shorter than its tag": blob[: header_end(blob) + 5],
    }


def test_valid_and_invalid_oaep_padding_give_indistinguishable_errors(rsa_kek: KeyMaterial) -> None:
    wrapper = LocalKeyWrapper(rsa_kek, V1)
    blob = encrypt_envelope(b"payload", wrapper)
    errors = {
        name: failure(decrypt_envelope, forged, wrapper) for name, forged in oaep_forgeries(rsa_kek, blob).items()
    }
    assert all(isinstance(error, EnvelopeIntegrityError) for error in errors.values())
    assert len({fingerprint(error) for error in errors.values()}) == 1, {k: str(v) for k, v in errors.items()}
    assert decrypt_envelope(blob, wrapper) == b"payload"


def test_stream_and_async_openers_give_the_same_single_error(rsa_kek: KeyMaterial) -> None:
    import asyncio

    wrapper = LocalKeyWrapper(rsa_kek, V1)

    class AsyncWrapper:
        async def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> bytes:
            return wrapper.unwrap_key(key_id, algorithm, wrapped)

    blob = encrypt_envelope(b"payload", wrapper)
    seen = set()
    for forged in oaep_forgeries(rsa_kek, blob).values():
        seen.add(fingerprint(failure(decrypt_envelope, forged, wrapper)))
        seen.add(fingerprint(failure(decrypt_stream, io.BytesIO(forged), io.BytesIO(), wrapper)))
        seen.add(fingerprint(failure(asyncio.run, decrypt_envelope_async(forged, AsyncWrapper()))))
    assert len(seen) == 1


def test_rsa1_5_envelopes_are_refused_before_anything_is_unwrapped(rsa_kek: KeyMaterial) -> None:
    calls: list[str] = []

    class RecordingUnwrapper:
        def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> bytes:
            calls.append(algorithm)
            return LocalKeyWrapper(rsa_kek, V1).unwrap_key(key_id, "RSA-OAEP-256", wrapped)

    blob = encrypt_envelope(b"payload", LocalKeyWrapper(rsa_kek, V1))
    public = public_rsa(rsa_kek)
    valid = reseal_header(blob, wrap_algorithm="RSA1_5", wrapped_key=public.encrypt(os.urandom(32), padding.PKCS1v15()))
    invalid = reseal_header(blob, wrap_algorithm="RSA1_5", wrapped_key=os.urandom(256))
    for unwrapper in (RecordingUnwrapper(), LocalKeyWrapper(rsa_kek, V1)):
        good, bad = failure(decrypt_envelope, valid, unwrapper), failure(decrypt_envelope, invalid, unwrapper)
        assert isinstance(good, EnvelopeFormatError)
        assert "RSA1_5" in str(good)
        assert fingerprint(good) == fingerprint(bad)
    assert calls == []


@pytest.mark.parametrize("factory", [LocalKeyWrapper, KeyRing])
def test_the_header_does_not_choose_the_unwrap_algorithm(rsa_kek: KeyMaterial, factory: type) -> None:
    # Sealed honestly with RSA-OAEP (SHA-1); a wrapper configured for RSA-OAEP-256 must not follow the header.
    sealed_oaep = encrypt_envelope(b"payload", LocalKeyWrapper(rsa_kek, V1, algorithm="RSA-OAEP"))
    assert read_envelope_header(sealed_oaep).wrap_algorithm == "RSA-OAEP"
    configured = LocalKeyWrapper(rsa_kek, V1)
    opener = configured if factory is LocalKeyWrapper else KeyRing(configured)
    assert configured.algorithm == "RSA-OAEP-256"
    reference = failure(
        decrypt_envelope, oaep_forgeries(rsa_kek, encrypt_envelope(b"x", configured))["invalid padding"], opener
    )
    assert fingerprint(failure(decrypt_envelope, sealed_oaep, opener)) == fingerprint(reference)
    assert decrypt_envelope(sealed_oaep, LocalKeyWrapper(rsa_kek, V1, algorithm="RSA-OAEP")) == b"payload"


def test_a_wrapper_unwraps_only_with_its_configured_algorithm(rsa_kek: KeyMaterial) -> None:
    wrapper = LocalKeyWrapper(rsa_kek, V1)
    wrapped = wrapper.wrap_key(b"k" * 32)
    assert wrapper.unwrap_key(V1, "RSA-OAEP-256", wrapped) == b"k" * 32
    for other in ("RSA-OAEP", "RSA1_5", "A256KW", 7, None):
        with pytest.raises(DecryptionError):
            wrapper.unwrap_key(V1, other, wrapped)  # type: ignore[arg-type]
    with pytest.raises(DecryptionError):
        wrapper.unwrap_key(V1, "RSA-OAEP-256", "not bytes")  # type: ignore[arg-type]


def test_rsa1_5_cannot_be_configured_for_envelopes(rsa_kek: KeyMaterial) -> None:
    with pytest.raises(UnsupportedAlgorithmError, match="padding oracle"):
        LocalKeyWrapper(rsa_kek, V1, algorithm="RSA1_5")


@pytest.mark.parametrize(
    "raised",
    [
        DecryptionError("bad padding"),
        InvalidInputError("wrong length"),
        UnsupportedAlgorithmError("no such algorithm"),
        EnvelopeIntegrityError("custom"),
        ValueError("Decryption failed"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_custom_unwrappers_failures_all_become_the_one_error(rsa_kek: KeyMaterial, raised: Exception) -> None:
    wrapper = LocalKeyWrapper(rsa_kek, V1)
    blob = encrypt_envelope(b"payload", wrapper)
    reference = failure(decrypt_envelope, oaep_forgeries(rsa_kek, blob)["invalid padding"], wrapper)

    class Failing:
        def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> bytes:
            raise raised

    class ShortKey:
        def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> bytes:
            return b"short"

    assert fingerprint(failure(decrypt_envelope, blob, Failing())) == fingerprint(reference)
    assert fingerprint(failure(decrypt_envelope, blob, ShortKey())) == fingerprint(reference)


def test_later_chunks_still_say_which_chunk_failed(rsa_kek: KeyMaterial) -> None:
    wrapper = LocalKeyWrapper(rsa_kek, V1)
    blob = bytearray(encrypt_envelope(os.urandom(3000), wrapper, chunk_size=1024))
    blob[-1] ^= 1  # chunk 2: chunk 0 authenticated, so the data key is known good and nothing is left to learn
    with pytest.raises(EnvelopeIntegrityError, match="Chunk 2"):
        decrypt_envelope(bytes(blob), wrapper)
