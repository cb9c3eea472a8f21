"""Envelope format stability: envelopes written by earlier kvconfig releases open, and sealing is byte-for-byte stable.

``data/envelope-v1-a256kw-{size}.kvce`` were written by the first version-1 implementation (kvconfig commit
b24ac6f, before the one-shot functions wrote into a preallocated buffer) with the fixed inputs below. A256KW is
deterministic, so with a fixed data key and nonce the whole envelope is too. The tests run with and without
``AESGCM.encrypt_into``/``decrypt_into`` (older ``cryptography`` releases lack them).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from kvconfig.crypto import (
    EnvelopeIntegrityError,
    LocalKeyWrapper,
    decrypt_envelope,
    decrypt_stream,
    encrypt_envelope,
    key_from_jwk,
    read_envelope_header,
)
from kvconfig.crypto import _sealing as sealing_module
from kvconfig.crypto._jwk import b64url_encode
from kvconfig.crypto.envelope import EnvelopeHeader

DATA = Path(__file__).parent / "data"
KEY_ID = "https://golden.vault.azure.net/keys/kek/00000000000000000000000000000001"
DATA_KEY = bytes(range(32, 64))
NONCE = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaab")
CHUNK = 1024
SIZES = [0, 2 * CHUNK, 2600]  # empty, an exact multiple of the chunk size, a short last chunk


def golden_wrapper() -> LocalKeyWrapper:
    return LocalKeyWrapper(key_from_jwk({"kty": "oct", "k": b64url_encode(bytes(range(32)))}), KEY_ID)


def golden_plaintext(size: int) -> bytes:
    return hashlib.shake_256(b"kvconfig envelope golden").digest(size) if size else b""


@pytest.fixture(params=[True, False], ids=["encrypt_into", "without_encrypt_into"])
def aead_into(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both code paths: writing chunks in place, and the copy used with cryptography releases that cannot."""
    if request.param and not sealing_module._AEAD_INTO:
        pytest.skip("this cryptography release has no AESGCM.encrypt_into")
    monkeypatch.setattr(sealing_module, "_AEAD_INTO", request.param)
    return bool(request.param)


@pytest.mark.parametrize("size", SIZES)
def test_envelope_written_by_the_first_implementation_still_opens(aead_into: bool, size: int) -> None:
    blob = (DATA / f"envelope-v1-a256kw-{size}.kvce").read_bytes()
    header = read_envelope_header(blob)
    assert (header.key_id, header.wrap_algorithm, header.chunk_size, header.nonce) == (KEY_ID, "A256KW", CHUNK, NONCE)
    assert decrypt_envelope(blob, golden_wrapper()) == golden_plaintext(size)
    assert decrypt_envelope(bytearray(blob), golden_wrapper()) == golden_plaintext(size)
    opened = io.BytesIO()
    assert decrypt_stream(io.BytesIO(blob), opened, golden_wrapper()) == size
    assert opened.getvalue() == golden_plaintext(size)


@pytest.mark.parametrize("size", SIZES)
def test_sealing_with_the_same_inputs_reproduces_the_golden_bytes(aead_into: bool, size: int) -> None:
    wrapper = golden_wrapper()
    header = EnvelopeHeader(KEY_ID, "A256KW", wrapper.wrap_key(DATA_KEY), CHUNK, NONCE)
    sealed = sealing_module.seal(DATA_KEY, header, golden_plaintext(size))
    assert type(sealed) is bytes
    assert sealed == (DATA / f"envelope-v1-a256kw-{size}.kvce").read_bytes()


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 7])
def test_one_shot_round_trip_returns_bytes_on_both_paths(aead_into: bool, size: int) -> None:
    wrapper = golden_wrapper()
    data = golden_plaintext(size)
    for source in (data, bytearray(data), memoryview(data)):
        blob = encrypt_envelope(source, wrapper, chunk_size=CHUNK)
        assert type(blob) is bytes
        opened = decrypt_envelope(blob, wrapper)
        assert type(opened) is bytes
        assert opened == data


def test_tampering_is_detected_on_both_paths(aead_into: bool) -> None:
    blob = bytearray((DATA / "envelope-v1-a256kw-2600.kvce").read_bytes())
    blob[-100] ^= 0x01
    with pytest.raises(EnvelopeIntegrityError, match="Chunk 2"):
        decrypt_envelope(bytes(blob), golden_wrapper())
    with pytest.raises(EnvelopeIntegrityError, match="chunk 2 is shorter than its tag"):
        decrypt_envelope(bytes(blob[: -(2600 - 2 * CHUNK + 1)]), golden_wrapper())
