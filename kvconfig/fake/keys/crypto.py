"""Cryptographic key operations (encrypt, decrypt, sign, verify, wrapKey, unwrapKey), key release, key
attestation and random bytes.

The arithmetic is :mod:`kvconfig.crypto`'s; this module adds the service's rules around it: the key must be
enabled, the operation listed in its ``key_ops``, and encrypt, sign and wrapKey refuse a key outside its
``nbf``/``exp`` window (decrypt, verify and unwrapKey keep working, so data is never locked in). Sign and verify
take the digest, never the message. Errors of :mod:`kvconfig.crypto` become the service's 400 BadParameter.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from kvconfig.crypto import _algorithms
from kvconfig.crypto._jwk import KeyMaterial, generate_key, key_from_jwk
from kvconfig.crypto.errors import (
    CryptoError,
    DecryptionError,
    InvalidInputError,
    InvalidKeyError,
    KeyOperationError,
    UnsupportedAlgorithmError,
)
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.routing import OperationContext
from kvconfig.fake.core.state import Versioned
from kvconfig.fake.core.wire import b64url_decode, b64url_encode
from kvconfig.fake.keys.store import KeyVersion, bundle, key_id, key_version

__all__ = [
    "RELEASE_ENCRYPTION_ALGORITHMS",
    "decrypt",
    "encrypt",
    "get_key_attestation",
    "get_random_bytes",
    "release",
    "sign",
    "unwrap_key",
    "verify",
    "wrap_key",
]

# Operations that make new ciphertext or signatures: the service refuses them outside the key's nbf/exp window.
_NEEDS_ACTIVE_KEY = frozenset({"encrypt", "sign", "wrapKey"})
MAX_RANDOM_BYTES = 128

# KeyEncryptionAlgorithm: the RSA-OAEP hash that wraps the ephemeral AES key (then AES key wrap with padding).
RELEASE_ENCRYPTION_ALGORITHMS: dict[str, type[hashes.HashAlgorithm]] = {
    "CKM_RSA_AES_KEY_WRAP": hashes.SHA1,
    "RSA_AES_KEY_WRAP_256": hashes.SHA256,
    "RSA_AES_KEY_WRAP_384": hashes.SHA384,
}
_SIGNING_KEY = "keys.release_signing_key"
_ATTESTATION_CA = "keys.attestation_ca"

T = TypeVar("T")


# -- the shared checks ---------------------------------------------------------------------------------------------


def _usable_version(ctx: OperationContext, operation: str) -> tuple[Versioned[KeyVersion], KeyVersion]:
    with ctx.vault.lock:
        obj, version = key_version(ctx.vault, ctx.param("name"), ctx.param("version"))
    attrs = version.attributes
    if not attrs.enabled:
        raise ServiceError.key_disabled(operation)
    if operation not in version.key_ops:
        raise ServiceError.key_operation_forbidden(operation)
    if operation in _NEEDS_ACTIVE_KEY and not attrs.active_at(ctx.now):
        raise ServiceError.key_not_active(operation, expired=attrs.exp is not None and ctx.now >= attrs.exp)
    return obj, version


def _bytes_field(body: dict[str, Any], name: str, *, required: bool = False) -> bytes | None:
    raw = body.get(name)
    if raw is None:
        if required:
            raise ServiceError.missing_field(name)
        return None
    if not isinstance(raw, str):
        raise ServiceError.bad_parameter(f"The property '{name}' must be a base64url string.")
    try:
        return b64url_decode(raw)
    except ValueError:
        raise ServiceError.bad_parameter(f"The property '{name}' is not valid base64url.") from None


def _required_bytes(body: dict[str, Any], name: str) -> bytes:
    value = _bytes_field(body, name, required=True)
    assert value is not None
    return value


def _algorithm(body: dict[str, Any]) -> str:
    alg = body.get("alg")
    if alg is None:
        raise ServiceError.missing_field("alg")
    if not isinstance(alg, str):
        raise ServiceError.bad_parameter("The property 'alg' must be a string.")
    return alg


@contextmanager
def _as_service_errors(operation: str) -> Iterator[None]:
    """Turn kvconfig.crypto's typed errors into the service's answers (their messages carry no key material)."""
    try:
        yield
    except KeyOperationError:
        raise ServiceError.key_operation_forbidden(operation) from None
    except (UnsupportedAlgorithmError, InvalidInputError, InvalidKeyError, DecryptionError) as exc:
        raise ServiceError.bad_parameter(str(exc)) from None
    except CryptoError as exc:  # pragma: no cover - every family is mapped above
        raise ServiceError.bad_parameter(str(exc)) from None


def _run(operation: str, compute: Callable[[], T]) -> T:
    with _as_service_errors(operation):
        return compute()


def _result(
    ctx: OperationContext, obj: Versioned[KeyVersion], version: KeyVersion, value: bytes, alg: str
) -> dict[str, Any]:
    wire = {"kid": key_id(ctx.vault, obj.name, version.version), "value": b64url_encode(value)}
    if _on_hsm(ctx):
        wire["alg"] = alg  # Managed HSM's answers name the algorithm beside kid and value (recorded answers)
    return wire


def _on_hsm(ctx: OperationContext) -> bool:
    return ctx.vault.properties.kind == "managedhsm"


def _aad_for(ctx: OperationContext, alg: str, aad: bytes | None) -> bytes | None:
    # Managed HSM ignores additional authenticated data for the AES-CBC algorithms (which have no use for it) where
    # Key Vault and the local crypto refuse it; only AES-GCM reads it.
    if aad is not None and _on_hsm(ctx) and "CBC" in alg.upper():
        return None
    return aad


# -- encrypt, decrypt, sign, verify, wrapKey, unwrapKey ------------------------------------------------------------


def encrypt(ctx: OperationContext) -> dict[str, Any]:
    """Encrypt: POST /keys/{key-name}/{key-version}/encrypt"""
    body = ctx.body()
    obj, version = _usable_version(ctx, "encrypt")
    alg, plaintext = _algorithm(body), _required_bytes(body, "value")
    iv, aad = _bytes_field(body, "iv"), _aad_for(ctx, alg, _bytes_field(body, "aad"))
    result = _run("encrypt", lambda: _algorithms.encrypt(version.material, alg, plaintext, iv=iv, aad=aad))
    wire = _result(ctx, obj, version, result.ciphertext, alg)
    for name in ("iv", "tag", "aad"):
        value = getattr(result, name)
        if value is not None:
            wire[name] = b64url_encode(value)
    return wire


def decrypt(ctx: OperationContext) -> dict[str, Any]:
    """Decrypt: POST /keys/{key-name}/{key-version}/decrypt"""
    body = ctx.body()
    obj, version = _usable_version(ctx, "decrypt")
    alg, ciphertext = _algorithm(body), _required_bytes(body, "value")
    iv, tag = _bytes_field(body, "iv"), _bytes_field(body, "tag")
    aad = _aad_for(ctx, alg, _bytes_field(body, "aad"))
    plaintext = _run("decrypt", lambda: _algorithms.decrypt(version.material, alg, ciphertext, iv=iv, aad=aad, tag=tag))
    return _result(ctx, obj, version, plaintext, alg)


def sign(ctx: OperationContext) -> dict[str, Any]:
    """Sign: POST /keys/{key-name}/{key-version}/sign"""
    body = ctx.body()
    obj, version = _usable_version(ctx, "sign")
    alg, digest = _algorithm(body), _required_bytes(body, "value")
    return _result(ctx, obj, version, _run("sign", lambda: _algorithms.sign(version.material, alg, digest)), alg)


def verify(ctx: OperationContext) -> dict[str, Any]:
    """Verify: POST /keys/{key-name}/{key-version}/verify"""
    body = ctx.body()
    obj, version = _usable_version(ctx, "verify")
    alg = _algorithm(body)
    digest = _required_bytes(body, "digest")
    signature = _required_bytes(body, "value")
    wire: dict[str, Any] = {
        "value": _run("verify", lambda: _algorithms.verify(version.material, alg, digest, signature))
    }
    if _on_hsm(ctx):
        wire = {"kid": key_id(ctx.vault, obj.name, version.version), **wire}  # Managed HSM names the key
    return wire


def wrap_key(ctx: OperationContext) -> dict[str, Any]:
    """Wrap Key: POST /keys/{key-name}/{key-version}/wrapkey"""
    body = ctx.body()
    obj, version = _usable_version(ctx, "wrapKey")
    alg, key = _algorithm(body), _required_bytes(body, "value")
    return _result(ctx, obj, version, _run("wrapKey", lambda: _algorithms.wrap_key(version.material, alg, key)), alg)


def unwrap_key(ctx: OperationContext) -> dict[str, Any]:
    """Unwrap Key: POST /keys/{key-name}/{key-version}/unwrapkey"""
    body = ctx.body()
    obj, version = _usable_version(ctx, "unwrapKey")
    alg, wrapped = _algorithm(body), _required_bytes(body, "value")
    unwrapped = _run("unwrapKey", lambda: _algorithms.unwrap_key(version.material, alg, wrapped))
    return _result(ctx, obj, version, unwrapped, alg)


# -- random bytes ----------------------------------------------------------------------------------------------


def get_random_bytes(ctx: OperationContext) -> dict[str, Any]:
    """Get Random Bytes: POST /rng"""
    count = ctx.body().get("count")
    if count is None:
        raise ServiceError.missing_field("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_RANDOM_BYTES:
        raise ServiceError.random_bytes_count()
    return {"value": b64url_encode(os.urandom(count))}


# -- release -------------------------------------------------------------------------------------------------------


def _jwt_claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise ServiceError.attestation_not_verified()  # the target is not a JSON Web Token
    try:
        claims = json.loads(b64url_decode(parts[1]))
    except (ValueError, RecursionError):
        raise ServiceError.attestation_not_verified() from None  # its claims are not base64url JSON
    if not isinstance(claims, dict):
        raise ServiceError.attestation_not_verified()  # its claims are not a JSON object
    return claims


def _claim(claims: dict[str, Any], path: str) -> object:
    if path in claims:
        return claims[path]
    found: object = claims
    for part in path.split("."):
        if not isinstance(found, dict) or part not in found:
            return None
        found = found[part]
    return found


def _condition_holds(claims: dict[str, Any], condition: dict[str, Any]) -> bool:
    actual = _claim(claims, str(condition.get("claim", "")))
    if "equals" in condition:
        expected: object = condition["equals"]
    elif condition.get("condition", "equals") == "equals":
        expected = condition.get("value")
    else:
        return False
    if isinstance(expected, str) and not isinstance(actual, str):
        actual = json.dumps(actual) if isinstance(actual, bool) else str(actual)
    return actual == expected


def _policy_allows(policy: dict[str, Any], claims: dict[str, Any]) -> bool:
    """The release policy's ``anyOf`` of ``allOf`` equality conditions against the token's claims and issuer."""
    issuer = str(claims.get("iss", "")).rstrip("/")
    for branch in policy.get("anyOf", []):
        if not isinstance(branch, dict):
            continue
        authority = str(branch.get("authority", "")).rstrip("/")
        if authority and authority != issuer:
            continue
        conditions = branch.get("allOf", [])
        if all(isinstance(c, dict) and _condition_holds(claims, c) for c in conditions):
            return True
    return False


def _runtime_key(claims: dict[str, Any]) -> tuple[str, rsa.RSAPublicKey]:
    runtime = _claim(claims, "x-ms-runtime")
    keys = runtime.get("keys") if isinstance(runtime, dict) else None
    for candidate in keys if isinstance(keys, list) else []:
        if isinstance(candidate, dict) and candidate.get("kty") == "RSA":
            try:
                material = key_from_jwk({k: v for k, v in candidate.items() if k in ("kty", "n", "e")})
            except InvalidKeyError:
                continue
            public = material.key
            if isinstance(public, rsa.RSAPublicKey):
                return str(candidate.get("kid", "")), public
    raise ServiceError.attestation_not_verified()  # no RSA key in x-ms-runtime.keys to wrap the key for


def _private_bytes(material: KeyMaterial) -> bytes:
    key = material.key
    if isinstance(key, bytes):
        return key
    if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        return key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    raise ServiceError.bad_parameter("The key has no private part to release.")  # pragma: no cover


def wrap_for_release(material: KeyMaterial, wrapping_key: rsa.RSAPublicKey, enc: str) -> bytes:
    """RSA-AES key wrap (PKCS#11 CKM_RSA_AES_KEY_WRAP): a fresh AES-256 key under RSA-OAEP, then the private key
    (PKCS#8 DER, or the raw AES key) under AES key wrap with padding (RFC 5649)."""
    hash_cls = RELEASE_ENCRYPTION_ALGORITHMS[enc]
    ephemeral = os.urandom(32)
    oaep = padding.OAEP(mgf=padding.MGF1(hash_cls()), algorithm=hash_cls(), label=None)
    return wrapping_key.encrypt(ephemeral, oaep) + keywrap.aes_key_wrap_with_padding(
        ephemeral, _private_bytes(material)
    )


def _signing_key(ctx: OperationContext) -> KeyMaterial:
    return cast(KeyMaterial, ctx.vault.extension(_SIGNING_KEY, lambda: generate_key("RSA", size=2048)))


def _jws(ctx: OperationContext, payload: dict[str, Any]) -> str:
    signer = _signing_key(ctx)
    header = {"alg": "RS256", "jwk": signer.public_jwk(kid=f"{ctx.vault.url}/release-signing-key")}
    signing_input = (
        b64url_encode(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url_encode(json.dumps(payload, separators=(",", ":")).encode())
    )
    key = signer.key
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url_encode(signature)}"


def release(ctx: OperationContext) -> dict[str, Any]:
    """Release: POST /keys/{key-name}/{key-version}/release

    The fake cannot verify a real attestation: it takes the target token's claims at face value, checks them (and
    ``iss``) against the key's release policy, and wraps the private key for the first RSA key of the token's
    ``x-ms-runtime.keys``. The answer is a JWS (signed by a per-vault fake key, given in its ``jwk`` header) whose
    payload holds the key bundle with the wrapped key in ``key.key_hsm``.
    """
    body = ctx.body()
    target = body.get("target")
    if not isinstance(target, str) or not target:
        raise ServiceError.missing_field("target")
    enc = body.get("enc") or "CKM_RSA_AES_KEY_WRAP"
    if not isinstance(enc, str) or enc not in RELEASE_ENCRYPTION_ALGORITHMS:
        raise ServiceError.bad_parameter(
            f"The key encryption algorithm '{enc}' is not valid; use one of {', '.join(RELEASE_ENCRYPTION_ALGORITHMS)}."
        )
    nonce = body.get("nonce")
    with ctx.vault.lock:
        obj, version = key_version(ctx.vault, ctx.param("name"), ctx.param("version"))
    if not version.attributes.enabled:
        raise ServiceError.key_disabled("release")
    if not version.exportable or version.release_policy is None:
        raise ServiceError.key_not_exportable(obj.name)
    claims = _jwt_claims(target)
    try:
        policy = json.loads(version.release_policy.data)
    except ValueError:  # pragma: no cover - validated when stored
        policy = {}
    if not isinstance(policy, dict) or not _policy_allows(policy, claims):
        raise ServiceError.release_policy_not_met()
    runtime_kid, wrapping_key = _runtime_key(claims)
    kid = key_id(ctx.vault, obj.name, version.version)
    key_hsm = {
        "schema_version": "1.0",
        "header": {"kid": runtime_kid, "alg": "dir", "enc": enc},
        "ciphertext": b64url_encode(wrap_for_release(version.material, wrapping_key, enc)),
        "generator": "kvconfig-fake",
    }
    released = bundle(ctx, obj, version)
    released["key"] = {
        "kid": kid,
        "kty": version.material.kty,
        "key_ops": version.key_ops,
        "key_hsm": b64url_encode(json.dumps(key_hsm).encode()),
    }
    request: dict[str, Any] = {"api-version": ctx.api_version, "enc": enc, "kid": kid}
    if isinstance(nonce, str):
        request["nonce"] = nonce
    return {"value": _jws(ctx, {"request": request, "response": {"key": released}})}


# -- attestation ---------------------------------------------------------------------------------------------------


def _attestation_ca(ctx: OperationContext) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    def make() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP384R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kvconfig fake HSM attestation")])
        start = datetime(2000, 1, 1, tzinfo=timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=365 * 100))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA384())
        )
        return cert, key

    return cast(tuple[x509.Certificate, ec.EllipticCurvePrivateKey], ctx.vault.extension(_ATTESTATION_CA, make))


def get_key_attestation(ctx: OperationContext) -> dict[str, Any]:
    """Get Key Attestation: GET /keys/{key-name}/{key-version}/attestation

    HSM-protected keys only. The blobs have the service's shape but are the fake's own: a CA certificate (PEM) and
    statements about the public key and the private key, each signed by that CA (ECDSA P-384, SHA-384).
    """
    with ctx.vault.lock:
        obj, version = key_version(ctx.vault, ctx.param("name"), ctx.param("version"))
    if not version.attributes.enabled:
        raise ServiceError.key_disabled("get")
    if not version.hsm:
        raise ServiceError.key_attestation_unavailable()
    kid = key_id(ctx.vault, obj.name, version.version)
    with ctx.vault.lock:
        # Properties of the version, made once: the service answers the same blobs every time it is asked.
        if version.attestation is None:
            version.attestation = _attestation(ctx, kid, version)
        attestation = dict(version.attestation)
    wire = bundle(ctx, obj, version)
    wire["attributes"]["hsmPlatform"] = "2"
    wire["attributes"]["attestation"] = attestation
    return wire


def _attestation(ctx: OperationContext, kid: str, version: KeyVersion) -> dict[str, str]:
    cert, ca_key = _attestation_ca(ctx)

    def statement(kind: str) -> str:
        claims = json.dumps(
            {"kid": kid, "attests": kind, "key": version.material.public_jwk()}, sort_keys=True
        ).encode()
        signature = ca_key.sign(claims, ec.ECDSA(hashes.SHA384()))
        return b64url_encode(len(claims).to_bytes(4, "big") + claims + signature)

    return {
        "certificatePemFile": b64url_encode(cert.public_bytes(serialization.Encoding.PEM)),
        "privateKeyAttestation": statement("private"),
        "publicKeyAttestation": statement("public"),
        "version": "1.0",
    }
