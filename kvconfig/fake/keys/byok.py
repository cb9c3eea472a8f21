"""Bring Your Own Key: the key-exchange key (KEK) rules and unwrapping a key transfer blob on Import Key.

``az keyvault key import --byok-file`` (and the vendors' BYOK tools) send the ``.byok`` file as it is, in the JWK's
``key_hsm`` member, with ``kty`` ``RSA-HSM``/``EC-HSM``/``oct-HSM``. The file is JSON: ``header.kid`` names the KEK
(an ``RSA-HSM`` key of the same vault whose only operation is ``import``), ``header.enc`` is
``CKM_RSA_AES_KEY_WRAP``, and ``ciphertext`` (base64url) is an ephemeral AES key under RSA-OAEP with SHA-1 (as the
BYOK specification says) followed by the target key under AES key wrap with padding (RFC 5649): PKCS#8 DER for RSA
and EC keys, the raw bytes for an AES key (Managed HSM only). The fake really unwraps it with the KEK's private key.

The service's wordings for a refused blob are not in any recording we have: the messages here are ours ([I]).
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from kvconfig.crypto._jwk import KeyMaterial
from kvconfig.crypto.errors import InvalidKeyError
from kvconfig.fake.core.errors import ServiceError
from kvconfig.fake.core.state import Vault
from kvconfig.fake.core.wire import b64url_decode
from kvconfig.fake.keys.store import key_id, key_store

__all__ = ["KEK_SIZES", "MAX_TRANSFER_BLOB_BYTES", "check_key_exchange_key", "unwrap_transfer_blob"]

KEK_SIZES = (2048, 3072, 4096)
MAX_TRANSFER_BLOB_BYTES = 64 * 1024
_ENC = "CKM_RSA_AES_KEY_WRAP"


def check_key_exchange_key(kty: str, size: int, key_ops: list[str] | None) -> None:
    """Refuse a key asked for with ``import`` that cannot be a KEK: an RSA-HSM key of 2048, 3072 or 4096 bits whose
    only operation is ``import``."""
    if not key_ops or "import" not in key_ops:
        return
    if kty != "RSA-HSM" or size not in KEK_SIZES:
        raise ServiceError.bad_parameter(
            "A key with the 'import' operation is a key exchange key: it must be an RSA-HSM key of 2048, 3072 or "
            "4096 bits."
        )
    if key_ops != ["import"]:
        raise ServiceError.bad_parameter("A key exchange key allows the 'import' operation only.")


def _invalid(reason: str) -> ServiceError:
    return ServiceError.bad_parameter(f"The BYOK key transfer blob (key_hsm) is not valid: {reason}")


def _transfer_blob(raw: object) -> tuple[str, bytes]:
    """(KEK id, ciphertext) of the ``.byok`` JSON in ``key_hsm``."""
    if not isinstance(raw, str) or not raw:
        raise _invalid("key_hsm must be base64url text.")
    if len(raw) > MAX_TRANSFER_BLOB_BYTES * 4 // 3 + 4:
        raise _invalid(f"it is larger than {MAX_TRANSFER_BLOB_BYTES} bytes.")
    try:
        document = json.loads(b64url_decode(raw))
    except (ValueError, RecursionError):
        raise _invalid("key_hsm does not hold a JSON key transfer blob.") from None
    header = document.get("header") if isinstance(document, dict) else None
    if not isinstance(header, dict):
        raise _invalid("the blob has no header.")
    if header.get("enc") != _ENC:
        raise _invalid(f"header.enc must be '{_ENC}', not {str(header.get('enc'))[:64]!r}.")
    kid, ciphertext = header.get("kid"), document.get("ciphertext")
    if not isinstance(kid, str) or not kid:
        raise _invalid("header.kid must name the key exchange key.")
    if not isinstance(ciphertext, str):
        raise _invalid("the blob has no ciphertext.")
    try:
        return kid, b64url_decode(ciphertext)
    except ValueError:
        raise _invalid("the ciphertext is not base64url.") from None


def _key_exchange_key(vault: Vault, kid: str) -> rsa.RSAPrivateKey:
    """The private key of the KEK ``kid`` names: a key of this vault (latest version when none is named)."""
    prefix = f"{vault.url}/keys/".lower()
    if not kid.lower().startswith(prefix):
        raise _invalid(f"the key exchange key {kid[:256]} is not a key of this vault.")
    name, _, version = kid[len(prefix) :].strip("/").partition("/")
    with vault.lock:
        obj = key_store(vault).get(name)
        found = obj.get(version or None) if obj is not None else None
    if found is None:
        raise ServiceError.object_not_found("key", name, version or None)
    key = found.material.key
    if found.material.kty != "RSA-HSM" or found.key_ops != ["import"] or not isinstance(key, rsa.RSAPrivateKey):
        raise _invalid(
            f"{key_id(vault, name, found.version)} is not a key exchange key (an RSA-HSM key whose only operation is "
            "'import')."
        )
    if not found.attributes.enabled:
        raise ServiceError.key_disabled("import")
    return key


def unwrap_transfer_blob(vault: Vault, jwk: dict[str, Any], kty: str) -> KeyMaterial:
    """The target key of a BYOK Import Key request, unwrapped with the vault's key exchange key."""
    kid, ciphertext = _transfer_blob(jwk.get("key_hsm"))
    kek = _key_exchange_key(vault, kid)
    split = kek.key_size // 8
    if len(ciphertext) <= split:
        raise _invalid("the ciphertext is shorter than the key exchange key's modulus.")
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    try:
        aes_key = kek.decrypt(ciphertext[:split], oaep)
        plaintext = keywrap.aes_key_unwrap_with_padding(aes_key, ciphertext[split:])
    except (ValueError, keywrap.InvalidUnwrap):
        raise _invalid("it was not wrapped for this key exchange key (RSA-OAEP/SHA-1, then AES key wrap).") from None
    target: Any
    if kty.startswith("oct"):
        target = plaintext
    else:
        try:
            target = serialization.load_der_private_key(plaintext, password=None)
        except (ValueError, TypeError):
            raise _invalid("the wrapped key is not a PKCS#8 private key.") from None
        if not isinstance(target, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            raise _invalid("the wrapped key is neither an RSA nor an EC key.")
    try:
        material = KeyMaterial(target, kty=kty)
    except InvalidKeyError as exc:
        raise _invalid(str(exc)) from None
    curve = jwk.get("crv")
    if curve is not None and material.curve != curve:
        raise _invalid(f"the wrapped key is on {material.curve}, not {str(curve)[:16]}.")
    return material
