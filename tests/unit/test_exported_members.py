"""The public surface of ``kvconfig`` and of each of its packages is pinned: adding or removing a name is a deliberate
change of these lists. Users import from ``kvconfig``, ``kvconfig.settings`` and ``kvconfig.crypto``; the
``references``, ``sources`` and ``resolve`` wings' ``__all__`` is what the other wings import, so it is pinned too."""

from __future__ import annotations

import importlib

import pytest

import kvconfig

PUBLIC = [
    "CachedSecret",
    "ConfigSource",
    "ExpiryWarning",
    "FakeVaultNotImplementedError",
    "FetchProgress",
    "KeyVaultReference",
    "KvConfigError",
    "ReferenceStatus",
    "ReferenceSyntaxError",
    "RefreshEvent",
    "ResolutionError",
    "ResolutionFailure",
    "ResolutionReport",
    "ResolvedSettings",
    "SecretCache",
    "SecretResolver",
    "SourceError",
    "UntrustedVaultError",
    "__version__",
    "find_references",
    "format_status_summary",
    "format_status_table",
    "from_appconfig",
    "from_dotenv",
    "from_environ",
    "from_file",
    "from_mapping",
    "is_reference",
    "is_trusted_host",
    "merge_sources",
    "parse_appconfig_reference",
    "parse_reference",
    "resolve_environ",
]


def test_public_surface_is_pinned() -> None:
    assert sorted(kvconfig.__all__) == PUBLIC


def test_every_exported_member_exists_and_says_it_is_kvconfigs() -> None:
    for name in kvconfig.__all__:
        member = getattr(kvconfig, name)
        if name != "__version__" and hasattr(member, "__module__"):
            assert member.__module__.startswith("kvconfig"), name


PACKAGES = {
    "kvconfig.fake": [
        "API_VERSIONS",
        "AccessPolicy",
        "AuditEvent",
        "AuditLog",
        "Clock",
        "ConnectionFault",
        "EmulatorServer",
        "EventGridEvent",
        "EventHub",
        "EventSubscription",
        "FakeAsyncCredential",
        "FakeAsyncTransport",
        "FakeCredential",
        "FakeKeyVault",
        "FakeKeyVaultApp",
        "FakeRequest",
        "FakeResponse",
        "FakeTransport",
        "FakeVaultNotImplementedError",
        "Fault",
        "Group",
        "Identity",
        "ManualClock",
        "NetworkRules",
        "RandomIds",
        "RequestRecord",
        "RoleAssignment",
        "RoleDefinition",
        "SeedError",
        "SequentialIds",
        "ServiceError",
        "SystemClock",
        "Vault",
        "VaultAccess",
        "VaultDomain",
        "VaultProperties",
        "Webhook",
        "WebhookValidationError",
        "asgi_app",
        "loopback_domains",
    ],
    "kvconfig.platforms": [
        "APP_SERVICE_TTL",
        "AppSecret",
        "AppServiceSettings",
        "CONNECTION_STRING_PREFIX",
        "Container",
        "ContainerApp",
        "EnvVar",
        "MAX_FILE_BYTES",
        "ManagedIdentity",
        "OpenResolver",
        "PORTAL_STATUSES",
        "PlatformError",
        "check_containerapp",
        "from_appsettings",
        "from_local_settings",
        "opener",
        "parse_identity",
        "portal_status",
        "read_containerapp",
        "resolve_containerapp",
        "resolve_containerapp_secrets",
    ],
    "kvconfig.cli": [
        "cli",
        "main",
    ],
    "kvconfig.errors": [
        "FakeVaultNotImplementedError",
        "KvConfigError",
        "ReferenceSyntaxError",
        "ResolutionError",
        "ResolutionFailure",
        "UntrustedVaultError",
    ],
    "kvconfig_fastapi": [
        "EVENT_GRID_APP_ID",
        "EntraIdToken",
        "KvConfig",
        "RefreshOutcome",
        "SECRET_NEW_VERSION_CREATED",
        "SUBSCRIPTION_VALIDATION",
        "SharedSecret",
        "WebhookAuthenticator",
    ],
    "kvconfig_flask": [
        "KvConfig",
        "KvConfigState",
        "cli",
    ],
    "kvconfig_django": [
        "clear_records",
        "env",
        "recorded_failures",
        "reference_origins",
        "references",
        "resolve_settings",
    ],
    "pytest_kvconfig": [
        "KeyVaultEnv",
        "KeyVaultReferenceFactory",
    ],
    "kvconfig.costs": [
        "CATEGORIES",
        "CostProjection",
        "PriceTable",
        "project_costs",
    ],
    "kvconfig.crypto": [
        "AsyncAzureKeyWrapper",
        "AsyncByteReader",
        "AsyncByteWriter",
        "AsyncKeyUnwrapper",
        "AsyncKeyWrapper",
        "AzureKeyWrapper",
        "CURVES",
        "CryptoError",
        "DecryptionError",
        "ENCRYPTION_ALGORITHMS",
        "EncryptResult",
        "EnvelopeError",
        "EnvelopeFormatError",
        "EnvelopeHeader",
        "EnvelopeIntegrityError",
        "EnvelopeKeyError",
        "InvalidDigestError",
        "InvalidInputError",
        "InvalidKeyError",
        "JwkDict",
        "JwkError",
        "KEY_OPERATIONS",
        "KEY_TYPES",
        "KEY_WRAP_ALGORITHMS",
        "KeyMaterial",
        "KeyOperationError",
        "KeyRing",
        "KeyUnwrapper",
        "KeyWrapper",
        "LocalCryptoClient",
        "LocalKeyWrapper",
        "SIGNATURE_ALGORITHMS",
        "UnsupportedAlgorithmError",
        "decrypt",
        "decrypt_envelope",
        "decrypt_envelope_async",
        "decrypt_stream",
        "decrypt_stream_async",
        "encrypt",
        "encrypt_envelope",
        "encrypt_envelope_async",
        "encrypt_stream",
        "encrypt_stream_async",
        "generate_key",
        "key_from_jwk",
        "read_envelope_header",
        "sign",
        "supported_algorithms",
        "unwrap_key",
        "verify",
        "wrap_key",
    ],
    "kvconfig.mount": [
        "DATA_LINK",
        "DEFAULT_FILE_MODE",
        "MountError",
        "MountObject",
        "MountWriteError",
        "MountedObject",
        "SecretObject",
        "SecretProviderClass",
        "SecretsMount",
        "SpcError",
        "pkcs12_to_pem",
        "public_pem",
        "read_objects",
        "read_spc",
        "secret_manifests",
        "write_generation",
    ],
    "kvconfig.pipelines": [
        "MAX_LISTED",
        "PipelineOutputError",
        "append_file_command",
        "escape_command_data",
        "escape_logging_data",
        "escape_logging_property",
        "file_command",
        "github_env_name",
        "list_enabled_secrets",
        "mask_commands",
        "parse_secrets_filter",
        "set_variable_commands",
    ],
    "kvconfig.references": [
        "APPCONFIG_KEYVAULT_CONTENT_TYPE",
        "CLOUD_VAULT_SUFFIXES",
        "CloudName",
        "KeyVaultReference",
        "TRUSTED_VAULT_SUFFIXES",
        "cloud_vault_suffix",
        "find_references",
        "is_reference",
        "is_trusted_host",
        "parse_appconfig_reference",
        "parse_reference",
        "trusted_entries",
    ],
    "kvconfig.resolve": [
        "CachedSecret",
        "ExpiryWarning",
        "FetchProgress",
        "ReferenceStatus",
        "RefreshEvent",
        "ResolutionReport",
        "ResolvedSettings",
        "SecretCache",
        "SecretResolver",
        "TransactionMeter",
        "format_status_summary",
        "format_status_table",
        "merge_sources",
        "resolve_environ",
    ],
    "kvconfig.settings": [
        "AppConfigurationSource",
        "AppConfigurationStore",
        "KeyVaultReferences",
        "KeyVaultSecretsSource",
        "KeyVaultSettings",
        "KeyVaultSettingsConfigDict",
        "SettingsStatus",
    ],
    "kvconfig.sources": [
        "AppConfigSource",
        "ConfigSource",
        "PathPart",
        "SourceError",
        "StoreAddress",
        "assign",
        "dotenv_quote",
        "file_kind",
        "from_appconfig",
        "from_dotenv",
        "from_environ",
        "from_file",
        "from_mapping",
        "leaves",
        "path_key",
    ],
}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_package_surface_is_pinned(package: str) -> None:
    assert sorted(importlib.import_module(package).__all__) == PACKAGES[package]


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_member_of_a_package_exists(package: str) -> None:
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing


def test_the_root_re_exports_the_wings_own_objects() -> None:
    """``kvconfig.X`` and ``kvconfig.<wing>.X`` are one object, not two copies that could drift."""
    for name in kvconfig.__all__:
        for package in ("kvconfig.references", "kvconfig.resolve", "kvconfig.sources"):
            module = importlib.import_module(package)
            if name in module.__all__:
                assert getattr(module, name) is getattr(kvconfig, name), (package, name)
