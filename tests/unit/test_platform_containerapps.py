"""Container App definitions read as the platform reads them (no vault): secrets, identities, containers and their
env, from the ARM/Bicep JSON shape and from az containerapp YAML; what the platform refuses is a one-line
PlatformError with the file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvconfig.platforms import ManagedIdentity, PlatformError, read_containerapp

UAMI = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reader"

# The overview's Container Apps example (Bicep), as `az bicep build` writes it in an ARM template.
OVERVIEW_ARM = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "resources": [
        {
            "type": "Microsoft.App/containerApps",
            "apiVersion": "2023-05-01",
            "name": "myapp",
            "identity": {"type": "SystemAssigned"},
            "properties": {
                "configuration": {
                    "secrets": [
                        {
                            "name": "db-password",
                            "keyVaultUrl": "https://myvault.vault.azure.net/secrets/db-password",
                            "identity": "system",
                        }
                    ]
                },
                "template": {"containers": [{"env": [{"name": "DB_PASSWORD", "secretRef": "db-password"}]}]},
            },
        }
    ],
}

YAML_APP = f"""\
name: shop
identity:
  type: SystemAssigned,UserAssigned
  userAssignedIdentities:
    {UAMI}: {{}}
properties:
  configuration:
    secrets:
      - name: db-password
        keyVaultUrl: https://contoso.vault.azure.net/secrets/db-password
        identity: system
      - name: api-key
        keyVaultUrl: https://contoso.vault.azure.net/secrets/api-key/0123456789abcdef0123456789abcdef
        identity: {UAMI}
      - name: greeting
        value: hello
      - name: unused
        keyVaultUrl: https://contoso.vault.azure.net/secrets/unused
        identity: system
  template:
    initContainers:
      - name: migrate
        image: shop/migrate:1
        env:
          - name: DB_PASSWORD
            secretRef: db-password
    containers:
      - name: web
        image: shop/web:1
        env:
          - name: DB_PASSWORD
            secretRef: db-password
          - name: GREETING
            secretRef: greeting
          - name: MODE
            value: production
      - name: worker
        image: shop/worker:1
        env:
          - name: API_KEY
            secretRef: api-key
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_overviews_bicep_example_compiled_to_arm_reads_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, "app.json", json.dumps(OVERVIEW_ARM, indent=2))

    app = read_containerapp(path)

    assert app.name == "myapp"
    secret = app.secrets["db-password"]
    assert secret.key_vault_url == "https://myvault.vault.azure.net/secrets/db-password"
    assert secret.identity is None  # system-assigned
    assert secret.reference == "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/db-password)"
    container = app.container()  # its only container, unnamed as in the example
    assert [(var.name, var.secret_ref) for var in container.env] == [("DB_PASSWORD", "db-password")]
    assert app.environment(container, {"db-password": "s3cret"}) == {"DB_PASSWORD": "s3cret"}


def test_az_containerapp_yaml_gives_secrets_by_identity_and_each_containers_env(tmp_path: Path) -> None:
    path = write(tmp_path, "app.yaml", YAML_APP)

    app = read_containerapp(path)

    groups = app.key_vault_secrets()
    assert sorted(secret.name for secret in groups[None]) == ["db-password", "unused"]
    assert [secret.name for secret in groups[ManagedIdentity("resource_id", UAMI)]] == ["api-key"]
    assert app.secrets["api-key"].origin == f"{path}:13"
    assert app.secrets["greeting"].key_vault_url is None
    web = app.container("web")
    values = {"db-password": "pw", "api-key": "key", "greeting": "hello", "unused": "u"}
    assert app.environment(web, values) == {"DB_PASSWORD": "pw", "GREETING": "hello", "MODE": "production"}
    assert app.environment(app.container("worker"), values) == {"API_KEY": "key"}
    assert app.users("db-password") == ["DB_PASSWORD in container migrate", "DB_PASSWORD in container web"]
    assert app.users("unused") == []


def test_choosing_a_container_that_is_not_there_or_none_of_several_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "app.yaml", YAML_APP)
    app = read_containerapp(path)

    with pytest.raises(PlatformError, match=r"app.yaml:28: the app has no container 'api' \(its containers: "):
        app.container("api")
    with pytest.raises(PlatformError, match=r"the app has 2 containers \(web, worker\); choose one"):
        app.container()


@pytest.mark.parametrize(
    ("old", "new", "line", "says"),
    [
        ("secretRef: greeting", "secretRef: greetings", 34, "uses secretRef 'greetings', which is not among"),
        (f"identity: {UAMI}", "identity: reader", 14, "neither 'system' nor a user-assigned identity"),
        (f"    {UAMI}: {{}}", "    /subscriptions/0000/x: {}", 14, "the user-assigned identity 'reader', which"),
        ("type: SystemAssigned,UserAssigned", "type: UserAssigned", 11, "the system-assigned identity, which the app"),
        ("        identity: system\n      - name: api-key", "      - name: api-key", 9, "has a keyVaultUrl but no"),
        ("value: hello", "value: hello\n        keyVaultUrl: https://x", 15, "needs exactly one of"),
        ("value: production", "value: production\n            secretRef: greeting", 35, "has both 'value' and"),
        ("- name: unused", "- name: Unused", 17, "needs a name of lower-case letters"),
        ("- name: unused", "- name: greeting", 17, "secret 'greeting' is defined twice (also at"),
        ("- name: worker", "- name: web", 37, "container 'web' is defined twice"),
    ],
)
def test_what_the_platform_refuses_is_a_typed_error_with_file_and_line(
    tmp_path: Path, old: str, new: str, line: int, says: str
) -> None:
    assert old in YAML_APP
    path = write(tmp_path, "app.yaml", YAML_APP.replace(old, new, 1))

    with pytest.raises(PlatformError) as exc:
        read_containerapp(path)

    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: "), message
    assert says in message


def test_reference_text_in_a_plain_value_is_passed_as_written_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = YAML_APP.replace("value: production", "value: '@Microsoft.KeyVault(VaultName=contoso;SecretName=x)'")
    app = read_containerapp(write(tmp_path, "app.yaml", text))

    assert app.environment(app.container("web"), {"db-password": "", "greeting": ""})["MODE"].startswith("@Microsoft")
    assert "env 'MODE' of container web holds Key Vault reference text" in caplog.text


def test_a_definition_without_containers_or_with_several_apps_is_refused(tmp_path: Path) -> None:
    empty = write(tmp_path, "empty.yaml", "properties:\n  template:\n    scale: {}\n")
    with pytest.raises(PlatformError, match="has no containers"):
        read_containerapp(empty)
    two = {"resources": [OVERVIEW_ARM["resources"][0], OVERVIEW_ARM["resources"][0]]}  # type: ignore[index]
    with pytest.raises(PlatformError, match=r"holds 2 Microsoft\.App/containerApps resources"):
        read_containerapp(write(tmp_path, "two.json", json.dumps(two)))
