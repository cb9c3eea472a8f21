"""Platform definitions written in Bicep, read without the compiler: the overview's Container Apps example as
written, an App Service site, every literal form, and every refusal (a one-line PlatformError at the file:line, saying
to pass the compiled ARM JSON) including hostile files that must fail fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvconfig.fake import FakeKeyVault
from kvconfig.platforms import (
    MAX_FILE_BYTES,
    PlatformError,
    from_appsettings,
    from_local_settings,
    read_containerapp,
    resolve_containerapp,
)
from kvconfig.platforms._bicep import MAX_BICEP_DEPTH, BicepError, parse_bicep

# The overview's "Container Apps — Secrets from Key Vault" example, character for character.
OVERVIEW_BICEP = """\
resource containerApp 'Microsoft.App/containerApps@2023-05-01' = {
name: 'myapp'
identity: { type: 'SystemAssigned' }
properties: {
configuration: {
secrets: [
{
name: 'db-password'
keyVaultUrl: 'https://myvault.vault.azure.net/secrets/db-password'
identity: 'system' // Use system-assigned identity
}
]
}
template: {
containers: [{
env: [
{ name: 'DB_PASSWORD', secretRef: 'db-password' }
]
}]
}
}
}
"""

# What `az bicep build` writes for it (the resource of the ARM template).
OVERVIEW_ARM_RESOURCE = {
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

UAMI = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reader"

SITE_BICEP = """\
resource plan 'Microsoft.Web/serverfarms@2023-01-01' = {
  name: 'plan'
  sku: { name: 'B1' }
}

resource site 'Microsoft.Web/sites@2023-01-01' = {
  name: 'shop'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '<UAMI>': {}
    }
  }
  properties: {
    keyVaultReferenceIdentity: '<UAMI>'
    siteConfig: {
      appSettings: [
        {
          name: 'DB_PASSWORD'
          value: '@Microsoft.KeyVault(SecretUri=https://contoso.vault.azure.net/secrets/db/)'
        }
        { name: 'MODE', value: 'production' }
        { name: 'WORKERS', value: 4 }
      ]
    }
  }
}
""".replace("<UAMI>", UAMI)


def write(tmp_path: Path, text: str, name: str = "app.bicep") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_overviews_bicep_example_reads_as_the_arm_template_az_bicep_build_writes() -> None:
    parsed = parse_bicep(OVERVIEW_BICEP)

    assert parsed.data == {"resources": [OVERVIEW_ARM_RESOURCE]}
    assert parsed.lines[("resources", 0)] == 1
    assert parsed.lines[("resources", 0, "properties", "configuration", "secrets", 0, "keyVaultUrl")] == 9
    assert parsed.lines[("resources", 0, "properties", "template", "containers", 0, "env", 0, "secretRef")] == 17


def test_the_overviews_bicep_example_resolves_against_the_fake_with_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, OVERVIEW_BICEP)
    app = read_containerapp(path)
    fake = FakeKeyVault()
    fake.set_secret("myvault", "db-password", "bicep-db-password")

    with fake.patch():
        environment = resolve_containerapp(app)

    assert environment == {"DB_PASSWORD": "bicep-db-password"}
    assert app.name == "myapp"
    assert app.secrets["db-password"].origin == f"{path}:9"
    assert app.secrets["db-password"].identity is None  # 'system'
    assert app.container().env[0].origin == f"{path}:17"


def test_an_app_service_site_in_bicep_is_picked_by_type_with_its_reference_identity(tmp_path: Path) -> None:
    path = write(tmp_path, SITE_BICEP, "site.bicep")

    settings = from_appsettings(path)

    assert settings.source.settings == {
        "DB_PASSWORD": "@Microsoft.KeyVault(SecretUri=https://contoso.vault.azure.net/secrets/db/)",
        "MODE": "production",
        "WORKERS": "4",
    }
    assert settings.source.origins["DB_PASSWORD"] == f"{path}:20"
    assert settings.source.origins["MODE"] == f"{path}:22"
    assert settings.identity is not None
    assert settings.identity.name == "reader"


def test_the_sites_identity_rules_apply_to_bicep_with_the_line(tmp_path: Path) -> None:
    text = SITE_BICEP.replace("type: 'UserAssigned'", "type: 'SystemAssigned'").replace(
        "userAssignedIdentities: {", "tags: {"
    )
    path = write(tmp_path, text, "site.bicep")

    with pytest.raises(PlatformError) as raised:
        from_appsettings(path)

    assert str(raised.value).startswith(f"{path}:15: keyVaultReferenceIdentity names the user-assigned identity")


def test_every_literal_form_reads_as_the_compiler_reads_it() -> None:
    text = """\
/* a block comment
   over lines */
resource x 'Microsoft.App/containerApps@2023-05-01' = {
  escapes: 'it\\'s \\\\ \\n \\r \\t \\$ \\u{1F600} $ {x}' // a line comment
  multi: '''
first line
  'quoted' ${not interpolated} \\n stays
'''
  inline: '''one line'''
  numbers: [0, -42, 9223372036854775807]
  flags: [true, false, null]
  'quoted-key': { a: 1, b: 'two'
    c: [ ] }
  empty: {}
  mixed: ['a', 'b'
    'c']
}
"""
    resource = parse_bicep(text).data["resources"][0]

    assert resource["escapes"] == "it's \\ \n \r \t $ \U0001f600 $ {x}"
    assert resource["multi"] == "first line\n  'quoted' ${not interpolated} \\n stays\n"
    assert resource["inline"] == "one line"
    assert resource["numbers"] == [0, -42, 2**63 - 1]
    assert resource["flags"] == [True, False, None]
    assert resource["quoted-key"] == {"a": 1, "b": "two", "c": []}
    assert resource["empty"] == {}
    assert resource["mixed"] == ["a", "b", "c"]


def test_several_resources_are_kept_and_the_one_of_the_readers_type_is_picked(tmp_path: Path) -> None:
    text = "resource env 'Microsoft.App/managedEnvironments@2023-05-01' = {\n  name: 'env'\n}\n\n" + OVERVIEW_BICEP
    path = write(tmp_path, text)

    app = read_containerapp(path)

    assert app.secrets["db-password"].origin == f"{path}:13"
    assert len(parse_bicep(text).data["resources"]) == 2


# Each refusal: the Bicep text, the line it names, and words the message says.
REFUSALS = [
    ("param name string = 'x'\n", 1, "a 'param' declaration"),
    ("var name = 'x'\n", 1, "a 'var' declaration"),
    ("module m 'm.bicep' = {\n}\n", 1, "a 'module' declaration"),
    ("targetScope = 'subscription'\n", 1, "a 'targetScope' statement"),
    ("@description('app')\nresource a 'T/x@1' = {\n}\n", 1, "a decorator"),
    ("resource a 'T/x@1' = {\n  location: resourceGroup().location\n}\n", 2, "a function call (resourceGroup(...))"),
    ("resource a 'T/x@1' = {\n  name: appName\n}\n", 2, "a reference to 'appName'"),
    ("resource a 'T/x@1' = {\n  id: plan.id\n}\n", 2, "a reference to 'plan'"),
    ("resource a 'T/x@1' = {\n\n  name: 'app-${suffix}'\n}\n", 3, "string interpolation"),
    ("resource a 'T/x@1' existing = {\n  name: 'a'\n}\n", 1, "declared 'existing'"),
    ("resource a 'T/x@1' = [for i in range(0, 2): {\n}]\n", 1, "a loop"),
    ("resource a 'T/x@1' = if (deploy) {\n}\n", 1, "the condition of resource a"),
    ("resource a 'T/x@1' = {\n  items: [for s in list: s]\n}\n", 2, "a loop"),
    ("resource a 'T/x@1' = {\n  n: 1 + 2\n}\n", 2, "an expression (operator '+')"),
    ("resource a 'T/x@1' = {\n  n: 'a' == 'b' ? 1 : 2\n}\n", 2, "an expression (operator '==')"),
    ("resource a 'T/x@1' = {\n  n: !true\n}\n", 2, "an expression"),
    ("resource a 'T/x@1' = {\n  resource c 'config' = {\n  }\n}\n", 2, "a nested resource"),
]


@pytest.mark.parametrize(("text", "line", "words"), REFUSALS, ids=[words for _, _, words in REFUSALS])
def test_what_needs_the_compiler_is_refused_at_its_line_never_guessed(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(PlatformError) as raised:
        read_containerapp(path)

    message = str(raised.value)
    assert message.startswith(f"{path}:{line}: ")
    assert words in message
    assert "az bicep build" in message
    assert "\n" not in message


INVALID = [
    ("resource a 'T/x@1' = {\n  name: 'open\n}\n", 2, "a string is not closed on its line"),
    ("resource a 'T/x@1' = {\n  /* never closed\n}\n", 2, "comment is never closed"),
    ("resource a 'T/x@1' = {\n  v: '''never closed\n}\n", 2, "''' string is never closed"),
    ("resource a 'T/x@1' = {\n  v: 'bad \\q escape'\n}\n", 2, "not one of Bicep's escapes"),
    ("resource a 'T/x@1' = {\n  n: 9223372036854775808\n}\n", 2, "an integer is 64 bits"),
    ("resource a 'T/x@1' = {\n  n: 1\n  n: 2\n}\n", 3, "property 'n' is given twice (also at line 2)"),
    ("resource a 'T/x@1' = {\n  a: 1 b: 2\n}\n", 2, "after property 'a'"),
    ("resource a 'T/x@1' = {\n  a: [1,, 2]\n}\n", 2, "where a value should be"),
    ("resource a 'T/x' = {\n}\n", 1, "needs a '<type>@<api-version>'"),
    ("resource a 'T/x@1' = {\n  a: 1\n", 3, "the file ends"),
    ("resource a 'T/x@1' = {\n  a: #\n}\n", 2, "unexpected character '#'"),
]


@pytest.mark.parametrize(("text", "line", "words"), INVALID, ids=[words for _, _, words in INVALID])
def test_invalid_bicep_is_a_one_line_error_at_its_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(PlatformError) as raised:
        read_containerapp(path)

    assert str(raised.value).startswith(f"{path}:{line}: ")
    assert words in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_secret_value_is_never_in_a_refusal(tmp_path: Path) -> None:
    path = write(tmp_path, "resource a 'T/x@1' = {\n  value: 'hunter2-${x}'\n}\n")

    with pytest.raises(PlatformError) as raised:
        read_containerapp(path)

    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize(("body", "line"), [("[\n" * 200_000, MAX_BICEP_DEPTH + 1), ("{a: " * 200_000, 2)])
def test_a_deeply_nested_file_fails_at_the_bound_not_the_stack(tmp_path: Path, body: str, line: int) -> None:
    path = write(tmp_path, "resource a 'T/x@1' = {\n  v: " + body + "\n}\n")

    with pytest.raises(PlatformError) as raised:
        read_containerapp(path)

    assert str(raised.value).startswith(f"{path}:{line}: ")
    assert f"nested more than {MAX_BICEP_DEPTH} levels deep" in str(raised.value)


def test_a_huge_file_is_refused_by_its_size_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "app.bicep"
    with path.open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)

    with pytest.raises(PlatformError, match="kvconfig reads at most"):
        read_containerapp(path)


def test_a_huge_unterminated_string_or_comment_fails_in_one_pass() -> None:
    for text in ("resource a 'T/x@1' = {\n  v: '''" + "x" * 3_000_000, "/*" + "*" * 3_000_000):
        with pytest.raises(BicepError):
            parse_bicep(text)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.bicep"
    path.write_bytes(b"resource a 'T/x@1' = {\n  v: '\xff'\n}\n")

    with pytest.raises(PlatformError, match="a Bicep file is UTF-8 text"):
        read_containerapp(path)


def test_a_bicep_file_is_read_only_where_the_platform_writes_bicep(tmp_path: Path) -> None:
    path = write(tmp_path, OVERVIEW_BICEP, "local.settings.bicep")

    with pytest.raises(PlatformError, match=r"is JSON or YAML \(\.json, \.yaml or \.yml\), not \.bicep"):
        from_local_settings(path)
