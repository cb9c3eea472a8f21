"""The catalogue of Key Vault service errors the fake answers with: status, code, inner code and message.

Messages follow the real service's wording where it has been observed (recordings of the real service, see
``shared/reference/keyvault-rest/operations.md`` §3); the others follow the same patterns. Keeping them in one
module makes them easy to audit and keeps the operations free of string literals.
"""

from __future__ import annotations

__all__ = ["ServiceError"]

_HELP = "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"


class ServiceError(Exception):
    """An error answer of the service: HTTP status, error code, optional inner error code, message."""

    def __init__(
        self, status: int, code: str, message: str, *, inner: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.inner = inner
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.inner:
            error["innererror"] = {"code": self.inner}
        return {"error": error}

    def __repr__(self) -> str:
        return f"ServiceError({self.status}, {self.code!r}, inner={self.inner!r})"

    # -- generic -------------------------------------------------------------------------------------------------

    @classmethod
    def bad_parameter(cls, message: str) -> ServiceError:
        return cls(400, "BadParameter", message)

    @classmethod
    def invalid_name(cls, name: str) -> ServiceError:
        return cls(400, "BadParameter", f"The request URI contains an invalid name: {name}")

    @classmethod
    def missing_api_version(cls) -> ServiceError:
        return cls(400, "BadParameter", "The 'api-version' query parameter is missing or empty.")

    @classmethod
    def unknown_api_version(cls, version: str, latest: str) -> ServiceError:
        return cls(
            400,
            "BadParameter",
            f"The specified version ({version}) is not recognized. Consider using the latest supported version "
            f"({latest}).",
        )

    @classmethod
    def malformed_body(cls) -> ServiceError:
        return cls(400, "BadParameter", "The request content was invalid and could not be deserialized.")

    @classmethod
    def missing_field(cls, field: str) -> ServiceError:
        return cls(400, "BadParameter", f"The request body is missing the required property '{field}'.")

    @classmethod
    def bad_maxresults(cls, value: str) -> ServiceError:
        return cls(400, "BadParameter", f"The value '{value}' of maxresults is invalid: it must be between 1 and 25.")

    @classmethod
    def malformed_backup(cls) -> ServiceError:
        # The service really uses this code, spaces included.
        return cls(400, "Malformed backup blob", "Backup blob contains invalid or corrupt version.")

    @classmethod
    def not_implemented(cls, method: str, path: str) -> ServiceError:
        return cls(
            501,
            "FakeVaultNotImplemented",
            f"The kvconfig fake Key Vault does not implement {method} {path} yet.",
        )

    @classmethod
    def route_not_found(cls, method: str, path: str) -> ServiceError:
        return cls(404, "NotFound", f"The requested resource {method} {path} was not found.")

    # -- authentication ------------------------------------------------------------------------------------------

    @classmethod
    def missing_token(cls) -> ServiceError:
        return cls(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")

    @classmethod
    def invalid_token(cls, reason: str) -> ServiceError:
        return cls(401, "Unauthorized", f"AKV10022: Invalid token: {reason}")

    @classmethod
    def wrong_audience(cls, expected: str, found: str) -> ServiceError:
        return cls(401, "Unauthorized", f"AKV10022: Invalid audience. Expected {expected}, found: {found}.")

    @classmethod
    def expired_token(cls) -> ServiceError:
        return cls(401, "Unauthorized", "AKV10017: The token has expired.")

    # -- objects (secrets, keys, certificates share the patterns) -----------------------------------------------

    @classmethod
    def object_not_found(cls, kind: str, name: str, version: str | None = None) -> ServiceError:
        """404 for a missing secret/key: "A secret with (name/id) x was not found in this key vault. ..." """
        code = {"secret": "SecretNotFound", "key": "KeyNotFound", "certificate": "CertificateNotFound"}[kind]
        if kind == "certificate":
            return cls(404, code, f"Certificate not found: {name}")
        ident = f"{name}/{version}" if version else name
        return cls(
            404,
            code,
            f"A {kind} with (name/id) {ident} was not found in this key vault. If you recently deleted this {kind} "
            f"you may be able to recover it using the correct recovery command. {_HELP}",
        )

    @classmethod
    def deleted_object_not_found(cls, kind: str, name: str) -> ServiceError:
        code = {"secret": "SecretNotFound", "key": "KeyNotFound", "certificate": "CertificateNotFound"}[kind]
        return cls(404, code, f"Deleted {kind.capitalize()} not found: {name}")

    @classmethod
    def deleted_but_recoverable(cls, kind: str, name: str) -> ServiceError:
        return cls(
            409,
            "Conflict",
            f"{kind.capitalize()} {name} is currently in a deleted but recoverable state, and its name cannot be "
            f"reused; in this state, the {kind} can only be recovered or purged.",
            inner="ObjectIsDeletedButRecoverable",
        )

    @classmethod
    def restore_conflict(cls, kind: str, name: str) -> ServiceError:
        return cls(
            409,
            "Conflict",
            f"There was a conflict restoring the {kind} '{name}'. This may happen if a {kind} with the same name "
            "already exists, or is in the deleted state.",
        )

    @classmethod
    def purge_not_allowed(cls, kind: str) -> ServiceError:
        return cls(
            403,
            "Forbidden",
            f'Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service '
            f"will automatically purge the {kind} after the retention period has passed.",
        )

    @classmethod
    def disabled(cls, kind: str) -> ServiceError:
        inner = {"secret": "SecretDisabled", "key": "KeyDisabled", "certificate": "CertificateDisabled"}[kind]
        return cls(403, "Forbidden", f"Operation get is not allowed on a disabled {kind}.", inner=inner)

    @classmethod
    def secret_too_large(cls, size: int, limit: int) -> ServiceError:
        return cls(
            400,
            "BadParameter",
            f"The secret value is {size} bytes, which exceeds the maximum allowed size of {limit} bytes.",
        )

    @classmethod
    def managed_object(cls, kind: str, name: str) -> ServiceError:
        return cls(
            403,
            "Forbidden",
            f"The {kind} '{name}' is managed by Key Vault (it backs a certificate) and cannot be changed directly; "
            "use the certificate operations instead.",
        )
