"""Errors of keys and cryptographic operations (kvconfig/fake/keys/)."""

from __future__ import annotations

from kvconfig.fake.core.errors._base import Error, ServiceErrorBase

__all__ = ["KeyErrors"]


class KeyErrors(ServiceErrorBase):
    """Errors of keys and cryptographic operations (kvconfig/fake/keys/)."""

    # [R] = wording seen from the real service (operations.md §3.2, Azure SDK troubleshooting guides, az CLI output);
    # [I] = inferred from the service's patterns, not observed.

    @classmethod
    def key_disabled(cls: type[Error], operation: str) -> Error:
        # [R] from a user's report of the live service, not a recording: azure-sdk-for-python#45342 quotes "403
        # Forbidden: Operation X is not allowed on a disabled key (KeyDisabled)" for decrypt, sign and unwrapKey. GET
        # of a disabled key is not refused at all (.NET session record KeyClientLiveTests/UpdateEcHsmKeyEnabled).
        return cls(403, "Forbidden", f"Operation {operation} is not allowed on a disabled key.", inner="KeyDisabled")

    @classmethod
    def key_operation_forbidden(cls: type[Error], operation: str) -> Error:
        # [R] Azure SDK troubleshooting guides quote this answer for an operation missing from key_ops.
        return cls(
            403, "Forbidden", f"Operation {operation} is not permitted on this key.", inner="KeyOperationForbidden"
        )

    @classmethod
    def key_not_active(cls: type[Error], operation: str, *, expired: bool) -> Error:
        # [I] encrypt, sign and wrapKey honour nbf/exp on the service (azure-sdk-for-net#7677); no recording has it.
        when = "an expired key" if expired else "a key that is not yet valid"
        return cls(
            403,
            "Forbidden",
            f"Operation {operation} is not allowed on {when}.",
            inner="KeyExpired" if expired else "KeyNotYetValid",
        )

    @classmethod
    def hardware_key_not_allowed(cls: type[Error]) -> Error:
        # [R] message (az CLI, SDK live tests); [I] status and code: no recording has the whole answer.
        return cls(400, "BadParameter", "Hardware key operation not allowed on standard vault")

    @classmethod
    def key_type_not_supported(cls: type[Error], kty: str) -> Error:
        # [I] symmetric keys exist only in Managed HSM; no recording has a vault's answer.
        return cls(400, "BadParameter", f"Key type {kty} is not supported by this vault; oct keys need a Managed HSM.")

    @classmethod
    def exportable_needs_release_policy(cls: type[Error]) -> Error:
        return cls(400, "BadParameter", "Exportable keys must have release policy")  # [R]

    @classmethod
    def release_policy_needs_exportable(cls: type[Error]) -> Error:
        return cls(400, "BadParameter", "Non-exportable keys must not have release policy")  # [R]

    @classmethod
    def immutable_release_policy(cls: type[Error]) -> Error:
        return cls(400, "BadParameter", "AKV.SKR.1020: Immutable Key Release Policy cannot be modified.")  # [R]

    @classmethod
    def oct_key_too_large(cls: type[Error]) -> Error:
        return cls(400, "BadParameter", "JSON Web Key: k property of oct key is too large, maximum size is 64")  # [R]

    @classmethod
    def random_bytes_count(cls: type[Error]) -> Error:
        return cls(400, "BadParameter", "GetRandomBytesRequest: count cannot be greater than 128 or less than 1")  # [R]

    @classmethod
    def key_not_exportable(cls: type[Error], name: str) -> Error:
        # [I] no recording has it.
        return cls(
            400,
            "BadParameter",
            f"Key {name} is not exportable: only exportable keys with a release policy can be released.",
        )

    @classmethod
    def attestation_not_verified(cls: type[Error]) -> Error:
        # [R] status, code, inner code and message as the Azure SDK's own tests quote the service's live answer
        # (azure-sdk-for-net KeyClientLiveTests' IgnoreServiceError(403, "Forbidden", ...) and its mock with innererror
        # AccessDenied, azure-sdk-for-net#27957; azure-sdk-for-go azkeys tests skip on the same text); not a recording.
        # The service says no more than this, so neither does the fake (which reads the token's claims only).
        return cls(
            403, "Forbidden", "Target environment attestation statement cannot be verified.", inner="AccessDenied"
        )
