"""Errors secrets, keys and certificates share: not found, deleted, conflicts, backups, managed objects."""

from __future__ import annotations

from kvconfig.fake.core.errors._base import HELP_LINK, Error, ServiceErrorBase

__all__ = ["ObjectErrors"]


class ObjectErrors(ServiceErrorBase):
    """Errors secrets, keys and certificates share: not found, deleted, conflicts, backups, managed objects."""

    @classmethod
    def object_not_found(cls: type[Error], kind: str, name: str, version: str | None = None) -> Error:
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
            f"you may be able to recover it using the correct recovery command. {HELP_LINK}",
        )

    @classmethod
    def deleted_object_not_found(cls: type[Error], kind: str, name: str) -> Error:
        code = {"secret": "SecretNotFound", "key": "KeyNotFound", "certificate": "CertificateNotFound"}[kind]
        return cls(404, code, f"Deleted {kind.capitalize()} not found: {name}")

    @classmethod
    def deleted_but_recoverable(cls: type[Error], kind: str, name: str) -> Error:
        return cls(
            409,
            "Conflict",
            f"{kind.capitalize()} {name} is currently in a deleted but recoverable state, and its name cannot be "
            f"reused; in this state, the {kind} can only be recovered or purged.",
            inner="ObjectIsDeletedButRecoverable",
        )

    @classmethod
    def being_deleted(cls: type[Error], kind: str) -> Error:
        """409 for recover or purge while a soft delete has not finished (``VaultProperties.deletion_delay``).

        [R] keys and certificates: JS SDK live recordings of ``DELETE /deletedkeys/{name}`` and
        ``DELETE /deletedcertificates/{name}`` answered this (Conflict, innererror ObjectIsBeingDeleted). [R] secrets:
        the JS SDK's live-test helper retries purge on exactly "Secret is currently being deleted." (no recording of
        the body found). [I] that recover answers the same as purge.
        """
        return cls(409, "Conflict", f"{kind.capitalize()} is currently being deleted.", inner="ObjectIsBeingDeleted")

    @classmethod
    def being_deleted_name(cls: type[Error], kind: str, name: str) -> Error:
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
    def being_recovered_name(cls: type[Error], kind: str, name: str) -> Error:
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
    def recovery_in_progress(cls: type[Error], kind: str, object_id: str) -> Error:
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
    def recover_conflict(cls: type[Error], kind: str, name: str) -> Error:
        """409 for recovering a deleted object whose name is live again. [I]: no recording has it (the service refuses
        re-creating a soft-deleted name, so a recording would need a race)."""
        return cls(
            409,
            "Conflict",
            f"There was a conflict recovering the {kind} '{name}'. This may happen if a {kind} with the same name "
            "already exists.",
        )

    @classmethod
    def restore_conflict(cls: type[Error], kind: str, object_id: str) -> Error:
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
    def purge_not_allowed(cls: type[Error], kind: str) -> Error:
        return cls(
            403,
            "Forbidden",
            f'Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service '
            f"will automatically purge the {kind} after the retention period has passed.",
        )

    @classmethod
    def disabled(cls: type[Error], kind: str) -> Error:
        inner = {"secret": "SecretDisabled", "key": "KeyDisabled", "certificate": "CertificateDisabled"}[kind]
        return cls(403, "Forbidden", f"Operation get is not allowed on a disabled {kind}.", inner=inner)

    @classmethod
    def transformation_not_supported(cls: type[Error], source: str, target: str) -> Error:
        # [R] the start, from the service's recorded answer to outContentType=application/x-pem-file on a secret
        # that is not a PFX ("The 'Unsupported' to 'PEM' transformation is not supported..."); [I] the sentence's end:
        # no stored recording or test quotes the whole message.
        return cls(400, "BadParameter", f"The '{source}' to '{target}' transformation is not supported.")

    @classmethod
    def secret_too_large(cls: type[Error], size: int, limit: int) -> Error:
        return cls(
            400,
            "BadParameter",
            f"The secret value is {size} bytes, which exceeds the maximum allowed size of {limit} bytes.",
        )

    @classmethod
    def managed_object(cls: type[Error], kind: str, operation: str) -> Error:
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
