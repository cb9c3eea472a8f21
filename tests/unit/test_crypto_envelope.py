"""Envelope encryption: round trips, format, tampering, truncation, wrong keys, rotation, streams, SDK adapters."""

from __future__ import annotations

import io
import json
import os
import struct

import pytest

from kvconfig.crypto import (
    EnvelopeError,
    EnvelopeFormatError,
    EnvelopeIntegrityError,
    EnvelopeKeyError,
    InvalidKeyError,
    KeyMaterial,
    KeyOperationError,
    KeyRing,
    LocalCryptoClient,
    LocalKeyWrapper,
    UnsupportedAlgorithmError,
    decrypt_envelope,
    decrypt_stream,
    encrypt_envelope,
    encrypt_stream,
    generate_key,
    read_envelope_header,
)
from kvconfig.crypto._jwk import b64url_decode
from kvconfig.crypto.envelope import MAGIC

VAULT = "https://vault.vault.azure.net/keys/kek"
V1 = f"{VAULT}/11111111111111111111111111111111"
V2 = f"{VAULT}/22222222222222222222222222222222"
CHUNK = 1024
TAG = 16


@pytest.fixture(scope="module")
def rsa_kek() -> KeyMaterial:
    return generate_key("RSA", size=2048)


@pytest.fixture(scope="module")
def oct_wrapper() -> LocalKeyWrapper:
    return LocalKeyWrapper(generate_key("oct"), V1)


def header_end(blob: bytes) -> int:
    (length,) = struct.unpack(">I", blob[5:9])
    return 9 + length


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * CHUNK + 7])
def test_round_trip_at_chunk_edges(oct_wrapper: LocalKeyWrapper, size: int) -> None:
    data = os.urandom(size)
    blob = encrypt_envelope(data, oct_wrapper, chunk_size=CHUNK)
    chunks = max(1, -(-size // CHUNK))
    assert len(blob) == header_end(blob) + size + chunks * TAG
    assert decrypt_envelope(blob, oct_wrapper) == data


def test_rsa_wrapped_envelope_records_key_id_and_algorithm(rsa_kek: KeyMaterial) -> None:
    wrapper = LocalKeyWrapper(LocalCryptoClient(rsa_kek.private_jwk(kid=V1)))
    blob = encrypt_envelope(b"hello", wrapper)
    header = read_envelope_header(blob)
    assert header.key_id == V1
    assert header.wrap_algorithm == "RSA-OAEP-256"
    assert header.content_algorithm == "A256GCM"
    assert header.chunk_size == 64 * 1024
    assert len(header.wrapped_key) == 256
    assert len(header.nonce) == 12
    assert decrypt_envelope(blob, wrapper) == b"hello"


def test_format_is_magic_version_length_json(oct_wrapper: LocalKeyWrapper) -> None:
    blob = encrypt_envelope(b"x", oct_wrapper, chunk_size=CHUNK)
    assert blob[:4] == MAGIC == b"KVCE"
    assert blob[4] == 1
    header = json.loads(blob[9 : header_end(blob)])
    assert set(header) == {"key_id", "wrap_alg", "wrapped_key", "content_alg", "chunk_size", "nonce"}
    assert header["wrap_alg"] == "A256KW"
    assert header["chunk_size"] == CHUNK
    assert len(b64url_decode(header["wrapped_key"])) == 40


def test_each_envelope_uses_a_fresh_data_key_and_nonce(oct_wrapper: LocalKeyWrapper) -> None:
    first, second = (read_envelope_header(encrypt_envelope(b"same", oct_wrapper)) for _ in range(2))
    assert first.wrapped_key != second.wrapped_key
    assert first.nonce != second.nonce


def test_flipping_any_header_byte_is_detected(oct_wrapper: LocalKeyWrapper) -> None:
    blob = encrypt_envelope(os.urandom(2 * CHUNK), oct_wrapper, chunk_size=CHUNK)
    for position in range(header_end(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(EnvelopeError):
            decrypt_envelope(bytes(tampered), oct_wrapper)


def test_flipping_wrapped_key_bytes_is_an_integrity_error(rsa_kek: KeyMaterial) -> None:
    wrapper = LocalKeyWrapper(rsa_kek, V1)
    blob = encrypt_envelope(b"payload", wrapper)
    header = read_envelope_header(blob)
    for index in (0, 100, 255):
        wrapped = bytearray(header.wrapped_key)
        wrapped[index] ^= 0x80
        forged = type(header)(header.key_id, header.wrap_algorithm, bytes(wrapped), header.chunk_size, header.nonce)
        with pytest.raises(EnvelopeIntegrityError):
            decrypt_envelope(forged.encode() + blob[header_end(blob) :], wrapper)


def test_flipping_any_chunk_or_tag_byte_is_an_integrity_error(oct_wrapper: LocalKeyWrapper) -> None:
    blob = encrypt_envelope(os.urandom(3 * CHUNK + 100), oct_wrapper, chunk_size=CHUNK)
    start = header_end(blob)
    frame = CHUNK + TAG
    positions = set(range(start, len(blob), 37))
    for chunk in range(4):  # first and last byte of every chunk, and the last byte of every tag
        positions |= {start + chunk * frame, min(len(blob), start + (chunk + 1) * frame) - 1}
        positions.add(min(len(blob), start + (chunk + 1) * frame) - TAG)
    for position in sorted(positions):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(EnvelopeIntegrityError):
            decrypt_envelope(bytes(tampered), oct_wrapper)


def test_truncation_anywhere_is_detected(oct_wrapper: LocalKeyWrapper) -> None:
    blob = encrypt_envelope(os.urandom(3 * CHUNK), oct_wrapper, chunk_size=CHUNK)
    start = header_end(blob)
    frame = CHUNK + TAG
    for boundary in (1, 2):  # cut exactly after a complete chunk: only the final flag catches it
        with pytest.raises(EnvelopeIntegrityError):
            decrypt_envelope(blob[: start + boundary * frame], oct_wrapper)
        with pytest.raises(EnvelopeIntegrityError):
            decrypt_stream(io.BytesIO(blob[: start + boundary * frame]), io.BytesIO(), oct_wrapper)
    with pytest.raises(EnvelopeIntegrityError):
        decrypt_envelope(blob[:start], oct_wrapper)  # no chunks at all
    for cut in (start + 5, start + frame + 5, len(blob) - 1):
        with pytest.raises(EnvelopeIntegrityError):
            decrypt_envelope(blob[:cut], oct_wrapper)
    for cut in (0, 3, 8, start - 1):
        with pytest.raises(EnvelopeFormatError):
            decrypt_envelope(blob[:cut], oct_wrapper)


def test_reordered_or_appended_chunks_are_detected(oct_wrapper: LocalKeyWrapper) -> None:
    blob = encrypt_envelope(os.urandom(3 * CHUNK), oct_wrapper, chunk_size=CHUNK)
    start, frame = header_end(blob), CHUNK + TAG
    chunks = [blob[start + i * frame : start + (i + 1) * frame] for i in range(3)]
    with pytest.raises(EnvelopeIntegrityError):
        decrypt_envelope(blob[:start] + chunks[1] + chunks[0] + chunks[2], oct_wrapper)
    with pytest.raises(EnvelopeIntegrityError):
        decrypt_envelope(blob + chunks[2], oct_wrapper)
    with pytest.raises(EnvelopeIntegrityError):
        decrypt_envelope(blob + b"\x00", oct_wrapper)


def test_not_an_envelope_or_unknown_version_is_a_format_error(oct_wrapper: LocalKeyWrapper) -> None:
    blob = encrypt_envelope(b"x", oct_wrapper)
    with pytest.raises(EnvelopeFormatError, match="magic"):
        decrypt_envelope(b"PK\x03\x04" + blob[4:], oct_wrapper)
    with pytest.raises(EnvelopeFormatError, match="version 2"):
        decrypt_envelope(blob[:4] + b"\x02" + blob[5:], oct_wrapper)
    with pytest.raises(EnvelopeFormatError):
        decrypt_envelope(b"", oct_wrapper)


def test_wrong_key_with_same_id_is_an_integrity_error(oct_wrapper: LocalKeyWrapper, rsa_kek: KeyMaterial) -> None:
    blob = encrypt_envelope(b"payload", oct_wrapper)
    impostor = LocalKeyWrapper(generate_key("oct"), V1)
    with pytest.raises(EnvelopeIntegrityError):
        decrypt_envelope(blob, impostor)
    rsa_blob = encrypt_envelope(b"payload", LocalKeyWrapper(rsa_kek, V1))
    with pytest.raises(EnvelopeIntegrityError):
        decrypt_envelope(rsa_blob, LocalKeyWrapper(generate_key("RSA"), V1))


def test_unknown_key_id_is_a_key_error(oct_wrapper: LocalKeyWrapper) -> None:
    blob = encrypt_envelope(b"payload", oct_wrapper)
    with pytest.raises(EnvelopeKeyError, match="11111111"):
        decrypt_envelope(blob, LocalKeyWrapper(generate_key("oct"), V2))


def test_unwrapper_without_private_key_is_a_key_operation_error(rsa_kek: KeyMaterial) -> None:
    blob = encrypt_envelope(b"payload", LocalKeyWrapper(rsa_kek.public_key(), V1))
    with pytest.raises(KeyOperationError):
        decrypt_envelope(blob, LocalKeyWrapper(rsa_kek.public_key(), V1))
    assert decrypt_envelope(blob, LocalKeyWrapper(rsa_kek, V1)) == b"payload"


def test_old_key_version_stays_readable_after_rotation(rsa_kek: KeyMaterial) -> None:
    old = LocalKeyWrapper(rsa_kek, V1)
    new = LocalKeyWrapper(generate_key("oct"), V2)
    sealed_before = encrypt_envelope(b"written under v1", old)

    class Dispatcher:
        def __init__(self, *wrappers: LocalKeyWrapper) -> None:
            self.by_id = {wrapper.key_id: wrapper for wrapper in wrappers}

        def unwrap_key(self, key_id: str, algorithm: str, wrapped: bytes) -> bytes:
            return self.by_id[key_id].unwrap_key(key_id, algorithm, wrapped)

    sealed_after = encrypt_envelope(b"written under v2", new)
    assert read_envelope_header(sealed_after).key_id == V2
    for unwrapper in (Dispatcher(old, new), KeyRing(new, old)):
        assert decrypt_envelope(sealed_before, unwrapper) == b"written under v1"
        assert decrypt_envelope(sealed_after, unwrapper) == b"written under v2"
    ring = KeyRing(new, old)
    assert read_envelope_header(encrypt_envelope(b"x", ring)).key_id == V2
    with pytest.raises(EnvelopeKeyError):
        decrypt_envelope(sealed_before, KeyRing(new))


class ChunkLimitedReader(io.RawIOBase):
    """A source that records the largest read and returns at most ``limit`` bytes per call (like a pipe)."""

    def __init__(self, data: bytes, limit: int) -> None:
        self._source = io.BytesIO(data)
        self.limit = limit
        self.largest_request = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert size > 0, "the whole stream was requested"
        self.largest_request = max(self.largest_request, size)
        return self._source.read(min(size, self.limit))


def test_streaming_round_trip_of_several_megabytes_reads_chunk_by_chunk(oct_wrapper: LocalKeyWrapper) -> None:
    data = os.urandom(3 * 1024 * 1024 + 123)
    source = ChunkLimitedReader(data, limit=10_000)
    sealed = io.BytesIO()
    written = encrypt_stream(source, sealed, oct_wrapper)  # type: ignore[arg-type]
    assert source.largest_request == 64 * 1024
    assert written == len(sealed.getvalue())
    blob = sealed.getvalue()
    assert decrypt_envelope(blob, oct_wrapper) == data  # same format as the one-shot functions
    reader = ChunkLimitedReader(blob, limit=7_000)
    opened = io.BytesIO()
    assert decrypt_stream(reader, opened, oct_wrapper) == len(data)  # type: ignore[arg-type]
    assert reader.largest_request <= 64 * 1024 + TAG
    assert opened.getvalue() == data


def test_stream_of_exact_chunk_multiple_and_empty_stream(oct_wrapper: LocalKeyWrapper) -> None:
    for data in (b"", os.urandom(4 * CHUNK)):
        sealed = io.BytesIO()
        encrypt_stream(io.BytesIO(data), sealed, oct_wrapper, chunk_size=CHUNK)
        assert sealed.getvalue() != b""
        assert decrypt_envelope(sealed.getvalue(), oct_wrapper) == data
        assert encrypt_envelope(data, oct_wrapper, chunk_size=CHUNK).__len__() == len(sealed.getvalue())


def test_chunk_size_is_validated(oct_wrapper: LocalKeyWrapper) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        encrypt_envelope(b"x", oct_wrapper, chunk_size=10)
    with pytest.raises(ValueError, match="chunk_size"):
        encrypt_stream(io.BytesIO(b"x"), io.BytesIO(), oct_wrapper, chunk_size=1 << 30)


def test_local_wrapper_needs_a_key_id_and_a_wrapping_key() -> None:
    with pytest.raises(InvalidKeyError, match="key_id"):
        LocalKeyWrapper(generate_key("oct"))
    with pytest.raises(UnsupportedAlgorithmError):
        LocalKeyWrapper(generate_key("EC"), "ec")
    with pytest.raises(UnsupportedAlgorithmError):
        LocalKeyWrapper(generate_key("oct", size=128), "k", algorithm="A256KW")
    assert LocalKeyWrapper(generate_key("oct", size=128), "k").algorithm == "A128KW"
    assert (
        LocalKeyWrapper(generate_key("oct"), "k", algorithm="CKM_AES_KEY_WRAP_PAD").algorithm == "CKM_AES_KEY_WRAP_PAD"
    )
