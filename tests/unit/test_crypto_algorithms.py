"""Key Vault algorithms on KeyMaterial: round trips, known-answer vectors and the typed error families."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kvconfig.crypto import (
    ENCRYPTION_ALGORITHMS,
    KEY_WRAP_ALGORITHMS,
    SIGNATURE_ALGORITHMS,
    CryptoError,
    DecryptionError,
    InvalidDigestError,
    InvalidInputError,
    KeyMaterial,
    KeyOperationError,
    UnsupportedAlgorithmError,
    decrypt,
    encrypt,
    generate_key,
    sign,
    supported_algorithms,
    unwrap_key,
    verify,
    wrap_key,
)

HASH_FOR = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512, "56K": hashlib.sha256}
EC_CURVE = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521", "ES256K": "P-256K"}


def digest_for(alg: str, message: bytes = b"message") -> bytes:
    return HASH_FOR[alg[-3:]](message).digest()


@pytest.fixture(scope="module")
def rsa_key() -> KeyMaterial:
    return generate_key("RSA", size=2048)


@pytest.fixture(scope="module")
def ec_keys() -> dict[str, KeyMaterial]:
    return {curve: generate_key("EC", curve=curve) for curve in EC_CURVE.values()}


@pytest.fixture(scope="module")
def oct_keys() -> dict[int, KeyMaterial]:
    return {bits: generate_key("oct", size=bits) for bits in (128, 192, 256)}


@pytest.mark.parametrize("alg", ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"])
def test_rsa_encrypt_decrypt_and_wrap_unwrap_round_trip(rsa_key: KeyMaterial, alg: str) -> None:
    result = encrypt(rsa_key.public_key(), alg, b"secret")
    assert result.iv is None
    assert result.tag is None
    assert len(result.ciphertext) == 256
    assert decrypt(rsa_key, alg, result.ciphertext) == b"secret"
    wrapped = wrap_key(rsa_key.public_key(), alg, b"k" * 32)
    assert unwrap_key(rsa_key, alg, wrapped) == b"k" * 32


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
def test_rsa_sign_verify(rsa_key: KeyMaterial, alg: str) -> None:
    digest = digest_for(alg)
    signature = sign(rsa_key, alg, digest)
    assert len(signature) == 256
    assert verify(rsa_key.public_key(), alg, digest, signature)
    assert not verify(rsa_key, alg, digest_for(alg, b"other"), signature)
    assert not verify(rsa_key, alg, digest, signature[:-1] + bytes([signature[-1] ^ 1]))


@pytest.mark.parametrize("alg", sorted(EC_CURVE))
def test_ecdsa_signature_is_raw_r_s_of_curve_length(ec_keys: dict[str, KeyMaterial], alg: str) -> None:
    key = ec_keys[EC_CURVE[alg]]
    digest = digest_for(alg)
    length = {"P-256": 32, "P-384": 48, "P-521": 66, "P-256K": 32}[EC_CURVE[alg]]
    for _ in range(3):
        signature = sign(key, alg, digest)
        assert len(signature) == 2 * length
        assert verify(key.public_key(), alg, digest, signature)
    assert not verify(key, alg, digest, signature[:-1])  # malformed: wrong length
    assert not verify(key, alg, digest, bytes(2 * length))
    assert not verify(key, alg, digest_for(alg, b"other"), signature)


@pytest.mark.parametrize("bits", [128, 192, 256])
def test_aes_gcm_round_trip_with_generated_iv_and_aad(oct_keys: dict[int, KeyMaterial], bits: int) -> None:
    key, alg = oct_keys[bits], f"A{bits}GCM"
    result = encrypt(key, alg, b"plaintext", aad=b"header")
    assert result.iv is not None
    assert len(result.iv) == 12
    assert result.tag is not None
    assert len(result.tag) == 16
    assert result.aad == b"header"
    # Independent check with cryptography's AESGCM directly.
    assert AESGCM(key.key).decrypt(result.iv, result.ciphertext + result.tag, b"header") == b"plaintext"  # type: ignore[arg-type]
    assert decrypt(key, alg, result.ciphertext, iv=result.iv, tag=result.tag, aad=b"header") == b"plaintext"


def test_aes_gcm_tampered_tag_ciphertext_or_aad_raises_decryption_error(oct_keys: dict[int, KeyMaterial]) -> None:
    key = oct_keys[256]
    result = encrypt(key, "A256GCM", b"plaintext", iv=b"\x00" * 12, aad=b"a")
    assert result.tag is not None
    assert result.iv is not None
    bad_tag = bytes([result.tag[0] ^ 1]) + result.tag[1:]
    bad_ct = bytes([result.ciphertext[0] ^ 1]) + result.ciphertext[1:]
    for ciphertext, tag, aad in [
        (result.ciphertext, bad_tag, b"a"),
        (bad_ct, result.tag, b"a"),
        (result.ciphertext, result.tag, b"b"),
    ]:
        with pytest.raises(DecryptionError) as info:
            decrypt(key, "A256GCM", ciphertext, iv=result.iv, tag=tag, aad=aad)
        assert "plaintext" not in str(info.value).replace("plaintext (", "")


@pytest.mark.parametrize("bits", [128, 192, 256])
def test_aes_cbc_and_cbcpad(oct_keys: dict[int, KeyMaterial], bits: int) -> None:
    key = oct_keys[bits]
    block = b"0123456789abcdef" * 2
    plain = encrypt(key, f"A{bits}CBC", block, iv=b"\x01" * 16)
    assert plain.iv == b"\x01" * 16
    assert len(plain.ciphertext) == 32
    assert plain.tag is None
    assert decrypt(key, f"A{bits}CBC", plain.ciphertext, iv=b"\x01" * 16) == block
    padded = encrypt(key, f"A{bits}CBCPAD", b"odd length")
    assert padded.iv is not None
    assert len(padded.iv) == 16
    assert len(padded.ciphertext) == 16
    assert decrypt(key, f"A{bits}CBCPAD", padded.ciphertext, iv=padded.iv) == b"odd length"
    full = encrypt(key, f"A{bits}CBCPAD", block)
    assert len(full.ciphertext) == 48  # a whole block of padding


def test_cbc_without_padding_rejects_partial_blocks(oct_keys: dict[int, KeyMaterial]) -> None:
    with pytest.raises(InvalidInputError, match="multiple of 16"):
        encrypt(oct_keys[128], "A128CBC", b"not a block")
    with pytest.raises(InvalidInputError):
        decrypt(oct_keys[128], "A128CBC", b"x" * 15, iv=b"\x00" * 16)


def test_cbcpad_bad_padding_raises_decryption_error(oct_keys: dict[int, KeyMaterial]) -> None:
    result = encrypt(oct_keys[256], "A256CBCPAD", b"hello")
    assert result.iv is not None
    # One block: the last plaintext byte is the pad length 0x0b; flipping those bits of the IV turns it into 0x00,
    # which is never valid padding (a random IV was valid padding about once in 256 runs).
    iv = result.iv[:-1] + bytes([result.iv[-1] ^ 0x0B])
    with pytest.raises(DecryptionError):
        decrypt(oct_keys[256], "A256CBCPAD", result.ciphertext, iv=iv)


# RFC 3394 section 4.1 and RFC 5649 section 6 known-answer vectors.
RFC3394_KEK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
RFC3394_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
RFC3394_WRAPPED = bytes.fromhex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
RFC5649_KEK = bytes.fromhex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")
RFC5649_KEY = bytes.fromhex("c37b7e6492584340bed12207808941155068f738")
RFC5649_WRAPPED = bytes.fromhex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a")


@pytest.mark.parametrize("alg", ["A128KW", "CKM_AES_KEY_WRAP"])
def test_aes_key_wrap_matches_rfc3394_vector(alg: str) -> None:
    kek = KeyMaterial(RFC3394_KEK, kty="oct-HSM")
    assert wrap_key(kek, alg, RFC3394_KEY) == RFC3394_WRAPPED
    assert unwrap_key(kek, alg, RFC3394_WRAPPED) == RFC3394_KEY


def test_aes_key_wrap_pad_matches_rfc5649_vector() -> None:
    kek = KeyMaterial(RFC5649_KEK)
    assert wrap_key(kek, "CKM_AES_KEY_WRAP_PAD", RFC5649_KEY) == RFC5649_WRAPPED
    assert unwrap_key(kek, "CKM_AES_KEY_WRAP_PAD", RFC5649_WRAPPED) == RFC5649_KEY
    assert unwrap_key(kek, "CKM_AES_KEY_WRAP_PAD", wrap_key(kek, "CKM_AES_KEY_WRAP_PAD", b"x")) == b"x"


def test_key_wrap_input_and_integrity_errors(oct_keys: dict[int, KeyMaterial]) -> None:
    with pytest.raises(InvalidInputError):
        wrap_key(oct_keys[256], "A256KW", b"k" * 20)  # RFC 3394 needs multiples of 8
    with pytest.raises(InvalidInputError):
        unwrap_key(oct_keys[256], "A256KW", b"k" * 20)
    wrapped = wrap_key(oct_keys[256], "A256KW", b"k" * 32)
    with pytest.raises(DecryptionError):
        unwrap_key(oct_keys[256], "A256KW", wrapped[:-1] + bytes([wrapped[-1] ^ 1]))
    with pytest.raises(DecryptionError):
        unwrap_key(generate_key("oct"), "A256KW", wrapped)


@pytest.mark.parametrize(
    ("kty", "alg"),
    [
        ("RSA", "ES256"),
        ("RSA", "A256GCM"),
        ("RSA", "A256KW"),
        ("EC", "RS256"),
        ("EC", "RSA-OAEP"),
        ("EC", "ES384"),  # a P-256 key
        ("EC", "ES256K"),
        ("oct", "RSA-OAEP-256"),
        ("oct", "A128GCM"),  # a 256-bit key
        ("oct", "A192CBCPAD"),
        ("oct", "A128KW"),
        ("oct", "ES256"),
    ],
)
def test_algorithm_that_does_not_fit_the_key_raises_unsupported_algorithm(
    rsa_key: KeyMaterial, ec_keys: dict[str, KeyMaterial], oct_keys: dict[int, KeyMaterial], kty: str, alg: str
) -> None:
    key = {"RSA": rsa_key, "EC": ec_keys["P-256"], "oct": oct_keys[256]}[kty]
    if alg in SIGNATURE_ALGORITHMS:
        call = lambda: sign(key, alg, b"\x00" * 32)  # noqa: E731
    elif alg in ENCRYPTION_ALGORITHMS:
        call = lambda: encrypt(key, alg, b"x" * 16)  # noqa: E731
    else:
        call = lambda: wrap_key(key, alg, b"x" * 32)  # noqa: E731
    with pytest.raises(UnsupportedAlgorithmError):
        call()


def test_unknown_algorithms_raise_unsupported_algorithm(rsa_key: KeyMaterial) -> None:
    for call in (
        lambda: encrypt(rsa_key, "RSA-OAEP-512", b"x"),
        lambda: encrypt(rsa_key, "A256KW", b"x"),  # a wrap algorithm is not an encryption algorithm
        lambda: sign(rsa_key, "HS256", b"x" * 32),
        lambda: sign(rsa_key, "RSNULL", b"x" * 32),
        lambda: wrap_key(rsa_key, "rsa-oaep", b"x"),
        lambda: sign(rsa_key, 256, b"x"),  # type: ignore[arg-type]
    ):
        with pytest.raises(UnsupportedAlgorithmError):
            call()


@pytest.mark.parametrize(("alg", "length"), [("RS256", 48), ("PS384", 32), ("RS512", 48), ("ES256", 64), ("ES512", 32)])
def test_wrong_digest_length_raises_invalid_digest(
    rsa_key: KeyMaterial, ec_keys: dict[str, KeyMaterial], alg: str, length: int
) -> None:
    key = ec_keys[EC_CURVE[alg]] if alg.startswith("ES") else rsa_key
    with pytest.raises(InvalidDigestError, match=f"{length} bytes"):
        sign(key, alg, b"\x00" * length)
    with pytest.raises(InvalidDigestError):
        verify(key, alg, b"\x00" * length, b"\x00" * 64)


def test_private_operations_on_public_key_raise_key_operation_error(rsa_key: KeyMaterial) -> None:
    public = rsa_key.public_key()
    for call in (
        lambda: decrypt(public, "RSA-OAEP", b"\x00" * 256),
        lambda: unwrap_key(public, "RSA-OAEP", b"\x00" * 256),
        lambda: sign(public, "RS256", b"\x00" * 32),
    ):
        with pytest.raises(KeyOperationError, match="private part"):
            call()


def test_input_errors(rsa_key: KeyMaterial, oct_keys: dict[int, KeyMaterial]) -> None:
    cases = [
        lambda: encrypt(rsa_key, "RSA-OAEP", b"x" * 215),  # at most 256 - 42 bytes
        lambda: encrypt(rsa_key, "RSA1_5", b"x" * 246),
        lambda: encrypt(rsa_key, "RSA-OAEP", b"x", iv=b"\x00" * 16),
        lambda: decrypt(rsa_key, "RSA-OAEP", b"x" * 255),
        lambda: encrypt(oct_keys[256], "A256GCM", b"x", iv=b"\x00" * 16),
        lambda: encrypt(oct_keys[256], "A256CBCPAD", b"x", aad=b"a"),
        lambda: encrypt(oct_keys[256], "A256CBC", b"x" * 16, iv=b"\x00" * 12),
        lambda: decrypt(oct_keys[256], "A256GCM", b"x", iv=b"\x00" * 12),  # no tag
        lambda: decrypt(oct_keys[256], "A256GCM", b"x", tag=b"\x00" * 16),  # no iv
        lambda: decrypt(oct_keys[256], "A256CBCPAD", b"x" * 16),  # no iv
        lambda: decrypt(oct_keys[256], "A256CBC", b"x" * 16, iv=b"\x00" * 16, tag=b"\x00" * 16),
        lambda: wrap_key(oct_keys[256], "CKM_AES_KEY_WRAP_PAD", b""),
    ]
    for call in cases:
        with pytest.raises(InvalidInputError):
            call()
    assert encrypt(rsa_key, "RSA-OAEP", b"x" * 214).ciphertext


def test_rsa_decrypt_with_wrong_key_raises_decryption_error(rsa_key: KeyMaterial) -> None:
    ciphertext = encrypt(rsa_key, "RSA-OAEP-256", b"secret").ciphertext
    with pytest.raises(DecryptionError):
        decrypt(generate_key("RSA"), "RSA-OAEP-256", ciphertext)


def test_supported_algorithms_by_key(
    rsa_key: KeyMaterial, ec_keys: dict[str, KeyMaterial], oct_keys: dict[int, KeyMaterial]
) -> None:
    assert supported_algorithms(rsa_key, "encrypt") == {"RSA1_5", "RSA-OAEP", "RSA-OAEP-256"}
    assert supported_algorithms(rsa_key, "wrapKey") == {"RSA1_5", "RSA-OAEP", "RSA-OAEP-256"}
    assert supported_algorithms(rsa_key, "sign") == {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
    assert supported_algorithms(ec_keys["P-521"], "verify") == {"ES512"}
    assert supported_algorithms(ec_keys["P-256K"], "sign") == {"ES256K"}
    assert supported_algorithms(ec_keys["P-256"], "encrypt") == frozenset()
    assert supported_algorithms(oct_keys[192], "decrypt") == {"A192GCM", "A192CBC", "A192CBCPAD"}
    assert supported_algorithms(oct_keys[128], "unwrapKey") == {"A128KW", "CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD"}
    assert supported_algorithms(oct_keys[256], "sign") == frozenset()
    assert supported_algorithms(oct_keys[256], "wrapKey") <= KEY_WRAP_ALGORITHMS
    with pytest.raises(InvalidInputError):
        supported_algorithms(rsa_key, "export")


def test_error_families_are_distinct() -> None:
    assert issubclass(InvalidDigestError, InvalidInputError)
    for cls in (UnsupportedAlgorithmError, InvalidInputError, DecryptionError, KeyOperationError):
        assert issubclass(cls, CryptoError)
    assert not issubclass(DecryptionError, ValueError)
    assert not issubclass(UnsupportedAlgorithmError, InvalidInputError)
    assert not issubclass(InvalidInputError, UnsupportedAlgorithmError)
