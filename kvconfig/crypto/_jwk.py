"""JSON Web Keys as Key Vault writes them, to and from ``cryptography`` key objects (:class:`KeyMaterial`).

Wire rules (Key Vault's ``JsonWebKey``): byte members are base64url without padding; ``n`` is the modulus in its
full byte length, ``e`` is minimal (``AQAB``), EC ``x``/``y``/``d`` have the curve's fixed length (32 bytes for
P-256 and P-256K, 48 for P-384, 66 for P-521). Parsing also accepts raw ``bytes`` members, which is what the
Azure SDK's ``JsonWebKey`` model holds.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable, Mapping
from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ._primes import MAX_PUBLIC_EXPONENT, generate_rsa_with_exponent
from .errors import InvalidKeyError, JwkError

__all__ = [
    "CURVES",
    "KEY_TYPES",
    "JwkDict",
    "KeyMaterial",
    "b64url_decode",
    "b64url_encode",
    "generate_key",
    "key_from_jwk",
]

JwkDict = dict[str, str | list[str]]
"""A JSON Web Key as a JSON-ready dict: byte members base64url strings, ``key_ops`` a list of strings."""

CryptoKey = rsa.RSAPrivateKey | rsa.RSAPublicKey | ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey | bytes

KEY_TYPES: Final = ("RSA", "RSA-HSM", "EC", "EC-HSM", "oct", "oct-HSM")
_FAMILY: Final = {"RSA": "RSA", "RSA-HSM": "RSA", "EC": "EC", "EC-HSM": "EC", "oct": "oct", "oct-HSM": "oct"}

# Key Vault curve name -> (cryptography curve class, coordinate length in bytes)
CURVES: Final[dict[str, tuple[type[ec.EllipticCurve], int]]] = {
    "P-256": (ec.SECP256R1, 32),
    "P-384": (ec.SECP384R1, 48),
    "P-521": (ec.SECP521R1, 66),
    "P-256K": (ec.SECP256K1, 32),
}
_CURVE_ALIASES: Final = {"SECP256K1": "P-256K"}  # the name Key Vault used in api-version 2016-10-01
_CURVE_BY_CRYPTOGRAPHY_NAME: Final = {
    "secp256r1": "P-256",
    "secp384r1": "P-384",
    "secp521r1": "P-521",
    "secp256k1": "P-256K",
}
_CURVE_BITS: Final = {"P-256": 256, "P-384": 384, "P-521": 521, "P-256K": 256}

_RSA_SIZES: Final = (2048, 3072, 4096)
_RSA_MIN_IMPORT_BITS: Final = 1024
_RSA_MAX_IMPORT_BITS: Final = 16384
_OCT_BYTES: Final = (16, 24, 32)
_RSA_PRIVATE_MEMBERS: Final = ("p", "q", "dp", "dq", "qi")
_B64URL: Final = re.compile(r"[A-Za-z0-9_-]*=*")


def b64url_encode(data: bytes) -> str:
    """Encode bytes as base64url without padding (Key Vault's encoding of every byte member)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url, with or without padding; raises :class:`ValueError` on any other character."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    stripped = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def _int_to_bytes(value: int, length: int | None = None) -> bytes:
    size = max(1, (value.bit_length() + 7) // 8) if length is None else length
    return value.to_bytes(size, "big")


class KeyMaterial:
    """A key as ``cryptography`` holds it, with its Key Vault key type; never shows key material in its repr.

    ``kty`` is the Key Vault key type as given (``RSA-HSM`` stays ``RSA-HSM``); ``kty_family`` is ``"RSA"``,
    ``"EC"`` or ``"oct"``; ``size`` is in bits (modulus, curve or AES key); ``curve`` is the Key Vault curve name
    for EC keys. ``key`` is the ``cryptography`` key object (``bytes`` for oct keys).
    """

    __slots__ = ("_curve", "_key", "_kty", "_size")
    _key: CryptoKey
    _kty: str
    _size: int
    _curve: str | None

    def __init__(self, key: CryptoKey, *, kty: str | None = None) -> None:
        family = _family_of(key)
        if kty is None:
            kty = family
        elif _FAMILY.get(kty) != family:
            raise InvalidKeyError(f"Key type {kty!r} does not match a {family} key.")
        curve: str | None = None
        if isinstance(key, bytes):
            if len(key) not in _OCT_BYTES:
                raise InvalidKeyError(f"An oct key must be 16, 24 or 32 bytes long, not {len(key)}.")
            size = len(key) * 8
        elif isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
            size = key.key_size
        else:
            curve = _CURVE_BY_CRYPTOGRAPHY_NAME.get(key.curve.name)
            if curve is None:
                raise InvalidKeyError(f"Curve {key.curve.name!r} is not one Key Vault supports.")
            size = _CURVE_BITS[curve]
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_kty", kty)
        object.__setattr__(self, "_size", size)
        object.__setattr__(self, "_curve", curve)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("KeyMaterial is immutable")

    def __repr__(self) -> str:
        part = "private" if self.has_private else "public"
        detail = f"curve={self._curve!r}" if self._curve else f"size={self._size}"
        return f"KeyMaterial(kty={self._kty!r}, {detail}, {part})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KeyMaterial):
            return NotImplemented
        return self._kty == other._kty and self.private_jwk() == other.private_jwk()

    def __hash__(self) -> int:
        return hash((self._kty, self._size, self._curve))

    @property
    def key(self) -> CryptoKey:
        """The ``cryptography`` key object (private key when there is one), or the AES key bytes for oct keys."""
        return self._key

    @property
    def kty(self) -> str:
        return self._kty

    @property
    def kty_family(self) -> str:
        return _FAMILY[self._kty]

    @property
    def size(self) -> int:
        return self._size

    @property
    def curve(self) -> str | None:
        return self._curve

    @property
    def has_private(self) -> bool:
        """True when the private part is present (always true for oct keys, which have no public part)."""
        return isinstance(self._key, (bytes, rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))

    def public_key(self) -> KeyMaterial:
        """The public half (oct keys have none; they are returned unchanged)."""
        key = self._key
        if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            return KeyMaterial(key.public_key(), kty=self._kty)
        return self

    def public_jwk(self, *, kid: str | None = None, key_ops: Iterable[str] | None = None) -> JwkDict:
        """The JWK Key Vault returns for this key: RSA ``n``/``e``, EC ``crv``/``x``/``y``, oct nothing (no ``k``)."""
        jwk = _header(self._kty, kid, key_ops)
        key = self._key
        if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
            numbers = key.public_key().public_numbers() if isinstance(key, rsa.RSAPrivateKey) else key.public_numbers()
            jwk["n"] = b64url_encode(_int_to_bytes(numbers.n, (key.key_size + 7) // 8))
            jwk["e"] = b64url_encode(_int_to_bytes(numbers.e))
        elif isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
            assert self._curve is not None
            length = CURVES[self._curve][1]
            pub = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
            point = pub.public_numbers()
            jwk["crv"] = self._curve
            jwk["x"] = b64url_encode(_int_to_bytes(point.x, length))
            jwk["y"] = b64url_encode(_int_to_bytes(point.y, length))
        return jwk

    def private_jwk(self, *, kid: str | None = None, key_ops: Iterable[str] | None = None) -> JwkDict:
        """The full JWK including private members (``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``; EC ``d``; oct ``k``).

        Raises :class:`InvalidKeyError` when this is only a public key.
        """
        if not self.has_private:
            raise InvalidKeyError(f"This {self._kty} key has no private part to export.")
        jwk = self.public_jwk(kid=kid, key_ops=key_ops)
        key = self._key
        if isinstance(key, bytes):
            jwk["k"] = b64url_encode(key)
        elif isinstance(key, rsa.RSAPrivateKey):
            numbers = key.private_numbers()
            # Base64urlUInt (RFC 7518 6.3.2): minimal big-endian, as Key Vault's own private JWKs are.
            for name, value in (
                ("d", numbers.d),
                ("p", numbers.p),
                ("q", numbers.q),
                ("dp", numbers.dmp1),
                ("dq", numbers.dmq1),
                ("qi", numbers.iqmp),
            ):
                jwk[name] = b64url_encode(_int_to_bytes(value))
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            assert self._curve is not None
            jwk["d"] = b64url_encode(_int_to_bytes(key.private_numbers().private_value, CURVES[self._curve][1]))
        return jwk


def _family_of(key: object) -> str:
    if isinstance(key, bytes):
        return "oct"
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "RSA"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return "EC"
    raise InvalidKeyError(f"Unsupported key object of type {type(key).__name__}; expected an RSA, EC or AES key.")


def _header(kty: str, kid: str | None, key_ops: Iterable[str] | None) -> JwkDict:
    jwk: JwkDict = {}
    if kid is not None:
        jwk["kid"] = kid
    jwk["kty"] = kty
    if key_ops is not None:
        jwk["key_ops"] = [str(getattr(op, "value", op)) for op in key_ops]
    return jwk


def _normalise_kty(kty: object) -> str:
    value = getattr(kty, "value", kty)  # the SDK's KeyType is a str enum
    if not isinstance(value, str) or value not in _FAMILY:
        raise InvalidKeyError(f"Unknown key type {value!r}; expected one of {', '.join(KEY_TYPES)}.")
    return value


def _normalise_curve(curve: object) -> str:
    value = getattr(curve, "value", curve)
    if isinstance(value, str):
        value = _CURVE_ALIASES.get(value, value)
    if not isinstance(value, str) or value not in CURVES:
        raise InvalidKeyError(f"Unknown curve {value!r}; expected one of {', '.join(CURVES)}.")
    return value


def generate_key(
    kty: str, *, size: int | None = None, public_exponent: int | None = None, curve: str | None = None
) -> KeyMaterial:
    """Generate a new private key the way Create Key does.

    RSA: ``size`` 2048 (default), 3072 or 4096; ``public_exponent`` 65537 (default) or any odd number from 3 to
    2**31 - 1 (as Managed HSM; a vault's Create Key ignores it, which is the fake's to decide). EC: ``curve`` P-256
    (default), P-384, P-521 or P-256K; ``size``, if given, must be the curve's size. oct: ``size`` 128, 192 or
    256 (default). Raises :class:`InvalidKeyError` for anything else.
    """
    kty = _normalise_kty(kty)
    family = _FAMILY[kty]
    if family != "RSA" and public_exponent is not None:
        raise InvalidKeyError(f"public_exponent only applies to RSA keys, not {kty}.")
    if family != "EC" and curve is not None:
        raise InvalidKeyError(f"curve only applies to EC keys, not {kty}.")
    if family == "RSA":
        bits = 2048 if size is None else size
        if bits not in _RSA_SIZES:
            raise InvalidKeyError(f"RSA key size must be one of 2048, 3072 or 4096 bits, not {bits}.")
        exponent = 65537 if public_exponent is None else public_exponent
        if exponent < 3 or exponent % 2 == 0 or exponent > MAX_PUBLIC_EXPONENT:
            raise InvalidKeyError(
                f"RSA public exponent must be an odd number from 3 to {MAX_PUBLIC_EXPONENT}, not {exponent}."
            )
        return KeyMaterial(generate_rsa_with_exponent(bits, exponent), kty=kty)
    if family == "EC":
        crv = _normalise_curve("P-256" if curve is None else curve)
        if size is not None and size != _CURVE_BITS[crv]:
            raise InvalidKeyError(f"Key size {size} does not match curve {crv} ({_CURVE_BITS[crv]} bits).")
        return KeyMaterial(ec.generate_private_key(CURVES[crv][0]()), kty=kty)
    bits = 256 if size is None else size
    if bits not in (128, 192, 256):
        raise InvalidKeyError(f"oct key size must be 128, 192 or 256 bits, not {bits}.")
    return KeyMaterial(os.urandom(bits // 8), kty=kty)


def key_from_jwk(jwk: Mapping[str, object]) -> KeyMaterial:
    """Parse a JWK (public or private) into :class:`KeyMaterial`; raises :class:`JwkError` when it is malformed.

    Byte members may be base64url strings (the wire form) or raw ``bytes`` (the Azure SDK model's form).
    ``kid`` and ``key_ops`` are checked for type but are not part of the key material.
    """
    if not isinstance(jwk, Mapping):
        raise JwkError(f"A JSON Web Key must be a mapping, not {type(jwk).__name__}.")
    if jwk.get("kty") is None:
        raise JwkError("The JSON Web Key has no 'kty' member.")
    try:
        kty = _normalise_kty(jwk["kty"])
    except InvalidKeyError as exc:
        raise JwkError(str(exc)) from None
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise JwkError("The JSON Web Key member 'kid' must be a string.")
    ops = jwk.get("key_ops")
    if ops is not None and (
        isinstance(ops, (str, bytes)) or not isinstance(ops, Iterable) or not all(isinstance(o, str) for o in ops)
    ):
        raise JwkError("The JSON Web Key member 'key_ops' must be a list of strings.")
    family = _FAMILY[kty]
    if family == "RSA":
        return KeyMaterial(_rsa_from_jwk(jwk), kty=kty)
    if family == "EC":
        return KeyMaterial(_ec_from_jwk(jwk), kty=kty)
    k = _member(jwk, "k", kty)
    if k is None:
        raise JwkError(f"The {kty} JSON Web Key has no 'k' member (Key Vault never returns it for oct keys).")
    if len(k) not in _OCT_BYTES:
        raise JwkError(f"The {kty} JSON Web Key member 'k' must be 16, 24 or 32 bytes long, not {len(k)}.")
    return KeyMaterial(k, kty=kty)


def _member(jwk: Mapping[str, object], name: str, kty: str) -> bytes | None:
    value = jwk.get(name)
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
    elif isinstance(value, str):
        try:
            raw = b64url_decode(value)
        except ValueError:
            raise JwkError(f"The {kty} JSON Web Key member {name!r} is not base64url.") from None
    else:
        raise JwkError(
            f"The {kty} JSON Web Key member {name!r} must be a base64url string, not {type(value).__name__}."
        )
    if not raw:
        raise JwkError(f"The {kty} JSON Web Key member {name!r} is empty.")
    return raw


def _required(jwk: Mapping[str, object], name: str, kty: str) -> bytes:
    value = _member(jwk, name, kty)
    if value is None:
        raise JwkError(f"The {kty} JSON Web Key has no {name!r} member.")
    return value


def _rsa_from_jwk(jwk: Mapping[str, object]) -> rsa.RSAPrivateKey | rsa.RSAPublicKey:
    kty = str(jwk["kty"])
    n_bytes = _required(jwk, "n", kty)
    n = int.from_bytes(n_bytes, "big")
    e = int.from_bytes(_required(jwk, "e", kty), "big")
    bits = n.bit_length()
    if not _RSA_MIN_IMPORT_BITS <= bits <= _RSA_MAX_IMPORT_BITS:
        raise JwkError(f"The {kty} JSON Web Key modulus 'n' has {bits} bits; expected 1024 to 16384.")
    if len(n_bytes) - (bits + 7) // 8 > 1:
        raise JwkError(f"The {kty} JSON Web Key modulus 'n' has {len(n_bytes)} bytes for a {bits}-bit modulus.")
    public = rsa.RSAPublicNumbers(e, n)
    d_bytes = _member(jwk, "d", kty)
    extras = {name: _member(jwk, name, kty) for name in _RSA_PRIVATE_MEMBERS}
    if d_bytes is None:
        present = [name for name, value in extras.items() if value is not None]
        if present:
            raise JwkError(f"The {kty} JSON Web Key has private members {present} but no 'd'.")
        try:
            return public.public_key()
        except ValueError as exc:
            raise JwkError(f"The {kty} JSON Web Key has an invalid public key: {exc}") from None
    d = int.from_bytes(d_bytes, "big")
    missing = [name for name, value in extras.items() if value is None]
    try:
        if len(missing) == len(extras):
            # Only n, e, d: recover the primes, as RFC 7518 section 6.3.2 allows.
            p, q = rsa.rsa_recover_prime_factors(n, e, d)
        elif missing:
            raise JwkError(f"The {kty} JSON Web Key is missing private members {missing}.")
        else:
            p = int.from_bytes(extras["p"] or b"", "big")
            q = int.from_bytes(extras["q"] or b"", "big")
        if "dp" in missing:
            dmp1, dmq1, iqmp = rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q)
        else:
            dmp1, dmq1, iqmp = (int.from_bytes(extras[name] or b"", "big") for name in ("dp", "dq", "qi"))
        return rsa.RSAPrivateNumbers(p, q, d, dmp1, dmq1, iqmp, public).private_key()
    except JwkError:
        raise
    except ValueError:
        raise JwkError(f"The {kty} JSON Web Key's private members do not form a valid RSA key.") from None


def _ec_from_jwk(jwk: Mapping[str, object]) -> ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey:
    kty = str(jwk["kty"])
    if jwk.get("crv") is None:
        raise JwkError(f"The {kty} JSON Web Key has no 'crv' member.")
    try:
        crv = _normalise_curve(jwk["crv"])
    except InvalidKeyError as exc:
        raise JwkError(str(exc)) from None
    curve_cls, length = CURVES[crv]
    values: dict[str, int] = {}
    for name in ("x", "y", "d"):
        raw = _required(jwk, name, kty) if name != "d" else _member(jwk, name, kty)
        if raw is None:
            continue
        if len(raw) != length:
            raise JwkError(f"The {kty} {crv} JSON Web Key member {name!r} must be {length} bytes, not {len(raw)}.")
        values[name] = int.from_bytes(raw, "big")
    public = ec.EllipticCurvePublicNumbers(values["x"], values["y"], curve_cls())
    try:
        public_key = public.public_key()
    except ValueError:
        raise JwkError(f"The {kty} JSON Web Key's point (x, y) is not on curve {crv}.") from None
    if "d" not in values:
        return public_key
    try:
        private_key = ec.derive_private_key(values["d"], curve_cls())
    except ValueError:
        raise JwkError(f"The {kty} JSON Web Key's private value 'd' is out of range for curve {crv}.") from None
    if private_key.public_key().public_numbers() != public_key.public_numbers():
        raise JwkError(f"The {kty} JSON Web Key's private value 'd' does not match its public point (x, y).")
    return private_key
