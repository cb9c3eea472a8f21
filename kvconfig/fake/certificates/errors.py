"""Errors of the fake's X.509 layer: policies the service refuses and certificate bytes it cannot use.

All are ``ValueError`` so a caller may treat them as bad input; the certificate operations answer each as
400 ``BadParameter`` with its message::

    ValueError
    ├── PolicyError                   a policy the service would refuse
    └── CertificateMaterialError      certificate bytes the service cannot use (import, merge)
        ├── CertificateFormatError    not PKCS#12, PEM or DER at all, or a key type Key Vault does not hold
        ├── BadPasswordError          a PKCS#12 file whose password is wrong or missing
        ├── MissingPrivateKeyError    certificates without their private key
        └── KeyMismatchError          a private key that belongs to none of the certificates

Messages never quote passwords or key material.
"""

from __future__ import annotations

__all__ = [
    "BadPasswordError",
    "CertificateFormatError",
    "CertificateMaterialError",
    "KeyMismatchError",
    "MissingPrivateKeyError",
    "PolicyError",
    "invalid_property",
]


class PolicyError(ValueError):
    """A certificate policy the service would refuse; the operations answer it as 400 ``BadParameter``.

    ``property`` names the offending wire property (``"key_props.key_size"``) when there is one.
    """

    code = "BadParameter"

    def __init__(self, message: str, *, property: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.property = property
        # What a person fixing a seed file needs beyond the service's words (which can be terse).
        self.reason: str | None = None


class CertificateMaterialError(ValueError):
    """Certificate bytes (imported or merged) the service cannot use; answered as 400 ``BadParameter``."""

    code = "BadParameter"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CertificateFormatError(CertificateMaterialError):
    """Not PKCS#12, PEM or DER certificate material, or a key type Key Vault certificates cannot hold."""


class BadPasswordError(CertificateMaterialError):
    """A PKCS#12 file that does not open with the given password (or without one)."""


class MissingPrivateKeyError(CertificateMaterialError):
    """Certificate material without the private key that import requires."""


class KeyMismatchError(CertificateMaterialError):
    """A private key whose public half is in none of the certificates given with it."""


def invalid_property(prop: str, detail: str | None = None) -> PolicyError:
    """A rejected policy value, in the service's wording ("Property {name} has invalid value")."""
    # "Property {name} has invalid value" is the service's wording for a rejected policy value.
    message = f"Property {prop} has invalid value"
    return PolicyError(f"{message}: {detail}" if detail else message, property=prop)
