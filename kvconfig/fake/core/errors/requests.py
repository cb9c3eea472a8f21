"""Errors about the request itself and its authentication: api-version, body, route, token."""

from __future__ import annotations

from kvconfig.fake.core.errors._base import Error, ServiceErrorBase

__all__ = ["RequestErrors"]


class RequestErrors(ServiceErrorBase):
    """Errors about the request itself and its authentication: api-version, body, route, token."""

    @classmethod
    def bad_parameter(cls: type[Error], message: str) -> Error:
        return cls(400, "BadParameter", message)

    @classmethod
    def invalid_name(cls: type[Error], name: str) -> Error:
        return cls(400, "BadParameter", f"The request URI contains an invalid name: {name}")

    @classmethod
    def missing_api_version(cls: type[Error]) -> Error:
        return cls(400, "BadParameter", "The 'api-version' query parameter is missing or empty.")

    @classmethod
    def unknown_api_version(cls: type[Error], version: str, latest: str) -> Error:
        return cls(
            400,
            "BadParameter",
            f"The specified version ({version}) is not recognized. Consider using the latest supported version "
            f"({latest}).",
        )

    @classmethod
    def malformed_body(cls: type[Error]) -> Error:
        return cls(400, "BadParameter", "The request content was invalid and could not be deserialized.")

    @classmethod
    def missing_field(cls: type[Error], field: str) -> Error:
        return cls(400, "BadParameter", f"The request body is missing the required property '{field}'.")

    @classmethod
    def bad_maxresults(cls: type[Error], value: str) -> Error:
        return cls(400, "BadParameter", f"The value '{value}' of maxresults is invalid: it must be between 1 and 25.")

    @classmethod
    def malformed_backup(cls: type[Error]) -> Error:
        # The service really uses this code, spaces included.
        return cls(400, "Malformed backup blob", "Backup blob contains invalid or corrupt version.")

    @classmethod
    def not_implemented(cls: type[Error], method: str, path: str) -> Error:
        return cls(
            501,
            "FakeVaultNotImplemented",
            f"The kvconfig fake Key Vault does not implement {method} {path} yet.",
        )

    @classmethod
    def internal_error(cls: type[Error]) -> Error:
        # [I] for a vault: no recording has a vault's 500. A Managed HSM's is recorded as 500 UnknownError "Unknown
        # error (Activity ID: ...)" (azure-sdk-for-js keyvault-admin and keyvault-keys nock recordings, 2021).
        return cls(500, "InternalServerError", "The server encountered an internal error. Please retry the request.")

    @classmethod
    def route_not_found(cls: type[Error], method: str, path: str) -> Error:
        return cls(404, "NotFound", f"The requested resource {method} {path} was not found.")

    # -- authentication ------------------------------------------------------------------------------------------

    @classmethod
    def missing_token(cls: type[Error], *, newest: bool = True) -> Error:
        # The service's wording since mTLS PoP tokens (recent answers of the service); older api-versions keep the
        # text recorded before it.
        if newest:
            return cls(401, "Unauthorized", "AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token.")
        return cls(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")

    @classmethod
    def invalid_token(cls: type[Error], reason: str) -> Error:
        return cls(401, "Unauthorized", f"AKV10022: Invalid token: {reason}")

    @classmethod
    def wrong_audience(cls: type[Error], expected: str, found: str) -> Error:
        return cls(401, "Unauthorized", f"AKV10022: Invalid audience. Expected {expected}, found: {found}.")

    @classmethod
    def invalid_issuer(cls: type[Error], expected: tuple[str, ...], found: str) -> Error:
        return cls(
            401, "Unauthorized", f"AKV10032: Invalid issuer. Expected one of {', '.join(expected)}, found {found}."
        )

    @classmethod
    def token_not_yet_valid(cls: type[Error]) -> Error:
        # [I] no recording has it. A user's report of a Managed HSM (azure-sdk-for-java#26624) quotes 401 "Token not
        # yet valid (Activity ID: ...)"; nothing shows a vault's wording.
        return cls(401, "Unauthorized", "AKV10022: Invalid token: the token is not yet valid (nbf).")

    @classmethod
    def expired_token(cls: type[Error]) -> Error:
        return cls(401, "Unauthorized", "AKV10017: The token has expired.")
