"""Errors of certificates, their policies, issuers and pending operations (kvconfig/fake/certificates/)."""

from __future__ import annotations

from kvconfig.fake.core.errors._base import Error, ServiceErrorBase

__all__ = ["CertificateErrors"]


class CertificateErrors(ServiceErrorBase):
    """Errors of certificates, their policies, issuers and pending operations (kvconfig/fake/certificates/)."""

    # [R] marks wording seen from the real service (operations.md §3.2, or a user's report of the service's
    # answer); [I] marks wording inferred from the service's patterns.

    @classmethod
    def pending_certificate_not_found(cls: type[Error], name: str) -> Error:
        # The current service capitalises Certificate (2020 recordings: "Pending certificate not found: x").
        return cls(404, "PendingCertificateNotFound", f"Pending Certificate not found: {name}")

    @classmethod
    def certificate_issuer_not_found(cls: type[Error]) -> Error:
        return cls(404, "CertificateIssuerNotFound", "Issuer not found")  # [R]

    @classmethod
    def contacts_not_found(cls: type[Error]) -> Error:
        return cls(404, "ContactsNotFound", "Contacts not found")  # [R]

    @classmethod
    def certificate_operation_in_progress(cls: type[Error], name: str) -> Error:
        # [I] a second create while the first is pending; no recording has it.
        return cls(
            409,
            "Conflict",
            f"Certificate {name} has a pending operation in progress; wait for it to finish, or cancel or delete it "
            "before creating a new version.",
        )

    @classmethod
    def unknown_certificate_issuer(cls: type[Error], issuer: str) -> Error:
        # [I] a policy naming an issuer that is neither Self, Unknown nor set in the vault; no recording has it.
        return cls(
            400,
            "BadParameter",
            f"Issuer '{issuer}' is not found in this vault. Use 'Self' or 'Unknown', or set the issuer first.",
        )

    @classmethod
    def unreadable_pkcs12(cls: type[Error]) -> Error:
        # [R] the service's answer to PFX content it cannot open, wrong or missing passwords included
        return cls(
            400,
            "BadParameter",
            "The specified PKCS#12 X.509 certificate content can not be read. Please check if certificate is in "
            "valid PKCS#12 format.",
        )

    @classmethod
    def merge_key_mismatch(cls: type[Error]) -> Error:
        # [I] no recording has it (the recorded merges all succeed).
        return cls(
            400,
            "BadParameter",
            "Public key from x5c does not match the public key of the pending certificate request (CSR).",
        )

    @classmethod
    def nothing_to_merge(cls: type[Error], name: str) -> Error:
        # [I] merge on an operation that is not waiting for a certificate; no recording has it.
        return cls(
            400,
            "BadParameter",
            f"The pending operation of certificate {name} is not waiting for a certificate to merge.",
        )

    @classmethod
    def name_used_by_other_kind(cls: type[Error], kind: str, name: str) -> Error:
        # [I] a certificate's backing key and secret take its name; no recording has it.
        return cls(
            409,
            "Conflict",
            f"A {kind} with the name {name} already exists and does not back a certificate; a certificate needs "
            "its name for its backing key and secret.",
        )

    @classmethod
    def release_policy_not_met(cls: type[Error]) -> Error:
        # [I] no recording has it; the SDK tests quote only the unverifiable-attestation answer above.
        return cls(
            403,
            "Forbidden",
            "Target environment attestation statement does not meet the key release policy requirements.",
            inner="AccessDenied",
        )

    @classmethod
    def key_attestation_unavailable(cls: type[Error]) -> Error:
        # [I] no recording has it.
        return cls(400, "BadParameter", "Key attestation is only available for HSM-protected keys.")
