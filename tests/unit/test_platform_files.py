"""The platforms' own files read as written (no vault): local.settings.json, App Service app settings, Container App
definitions. Every refusal is a one-line PlatformError naming the file and line; no value ever appears in one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvconfig.platforms import (
    APP_SERVICE_TTL,
    MAX_FILE_BYTES,
    ManagedIdentity,
    PlatformError,
    from_appsettings,
    from_local_settings,
    parse_identity,
    portal_status,
)

UAMI = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app-reader"
REF = "@Microsoft.KeyVault(VaultName=contoso;SecretName=db)"
PLAIN_SECRET = "plain-value-never-in-errors"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def one_line(exc: pytest.ExceptionInfo[PlatformError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    assert PLAIN_SECRET not in message
    return message


# -- Azure Functions: local.settings.json ---------------------------------------------------------------------------

LOCAL_SETTINGS = """{
  "IsEncrypted": false,
  "Values": {
    "FUNCTIONS_WORKER_RUNTIME": "python",
    "DB_PASSWORD": "@Microsoft.KeyVault(VaultName=contoso;SecretName=db)",
    "RETRIES": 3,
    "FEATURE": true,
    "UNSET": null
  },
  "ConnectionStrings": {
    "Sql": "@Microsoft.KeyVault(VaultName=contoso;SecretName=sql)",
    "Legacy": {"ConnectionString": "Server=old", "ProviderName": "System.Data.SqlClient"}
  }
}
"""


def test_local_settings_values_keep_their_names_and_connection_strings_get_the_core_tools_prefix(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "local.settings.json", LOCAL_SETTINGS)

    source = from_local_settings(path)

    assert source.settings == {
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "DB_PASSWORD": REF,
        "RETRIES": "3",
        "FEATURE": "True",
        "ConnectionStrings:Sql": "@Microsoft.KeyVault(VaultName=contoso;SecretName=sql)",
        "ConnectionStrings:Legacy": "Server=old",
    }
    assert source.origins["DB_PASSWORD"] == f"{path}:5"
    assert source.origins["ConnectionStrings:Sql"] == f"{path}:11"
    assert source.origins["ConnectionStrings:Legacy"] == f"{path}:12"


def test_an_encrypted_local_settings_file_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "local.settings.json", '{\n  "IsEncrypted": true,\n  "Values": {"A": "CfDJ8x"}\n}\n')

    with pytest.raises(PlatformError) as exc:
        from_local_settings(path)

    assert one_line(exc).startswith(f"{path}:2: local.settings.json is encrypted")
    assert "func settings decrypt" in str(exc.value)


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ('{\n "Values": ["A"]\n}', 2, "'Values' in local.settings.json is an object"),
        ('{\n "Values": {\n  "A": {"nested": "' + PLAIN_SECRET + '"}\n }\n}', 3, "setting 'A' of 'Values'"),
        ('{\n "ConnectionStrings": {\n  "Db": ["' + PLAIN_SECRET + '"]\n }\n}', 3, "'Db' of 'ConnectionStrings'"),
    ],
)
def test_local_settings_shapes_functions_would_not_take_are_typed_errors(
    tmp_path: Path, text: str, line: int, says: str
) -> None:
    path = write(tmp_path, "local.settings.json", text)

    with pytest.raises(PlatformError) as exc:
        from_local_settings(path)

    assert one_line(exc).startswith(f"{path}:{line}: ")
    assert says in str(exc.value)


def test_a_platform_file_over_the_size_bound_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = write(tmp_path, "local.settings.json", '{"Values": {"A": "' + "x" * MAX_FILE_BYTES + '"}}')

    with pytest.raises(PlatformError, match="kvconfig reads at most"):
        from_local_settings(path)


# -- App Service: app settings --------------------------------------------------------------------------------------

AZ_EXPORT = [
    {"name": "DB_PASSWORD", "slotSetting": False, "value": REF},
    {"name": "WEBSITE_RUN_FROM_PACKAGE", "slotSetting": True, "value": "1"},
]


def site(identity: object, reference_identity: str | None, settings: list[dict[str, object]]) -> dict[str, object]:
    properties: dict[str, object] = {"siteConfig": {"appSettings": settings}}
    if reference_identity is not None:
        properties["keyVaultReferenceIdentity"] = reference_identity
    return {"type": "Microsoft.Web/sites", "name": "app", "identity": identity, "properties": properties}


def test_an_az_webapp_appsettings_export_is_a_source_with_lines_and_the_24_hour_rule(tmp_path: Path) -> None:
    path = write(tmp_path, "appsettings.json", json.dumps(AZ_EXPORT, indent=2))

    app = from_appsettings(path)

    assert app.source.settings == {"DB_PASSWORD": REF, "WEBSITE_RUN_FROM_PACKAGE": "1"}
    assert app.source.origins["DB_PASSWORD"] == f"{path}:5"
    assert app.slot_settings == frozenset({"WEBSITE_RUN_FROM_PACKAGE"})
    assert app.identity is None
    assert app.ttl == APP_SERVICE_TTL == 86400


def test_an_arm_template_site_gives_its_app_settings_and_key_vault_reference_identity(tmp_path: Path) -> None:
    template = {
        "resources": [
            {"type": "Microsoft.Web/serverfarms", "name": "plan"},
            site({"type": "UserAssigned", "userAssignedIdentities": {UAMI: {}}}, UAMI, [{"name": "A", "value": REF}]),
        ]
    }
    path = write(tmp_path, "site.json", json.dumps(template, indent=2))

    app = from_appsettings(path)

    assert app.source.settings == {"A": REF}
    assert app.identity == ManagedIdentity("resource_id", UAMI)


def test_a_key_vault_reference_identity_the_app_does_not_have_is_unauthorized_client(tmp_path: Path) -> None:
    other = UAMI.replace("app-reader", "someone-else")
    document = site(
        {"type": "UserAssigned", "userAssignedIdentities": {other: {}}}, UAMI, [{"name": "A", "value": REF}]
    )
    path = write(tmp_path, "site.json", json.dumps(document, indent=2))

    with pytest.raises(PlatformError) as exc:
        from_appsettings(path)

    assert one_line(exc).startswith(f"{path}:")
    assert "'app-reader'" in str(exc.value)
    assert "UnauthorizedClient" in str(exc.value)


def test_references_of_an_app_without_the_identity_they_need_are_msi_not_enabled(tmp_path: Path) -> None:
    path = write(tmp_path, "site.json", json.dumps(site({"type": "None"}, None, [{"name": "A", "value": REF}])))

    with pytest.raises(PlatformError, match="MSINotEnabled"):
        from_appsettings(path)


def test_the_identity_option_overrides_the_file_and_bad_ones_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "appsettings.json", json.dumps(AZ_EXPORT))
    client_id = "0F0E0D0C-0B0A-0908-0706-050403020100"

    assert from_appsettings(path, reference_identity=client_id).identity == ManagedIdentity(
        "client_id", client_id.lower()
    )
    assert from_appsettings(path, reference_identity="SystemAssigned").identity is None
    with pytest.raises(PlatformError, match="--keyvault-reference-identity: 'app-reader' is neither"):
        from_appsettings(path, reference_identity="app-reader")


def test_an_app_setting_given_twice_names_both_lines(tmp_path: Path) -> None:
    settings = [{"name": "A", "value": "1"}, {"name": "a", "value": PLAIN_SECRET}]
    path = write(tmp_path, "appsettings.json", json.dumps(settings, indent=2))

    with pytest.raises(PlatformError) as exc:
        from_appsettings(path)

    assert one_line(exc).startswith(f"{path}:7: app setting 'a' is given twice (also at {path}:3)")


def test_portal_statuses() -> None:
    assert portal_status("OK") == "Resolved"
    assert portal_status("SecretNotFound") == "SecretNotFound"
    assert portal_status("AccessToKeyVaultDenied") == "AccessToKeyVaultDenied"
    assert portal_status("SecretDisabled") == "OtherReasons"
    assert portal_status("UntrustedVault") == "OtherReasons"


# -- identities -----------------------------------------------------------------------------------------------------


def test_identities_are_system_a_resource_id_or_a_client_id() -> None:
    assert parse_identity("system") is None
    assert parse_identity("SystemAssigned") is None
    assert parse_identity(UAMI) == ManagedIdentity("resource_id", UAMI)
    assert parse_identity(UAMI).name == "app-reader"  # type: ignore[union-attr]
    for bad in ("", "user", "/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/z", 3):
        with pytest.raises(ValueError, match=r"identity|neither"):
            parse_identity(bad)


def test_an_identity_becomes_azure_identitys_credential_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import azure.identity

    made: list[tuple[str, dict[str, object]]] = []

    def recorder(kind: str) -> type:
        class Recorded:
            def __init__(self, *args: object, **kwargs: object) -> None:
                made.append((kind, {**kwargs, **({"chain": len(args)} if args else {})}))

        return Recorded

    for kind in ("DefaultAzureCredential", "ManagedIdentityCredential", "ChainedTokenCredential"):
        monkeypatch.setattr(azure.identity, kind, recorder(kind))

    ManagedIdentity("client_id", "0f0e0d0c-0b0a-0908-0706-050403020100").credential()
    assert made == [("DefaultAzureCredential", {"managed_identity_client_id": "0f0e0d0c-0b0a-0908-0706-050403020100"})]

    made.clear()
    ManagedIdentity("resource_id", UAMI).credential()
    assert made == [
        ("DefaultAzureCredential", {"exclude_managed_identity_credential": True}),
        ("ManagedIdentityCredential", {"identity_config": {"resource_id": UAMI}}),
        ("ChainedTokenCredential", {"chain": 2}),
    ]
