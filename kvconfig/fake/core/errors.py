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
    def internal_error(cls) -> ServiceError:
        # [I] for a vault: no recording has a vault's 500. A Managed HSM's is recorded as 500 UnknownError "Unknown
        # error (Activity ID: ...)" (azure-sdk-for-js keyvault-admin and keyvault-keys nock recordings, 2021).
        return cls(500, "InternalServerError", "The server encountered an internal error. Please retry the request.")

    @classmethod
    def route_not_found(cls, method: str, path: str) -> ServiceError:
        return cls(404, "NotFound", f"The requested resource {method} {path} was not found.")

    # -- authentication ------------------------------------------------------------------------------------------

    @classmethod
    def missing_token(cls, *, newest: bool = True) -> ServiceError:
        # The service's wording since mTLS PoP tokens (recent answers of the service); older api-versions keep the
        # text recorded before it.
        if newest:
            return cls(401, "Unauthorized", "AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token.")
        return cls(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")

    @classmethod
    def invalid_token(cls, reason: str) -> ServiceError:
        return cls(401, "Unauthorized", f"AKV10022: Invalid token: {reason}")

    @classmethod
    def wrong_audience(cls, expected: str, found: str) -> ServiceError:
        return cls(401, "Unauthorized", f"AKV10022: Invalid audience. Expected {expected}, found: {found}.")

    @classmethod
    def invalid_issuer(cls, expected: tuple[str, ...], found: str) -> ServiceError:
        return cls(
            401, "Unauthorized", f"AKV10032: Invalid issuer. Expected one of {', '.join(expected)}, found {found}."
        )

    @classmethod
    def token_not_yet_valid(cls) -> ServiceError:
        # [I] no recording has it. A user's report of a Managed HSM (azure-sdk-for-java#26624) quotes 401 "Token not
        # yet valid (Activity ID: ...)"; nothing shows a vault's wording.
        return cls(401, "Unauthorized", "AKV10022: Invalid token: the token is not yet valid (nbf).")

    @classmethod
    def expired_token(cls) -> ServiceError:
        return cls(401, "Unauthorized", "AKV10017: The token has expired.")

    # -- objects (secrets, keys, certificates share the patterns) -----------------------------------------------

    @classmethod
    def object_not_found(cls, kind: str, name: str, version: str | None = None) -> ServiceError:
        """404 for a missing secret/key/certificate: "A secret with (name/id) x was not found in this key vault. ..."

        Certificates share the long form since the service's current answers (older recordings show "Certificate not
        found: x").
        """
        code = {"secret": "SecretNotFound", "key": "KeyNotFound", "certificate": "CertificateNotFound"}[kind]
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
    def being_deleted(cls, kind: str) -> ServiceError:
        """409 for recover or purge while a soft delete has not finished (``VaultProperties.deletion_delay``).

        [R] keys and certificates: JS SDK live recordings of ``DELETE /deletedkeys/{name}`` and
        ``DELETE /deletedcertificates/{name}`` answered this (Conflict, innererror ObjectIsBeingDeleted). [R] secrets:
        the JS SDK's live-test helper retries purge on exactly "Secret is currently being deleted." (no recording of
        the body found). [I] that recover answers the same as purge.
        """
        return cls(409, "Conflict", f"{kind.capitalize()} is currently being deleted.", inner="ObjectIsBeingDeleted")

    @classmethod
    def being_deleted_name(cls, kind: str, name: str) -> ServiceError:
        """409 for creating (set, create, import, restore) a name whose soft delete has not finished.

        [R] keys: the C++ SDK's recorded test of a create before the delete poller finished expects this message
        with code Conflict (innererror ObjectIsBeingDeleted per operations.md §3.2). [I] secrets and certificates
        (the same sentence with their kind), and restore answering as a create does.
        """
        return cls(
            409,
            "Conflict",
            f"{kind.capitalize()} {name} is currently being deleted and cannot be re-created; retry later.",
            inner="ObjectIsBeingDeleted",
        )

    @classmethod
    def being_recovered_name(cls, kind: str, name: str) -> ServiceError:
        """409 for creating (set, create, import, restore) a name whose recovery has not finished.

        [R] secrets: a Set Secret sent by Terraform during a recovery got this answer (hashicorp/terraform-provider-
        azurerm#12285, innererror ObjectIsBeingRecovered). [I] keys and certificates (the same sentence with their
        kind), and the other creating operations answering as a set does."""
        return cls(
            409,
            "Conflict",
            f"{kind.capitalize()} {name} is currently being recovered and cannot be re-created; retry later.",
            inner="ObjectIsBeingRecovered",
        )

    @classmethod
    def recovery_in_progress(cls, kind: str, object_id: str) -> ServiceError:
        """409 for recover or purge of an object whose recovery has not finished.

        [R] the text, for keys and certificates: the service's answer to a recover in the .NET and JS SDKs' live
        tests (Azure/azure-sdk-for-net#38464, Azure/azure-sdk-for-js#35256; code Conflict, no innererror, the
        versioned id). [I] that a recover or purge during the recovery window is what meets it, and secrets."""
        return cls(
            409,
            "Conflict",
            f"There was a conflict while recovering the soft-deleted {kind} '{object_id}'. This can happen when "
            f"multiple operations are performed in parallel against the soft-deleted {kind}. To avoid this error, "
            f"perform operations against the soft-deleted {kind} in a sequential manner.",
        )

    @classmethod
    def recover_conflict(cls, kind: str, name: str) -> ServiceError:
        """409 for recovering a deleted object whose name is live again. [I]: no recording has it (the service refuses
        re-creating a soft-deleted name, so a recording would need a race)."""
        return cls(
            409,
            "Conflict",
            f"There was a conflict recovering the {kind} '{name}'. This may happen if a {kind} with the same name "
            "already exists.",
        )

    @classmethod
    def restore_conflict(cls, kind: str, object_id: str) -> ServiceError:
        """409 for restoring a backup whose name is taken (live or soft-deleted).

        [R] azure-sdk-for-js nock recordings of ``POST /keys/restore`` and ``POST /secrets/restore`` (409 Conflict,
        no innererror), and a 2024 vault audit log quoting the same resultDescription; ``object_id`` is the restored
        object's versioned id. [I] certificates (the same sentence with "certificate").
        """
        return cls(
            409,
            "Conflict",
            f"There was a conflict restoring the {kind} '{object_id}'. This can happen if either: a second {kind} with "
            f"the same name was created after the first {kind} was deleted; thus trying to restore a {kind} whose name "
            f"is already in use. To fix this, rename the second {kind} to something else so that the restore works. "
            "The second probable cause of this exception is when multiple operations are performed in parallel "
            f"against the {kind}. To avoid this error, perform operations against a {kind} in a sequential manner.",
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
    def transformation_not_supported(cls, source: str, target: str) -> ServiceError:
        # [R] the start, from the service's recorded answer to outContentType=application/x-pem-file on a secret
        # that is not a PFX ("The 'Unsupported' to 'PEM' transformation is not supported..."); [I] the sentence's end:
        # no stored recording or test quotes the whole message.
        return cls(400, "BadParameter", f"The '{source}' to '{target}' transformation is not supported.")

    @classmethod
    def secret_too_large(cls, size: int, limit: int) -> ServiceError:
        return cls(
            400,
            "BadParameter",
            f"The secret value is {size} bytes, which exceeds the maximum allowed size of {limit} bytes.",
        )

    @classmethod
    def managed_object(cls, kind: str, operation: str) -> ServiceError:
        """403 for changing a key or secret that backs a certificate (``managed: true``) directly.

        [R] the service's current text for deleting a certificate's backing secret, as a user's Terraform log quotes
        the live service in 2026 (innererror SecretManagedByKeyVault); the same sentence with "key" and
        KeyManagedByKeyVault is [I] by analogy. Older recordings (azure-sdk-for-js nock recordings of
        ``DELETE /keys/{name}`` and ``DELETE /secrets/{name}`` on a certificate's name, 2019-2020) carry the same
        codes with an earlier text: 'Operation "delete" is not allowed as this object's lifetime is managed by Key
        Vault.'. [I] that set, update, backup, create, import and rotate answer the same way as delete.
        """
        inner = {"secret": "SecretManagedByKeyVault", "key": "KeyManagedByKeyVault"}[kind]
        return cls(
            403,
            "Forbidden",
            f'Operation "{operation}" is not allowed on this {kind}, since it is associated with a certificate. '
            "Perform the operation on the corresponding certificate. For more information refer to "
            "https://docs.microsoft.com/en-us/azure/key-vault/certificates/about-certificates"
            "#composition-of-a-certificate",
            inner=inner,
        )

    # -- keys and cryptographic operations (kvconfig/fake/keys/) ------------------------------------------------------
    # [R] = wording seen from the real service (operations.md §3.2, Azure SDK troubleshooting guides, az CLI output);
    # [I] = inferred from the service's patterns, not observed.

    @classmethod
    def key_disabled(cls, operation: str) -> ServiceError:
        # [R] from a user's report of the live service, not a recording: azure-sdk-for-python#45342 quotes "403
        # Forbidden: Operation X is not allowed on a disabled key (KeyDisabled)" for decrypt, sign and unwrapKey. GET
        # of a disabled key is not refused at all (.NET session record KeyClientLiveTests/UpdateEcHsmKeyEnabled).
        return cls(403, "Forbidden", f"Operation {operation} is not allowed on a disabled key.", inner="KeyDisabled")

    @classmethod
    def key_operation_forbidden(cls, operation: str) -> ServiceError:
        # [R] Azure SDK troubleshooting guides quote this answer for an operation missing from key_ops.
        return cls(
            403, "Forbidden", f"Operation {operation} is not permitted on this key.", inner="KeyOperationForbidden"
        )

    @classmethod
    def key_not_active(cls, operation: str, *, expired: bool) -> ServiceError:
        # [I] encrypt, sign and wrapKey honour nbf/exp on the service (azure-sdk-for-net#7677); no recording has it.
        when = "an expired key" if expired else "a key that is not yet valid"
        return cls(
            403,
            "Forbidden",
            f"Operation {operation} is not allowed on {when}.",
            inner="KeyExpired" if expired else "KeyNotYetValid",
        )

    @classmethod
    def hardware_key_not_allowed(cls) -> ServiceError:
        # [R] message (az CLI, SDK live tests); [I] status and code: no recording has the whole answer.
        return cls(400, "BadParameter", "Hardware key operation not allowed on standard vault")

    @classmethod
    def key_type_not_supported(cls, kty: str) -> ServiceError:
        # [I] symmetric keys exist only in Managed HSM; no recording has a vault's answer.
        return cls(400, "BadParameter", f"Key type {kty} is not supported by this vault; oct keys need a Managed HSM.")

    @classmethod
    def exportable_needs_release_policy(cls) -> ServiceError:
        return cls(400, "BadParameter", "Exportable keys must have release policy")  # [R]

    @classmethod
    def release_policy_needs_exportable(cls) -> ServiceError:
        return cls(400, "BadParameter", "Non-exportable keys must not have release policy")  # [R]

    @classmethod
    def immutable_release_policy(cls) -> ServiceError:
        return cls(400, "BadParameter", "AKV.SKR.1020: Immutable Key Release Policy cannot be modified.")  # [R]

    @classmethod
    def oct_key_too_large(cls) -> ServiceError:
        return cls(400, "BadParameter", "JSON Web Key: k property of oct key is too large, maximum size is 64")  # [R]

    @classmethod
    def random_bytes_count(cls) -> ServiceError:
        return cls(400, "BadParameter", "GetRandomBytesRequest: count cannot be greater than 128 or less than 1")  # [R]

    @classmethod
    def key_not_exportable(cls, name: str) -> ServiceError:
        # [I] no recording has it.
        return cls(
            400,
            "BadParameter",
            f"Key {name} is not exportable: only exportable keys with a release policy can be released.",
        )

    @classmethod
    def attestation_not_verified(cls) -> ServiceError:
        # [R] status, code, inner code and message as the Azure SDK's own tests quote the service's live answer
        # (azure-sdk-for-net KeyClientLiveTests' IgnoreServiceError(403, "Forbidden", ...) and its mock with innererror
        # AccessDenied, azure-sdk-for-net#27957; azure-sdk-for-go azkeys tests skip on the same text); not a recording.
        # The service says no more than this, so neither does the fake (which reads the token's claims only).
        return cls(
            403, "Forbidden", "Target environment attestation statement cannot be verified.", inner="AccessDenied"
        )

    # -- certificates (kvconfig/fake/certificates/) -------------------------------------------------------------------
    # [R] marks wording seen from the real service (operations.md §3.2, or a user's report of the service's
    # answer); [I] marks wording inferred from the service's patterns.

    @classmethod
    def pending_certificate_not_found(cls, name: str) -> ServiceError:
        # The current service capitalises Certificate (2020 recordings: "Pending certificate not found: x").
        return cls(404, "PendingCertificateNotFound", f"Pending Certificate not found: {name}")

    @classmethod
    def certificate_issuer_not_found(cls) -> ServiceError:
        return cls(404, "CertificateIssuerNotFound", "Issuer not found")  # [R]

    @classmethod
    def contacts_not_found(cls) -> ServiceError:
        return cls(404, "ContactsNotFound", "Contacts not found")  # [R]

    @classmethod
    def certificate_operation_in_progress(cls, name: str) -> ServiceError:
        # [I] a second create while the first is pending; no recording has it.
        return cls(
            409,
            "Conflict",
            f"Certificate {name} has a pending operation in progress; wait for it to finish, or cancel or delete it "
            "before creating a new version.",
        )

    @classmethod
    def unknown_certificate_issuer(cls, issuer: str) -> ServiceError:
        # [I] a policy naming an issuer that is neither Self, Unknown nor set in the vault; no recording has it.
        return cls(
            400,
            "BadParameter",
            f"Issuer '{issuer}' is not found in this vault. Use 'Self' or 'Unknown', or set the issuer first.",
        )

    @classmethod
    def unreadable_pkcs12(cls) -> ServiceError:
        # [R] the service's answer to PFX content it cannot open, wrong or missing passwords included
        return cls(
            400,
            "BadParameter",
            "The specified PKCS#12 X.509 certificate content can not be read. Please check if certificate is in "
            "valid PKCS#12 format.",
        )

    @classmethod
    def merge_key_mismatch(cls) -> ServiceError:
        # [I] no recording has it (the recorded merges all succeed).
        return cls(
            400,
            "BadParameter",
            "Public key from x5c does not match the public key of the pending certificate request (CSR).",
        )

    @classmethod
    def nothing_to_merge(cls, name: str) -> ServiceError:
        # [I] merge on an operation that is not waiting for a certificate; no recording has it.
        return cls(
            400,
            "BadParameter",
            f"The pending operation of certificate {name} is not waiting for a certificate to merge.",
        )

    @classmethod
    def name_used_by_other_kind(cls, kind: str, name: str) -> ServiceError:
        # [I] a certificate's backing key and secret take its name; no recording has it.
        return cls(
            409,
            "Conflict",
            f"A {kind} with the name {name} already exists and does not back a certificate; a certificate needs "
            "its name for its backing key and secret.",
        )

    @classmethod
    def release_policy_not_met(cls) -> ServiceError:
        # [I] no recording has it; the SDK tests quote only the unverifiable-attestation answer above.
        return cls(
            403,
            "Forbidden",
            "Target environment attestation statement does not meet the key release policy requirements.",
            inner="AccessDenied",
        )

    @classmethod
    def key_attestation_unavailable(cls) -> ServiceError:
        # [I] no recording has it.
        return cls(400, "BadParameter", "Key attestation is only available for HSM-protected keys.")

    # -- access control, network rules, throttling (kvconfig/fake/control/) -------------------------------------------
    # The 403 messages keep the service's line structure (``\r\n`` separated ``Key: value`` lines) because clients
    # and log tooling parse them; the inner error codes are the service's.

    @classmethod
    def untrusted_token(cls) -> ServiceError:
        return cls(
            401,
            "Unauthorized",
            "AKV10022: Invalid token: the vault enforces access control and the token was not issued by this fake's "
            "authority (use FakeKeyVault.credential()).",
        )

    @classmethod
    def forbidden_by_rbac(cls, caller: str, action: str, resource: str, vault: str) -> ServiceError:
        return cls(
            403,
            "Forbidden",
            "Caller is not authorized to perform action on resource.\r\n"
            "If role assignments, deny assignments or role definitions were changed recently, please observe "
            "propagation time.\r\n"
            f"Caller: {caller}\r\n"
            f"Action: '{action}'\r\n"
            f"Resource: '{resource.lower()}'\r\n"
            "Assignment: (not found)\r\n"
            "DenyAssignmentId: null\r\n"
            "DecisionReason: null \r\n"
            f"Vault: {vault}\r\n",
            inner="ForbiddenByRbac",
        )

    @classmethod
    def access_denied_by_policy(cls, caller: str, collection: str, permission: str, vault: str) -> ServiceError:
        return cls(
            403,
            "Forbidden",
            f"The user, group or application '{caller}' does not have {collection} {permission} permission on key "
            f"vault '{vault}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
            inner="AccessDenied",
        )

    @classmethod
    def forbidden_by_firewall(cls, client_ip: str, caller: str, vault: str) -> ServiceError:
        return cls(
            403,
            "Forbidden",
            "Client address is not authorized and caller is not a trusted service.\r\n"
            f"Client address: {client_ip}\r\n"
            f"Caller: {caller}\r\n"
            f"Vault: {vault}",
            inner="ForbiddenByFirewall",
        )

    @classmethod
    def throttled(cls, retry_after: int) -> ServiceError:
        # 429 is the one 4xx that carries Retry-After: azure-core's retry policy honours it.
        return cls(
            429,
            "Throttled",
            "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
            headers={"Retry-After": str(retry_after)},
        )

    @classmethod
    def security_domain_not_activated(cls, pool: str) -> ServiceError:
        # [I] No recording of this answer was found; the code and wording follow the service's patterns.
        return cls(
            403,
            "Forbidden",
            f"The Managed HSM '{pool}' is not activated: download its security domain to activate it before using "
            "keys.",
            inner="SecurityDomainNotActivated",
        )
