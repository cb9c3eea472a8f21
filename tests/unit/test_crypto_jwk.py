"""JSON Web Keys: exact wire encodings, round trips and rejection of malformed keys."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kvconfig.crypto import (
    InvalidKeyError,
    JwkError,
    KeyMaterial,
    generate_key,
    key_from_jwk,
)
from kvconfig.crypto._jwk import b64url_decode, b64url_encode
from kvconfig.errors import KvConfigError

CURVE_LENGTHS = {"P-256": 32, "P-384": 48, "P-521": 66, "P-256K": 32}


def raw(jwk: dict[str, object], name: str) -> bytes:
    value = jwk[name]
    assert isinstance(value, str)
    assert "=" not in value  # base64url without padding
    return b64url_decode(value)


@pytest.fixture(scope="module")
def rsa_key() -> KeyMaterial:
    return generate_key("RSA", size=2048)


@pytest.mark.parametrize("size", [2048, 3072])
def test_rsa_public_jwk_has_full_length_modulus_and_minimal_exponent(size: int) -> None:
    key = generate_key("RSA-HSM", size=size)
    jwk = key.public_jwk(kid="https://v.vault.azure.net/keys/k/1", key_ops=["verify"])
    assert set(jwk) == {"kid", "kty", "key_ops", "n", "e"}
    assert jwk["kty"] == "RSA-HSM"
    assert jwk["e"] == "AQAB"
    assert len(raw(jwk, "n")) == size // 8
    assert key.size == size
    assert key.kty_family == "RSA"


@pytest.mark.parametrize(("curve", "length"), CURVE_LENGTHS.items())
def test_ec_jwk_coordinates_have_the_curve_length(curve: str, length: int) -> None:
    for _ in range(8):
        key = generate_key("EC", curve=curve)
        jwk = key.private_jwk()
        assert jwk["crv"] == curve
        assert {len(raw(jwk, name)) for name in ("x", "y", "d")} == {length}
        assert key.curve == curve


def _key_with_short_x(curve: ec.EllipticCurve, length: int) -> KeyMaterial:
    for _ in range(20000):
        private = ec.generate_private_key(curve)
        if private.public_key().public_numbers().x < 1 << (8 * (length - 1)):
            return KeyMaterial(private)
    raise AssertionError("no key with a leading zero byte found")


@pytest.mark.parametrize(("curve", "length"), [(ec.SECP256R1(), 32), (ec.SECP521R1(), 66)])
def test_ec_coordinate_with_leading_zero_byte_is_left_padded(curve: ec.EllipticCurve, length: int) -> None:
    key = _key_with_short_x(curve, length)
    x = raw(key.public_jwk(), "x")
    assert len(x) == length
    assert x[0] == 0
    assert key_from_jwk(key.public_jwk()).public_jwk() == key.public_jwk()


def test_oct_public_jwk_has_no_k_and_private_jwk_has_it() -> None:
    key = generate_key("oct-HSM", size=128)
    assert key.public_jwk(kid="k") == {"kid": "k", "kty": "oct-HSM"}
    assert len(raw(key.private_jwk(), "k")) == 16
    assert key.size == 128


@pytest.mark.parametrize(
    ("kty", "options"),
    [
        ("RSA", {"size": 2048}),
        ("RSA-HSM", {"size": 2048, "public_exponent": 3}),
        ("EC", {"curve": "P-256"}),
        ("EC-HSM", {"curve": "P-384"}),
        ("EC", {"curve": "P-521"}),
        ("EC", {"curve": "P-256K"}),
        ("oct", {"size": 192}),
        ("oct-HSM", {"size": 256}),
    ],
)
def test_private_and_public_jwk_round_trip(kty: str, options: dict[str, object]) -> None:
    key = generate_key(kty, **options)  # type: ignore[arg-type]
    again = key_from_jwk(key.private_jwk())
    assert again == key
    assert again.kty == kty
    assert again.has_private
    public = key_from_jwk(key.public_jwk()) if key.kty_family != "oct" else key
    assert public.public_jwk() == key.public_jwk()


def test_public_jwk_parses_to_public_only_material(rsa_key: KeyMaterial) -> None:
    public = key_from_jwk(rsa_key.public_jwk())
    assert not public.has_private
    assert isinstance(public.key, rsa.RSAPublicKey)
    with pytest.raises(InvalidKeyError):
        public.private_jwk()


def test_rsa_jwk_with_only_d_recovers_the_primes(rsa_key: KeyMaterial) -> None:
    jwk = {name: value for name, value in rsa_key.private_jwk().items() if name in {"kty", "n", "e", "d"}}
    assert key_from_jwk(jwk) == rsa_key


def test_jwk_members_may_be_raw_bytes_as_in_the_sdk_model() -> None:
    key = generate_key("EC", curve="P-384")
    jwk: dict[str, object] = {
        name: (b64url_decode(value) if name in {"x", "y", "d"} and isinstance(value, str) else value)
        for name, value in key.private_jwk().items()
    }
    assert key_from_jwk(jwk) == key


def test_secp256k1_alias_from_old_api_versions_is_accepted() -> None:
    key = generate_key("EC", curve="P-256K")
    jwk = dict(key.public_jwk())
    jwk["crv"] = "SECP256K1"
    assert key_from_jwk(jwk).curve == "P-256K"


def test_padded_base64_is_accepted_and_output_has_no_padding() -> None:
    assert b64url_decode("AQAB") == b64url_decode("AQAB") == b"\x01\x00\x01"
    assert b64url_decode("AQ==") == b"\x01"
    assert b64url_encode(b"\xff\xfe") == "__4"


def test_key_material_repr_shows_no_key_material(rsa_key: KeyMaterial) -> None:
    text = repr(rsa_key)
    assert text == "KeyMaterial(kty='RSA', size=2048, private)"
    oct_key = generate_key("oct")
    assert b64url_encode(oct_key.key) not in repr(oct_key)  # type: ignore[arg-type]


def test_key_material_is_immutable(rsa_key: KeyMaterial) -> None:
    with pytest.raises(AttributeError):
        rsa_key._kty = "EC"  # type: ignore[misc]


def _ec_jwk(curve: str = "P-256") -> dict[str, object]:
    return dict(generate_key("EC", curve=curve).private_jwk())


def _rsa_jwk() -> dict[str, object]:
    return dict(_RSA_FOR_BAD.private_jwk())


_RSA_FOR_BAD = generate_key("RSA")
_OTHER_EC = generate_key("EC").private_jwk()


def _replace(jwk: dict[str, object], **changes: object) -> dict[str, object]:
    result = dict(jwk)
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


BAD_JWKS = {
    "no kty": lambda: _replace(_ec_jwk(), kty=None),
    "unknown kty": lambda: _replace(_ec_jwk(), kty="DSA"),
    "kty not a string": lambda: _replace(_ec_jwk(), kty=3),
    "kid not a string": lambda: _replace(_ec_jwk(), kid=7),
    "key_ops a string": lambda: _replace(_ec_jwk(), key_ops="sign"),
    "key_ops with a number": lambda: _replace(_ec_jwk(), key_ops=["sign", 1]),
    "ec no crv": lambda: _replace(_ec_jwk(), crv=None),
    "ec unknown crv": lambda: _replace(_ec_jwk(), crv="P-192"),
    "ec no x": lambda: _replace(_ec_jwk(), x=None),
    "ec no y": lambda: _replace(_ec_jwk(), y=None),
    "ec x one byte short": lambda: _replace(_ec_jwk(), x=b64url_encode(raw(_ec_jwk(), "x")[1:])),
    "ec P-521 x with extra leading zero": lambda: _replace(
        _ec_jwk("P-521"), x=b64url_encode(b"\x00" + raw(_ec_jwk("P-521"), "x"))
    ),
    "ec d wrong length": lambda: _replace(_ec_jwk(), d=b64url_encode(b"\x01" * 31)),
    "ec point not on curve": lambda: _replace(_ec_jwk(), y=b64url_encode(b"\x01" * 32)),
    "ec d does not match point": lambda: _replace(_ec_jwk(), d=_OTHER_EC["d"]),
    "ec d zero": lambda: _replace(_ec_jwk(), d=b64url_encode(b"\x00" * 32)),
    "bad base64 character": lambda: _replace(_ec_jwk(), x="abc+def/"),
    "member of wrong type": lambda: _replace(_ec_jwk(), x=12345),
    "empty member": lambda: _replace(_rsa_jwk(), e=""),
    "rsa no n": lambda: _replace(_rsa_jwk(), n=None),
    "rsa no e": lambda: _replace(_rsa_jwk(), e=None),
    "rsa tiny modulus": lambda: {"kty": "RSA", "n": b64url_encode(b"\xc3" * 64), "e": "AQAB"},
    "rsa n with many leading zeros": lambda: _replace(_rsa_jwk(), n=b64url_encode(b"\x00\x00" + raw(_rsa_jwk(), "n"))),
    "rsa some private members missing": lambda: _replace(_rsa_jwk(), dq=None, qi=None),
    "rsa primes without d": lambda: _replace(_rsa_jwk(), d=None),
    "rsa inconsistent p": lambda: _replace(_rsa_jwk(), p=b64url_encode(b"\x07" * 128)),
    "rsa wrong d": lambda: _replace(
        _rsa_jwk(), d=b64url_encode(b"\x05" * 255), p=None, q=None, dp=None, dq=None, qi=None
    ),
    "oct no k": lambda: {"kty": "oct"},
    "oct k of 20 bytes": lambda: {"kty": "oct", "k": b64url_encode(b"k" * 20)},
    "oct k of 64 bytes": lambda: {"kty": "oct-HSM", "k": b64url_encode(b"k" * 64)},
}


@pytest.mark.parametrize("case", BAD_JWKS)
def test_malformed_jwk_raises_jwk_error(case: str) -> None:
    jwk = BAD_JWKS[case]()
    with pytest.raises(JwkError) as info:
        key_from_jwk(jwk)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, KvConfigError)
    message = str(info.value)
    for name in ("d", "p", "q", "dp", "dq", "qi", "k"):
        value = jwk.get(name)
        if isinstance(value, str) and len(value) > 8:
            assert value not in message


def test_jwk_that_is_not_a_mapping_raises_jwk_error() -> None:
    with pytest.raises(JwkError):
        key_from_jwk(["kty", "RSA"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kty", "options"),
    [
        ("RSA", {"size": 1024}),
        ("RSA", {"size": 2048, "public_exponent": 18}),
        ("RSA", {"size": 2048, "public_exponent": 1}),
        ("RSA", {"size": 2048, "public_exponent": 2**31 + 1}),
        ("RSA", {"curve": "P-256"}),
        ("EC", {"curve": "P-192"}),
        ("EC", {"curve": "P-256", "size": 384}),
        ("EC", {"public_exponent": 65537}),
        ("oct", {"size": 512}),
        ("AES", {}),
    ],
)
def test_generate_key_rejects_bad_parameters(kty: str, options: dict[str, object]) -> None:
    with pytest.raises(InvalidKeyError):
        generate_key(kty, **options)  # type: ignore[arg-type]


def test_generate_key_defaults() -> None:
    assert generate_key("EC").curve == "P-256"
    assert generate_key("oct").size == 256


def test_key_material_rejects_kty_of_another_family(rsa_key: KeyMaterial) -> None:
    with pytest.raises(InvalidKeyError):
        KeyMaterial(rsa_key.key, kty="EC")
    with pytest.raises(InvalidKeyError):
        KeyMaterial(ec.generate_private_key(ec.SECP224R1()))
    with pytest.raises(InvalidKeyError):
        KeyMaterial(b"short")


def test_b64url_decode_rejects_non_alphabet() -> None:
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode("a b")
    assert base64.urlsafe_b64encode(b"\x00").rstrip(b"=") == b64url_encode(b"\x00").encode()
