"""Tests of the Key Vault reference grammar; each test cites the rule of docs/references.md it checks (R1, R2, ...)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from kvconfig.errors import ReferenceSyntaxError, UntrustedVaultError
from kvconfig.references import (
    CLOUD_VAULT_SUFFIXES,
    TRUSTED_VAULT_SUFFIXES,
    KeyVaultReference,
    find_references,
    is_reference,
    is_trusted_host,
    parse_appconfig_reference,
    parse_reference,
)

SPEC = Path(__file__).resolve().parents[2] / "docs" / "references.md"
VAULT = "https://myvault.vault.azure.net"
VERSION = "0123456789abcdef0123456789abcdef"
APPCONFIG = "application/vnd.microsoft.appconfig.keyvaultref+json"


def uri_ref(uri: str) -> str:
    return f"@Microsoft.KeyVault(SecretUri={uri})"


def syntax_reason(text: str, **kwargs: object) -> str:
    with pytest.raises(ReferenceSyntaxError) as info:
        parse_reference(text, **kwargs)  # type: ignore[arg-type]
    return info.value.reason


# -- the spec cannot drift ------------------------------------------------------------------------------------------


def test_every_spec_rule_is_cited_by_a_test() -> None:
    rule_ids = re.findall(r"^\*\*(R\d+)\*\*", SPEC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert rule_ids, "no rules found in docs/references.md"
    assert rule_ids == [f"R{number}" for number in range(1, len(rule_ids) + 1)], "rules must be numbered R1, R2, ..."
    source = Path(__file__).read_text(encoding="utf-8")
    uncited = [rule for rule in rule_ids if not re.search(rf"(?<![0-9A-Za-z]){rule}(?![0-9])", source, re.IGNORECASE)]
    assert not uncited, f"rules without a test: {uncited}"


# -- accepted forms ---------------------------------------------------------------------------------------------------


def test_r1_secret_uri_without_version() -> None:
    assert parse_reference(uri_ref(f"{VAULT}/secrets/db")) == KeyVaultReference(VAULT, "db", None)


def test_r1_secret_uri_with_version() -> None:
    assert parse_reference(uri_ref(f"{VAULT}/secrets/db/{VERSION}")) == KeyVaultReference(VAULT, "db", VERSION)


def test_r2_vault_name_form_defaults_to_public_cloud() -> None:
    ref = parse_reference("@Microsoft.KeyVault(VaultName=myvault;SecretName=db)")
    assert ref == KeyVaultReference(VAULT, "db", None)


def test_r2_vault_name_form_with_version() -> None:
    ref = parse_reference(f"@Microsoft.KeyVault(VaultName=myvault;SecretName=db;SecretVersion={VERSION})")
    assert ref == KeyVaultReference(VAULT, "db", VERSION)


@pytest.mark.parametrize(
    ("cloud", "vault_url"),
    [
        ("public", "https://myvault.vault.azure.net"),
        ("china", "https://myvault.vault.azure.cn"),
        ("usgov", "https://myvault.vault.usgovcloudapi.net"),
        ("germany", "https://myvault.vault.microsoftazure.de"),
        ("AzureChinaCloud", "https://myvault.vault.azure.cn"),
        ("AzureUSGovernment", "https://myvault.vault.usgovcloudapi.net"),
        ("USGOV", "https://myvault.vault.usgovcloudapi.net"),
    ],
    ids=lambda value: f"R2-{value}",
)
def test_r2_vault_name_uses_the_cloud_suffix(cloud: str, vault_url: str) -> None:
    assert parse_reference("@Microsoft.KeyVault(VaultName=myvault;SecretName=db)", cloud=cloud).vault_url == vault_url


def test_r2_cloud_table_matches_spec() -> None:
    assert CLOUD_VAULT_SUFFIXES == {
        "public": "vault.azure.net",
        "china": "vault.azure.cn",
        "usgov": "vault.usgovcloudapi.net",
        "germany": "vault.microsoftazure.de",
    }


def test_r2_unknown_cloud_is_a_value_error_not_a_syntax_error() -> None:
    with pytest.raises(ValueError, match="unknown cloud 'mars'") as info:
        parse_reference("@Microsoft.KeyVault(VaultName=myvault;SecretName=db)", cloud="mars")
    assert not isinstance(info.value, ReferenceSyntaxError)


@pytest.mark.parametrize(
    "text",
    [
        f"  {uri_ref(VAULT + '/secrets/db')}\n",
        f"\t{uri_ref(VAULT + '/secrets/db')}",
        f"@microsoft.keyvault(SecretUri={VAULT}/secrets/db)",
        f"@MICROSOFT.KEYVAULT(SecretUri={VAULT}/secrets/db)",
    ],
    ids=["R3-spaces-newline", "R3-tab", "R3-lower-prefix", "R3-upper-prefix"],
)
def test_r3_whitespace_and_prefix_case_are_tolerated(text: str) -> None:
    assert parse_reference(text) == KeyVaultReference(VAULT, "db", None)


def test_r3_space_before_parenthesis_is_not_a_reference() -> None:
    text = "@Microsoft.KeyVault (VaultName=myvault;SecretName=db)"
    assert not is_reference(text)
    assert find_references(text) == []
    with pytest.raises(ReferenceSyntaxError, match="does not start with"):
        parse_reference(text)


def test_r3_unicode_lookalikes_in_prefix_are_not_a_reference() -> None:
    # The Kelvin sign lower-cases to "k"; a Unicode-aware comparison would accept it.
    text = "@Microsoft.\u212aeyVault(VaultName=myvault;SecretName=db)"
    assert not is_reference(text)
    assert find_references(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "@Microsoft.KeyVault(secretname=db;VAULTNAME=myvault)",
        "@Microsoft.KeyVault(SecretName=db;VaultName=myvault)",
        f"@Microsoft.KeyVault(secretVERSION={VERSION};secretName=db;vaultname=myvault)",
        f"@Microsoft.KeyVault(secreturi={VAULT}/secrets/db)",
    ],
    ids=["R4-lower-upper", "R4-reordered", "R4-mixed-case-three-keys", "R4-secreturi"],
)
def test_r4_key_case_and_order_do_not_matter(text: str) -> None:
    ref = parse_reference(text)
    assert (ref.vault_url, ref.name) == (VAULT, "db")


@pytest.mark.parametrize(
    "text",
    [
        "@Microsoft.KeyVault( VaultName = myvault ; SecretName = db ; )",
        "@Microsoft.KeyVault(VaultName=myvault;SecretName=db;)",
        "@Microsoft.KeyVault(VaultName=myvault;SecretName=db ;  )",
        f"@Microsoft.KeyVault( SecretUri = {VAULT}/secrets/db ;)",
    ],
    ids=["R5-spaces-everywhere", "R5-trailing-semicolon", "R5-trailing-semicolon-spaces", "R5-uri-spaces"],
)
def test_r5_spaces_and_one_trailing_semicolon_are_tolerated(text: str) -> None:
    assert parse_reference(text) == KeyVaultReference(VAULT, "db", None)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"{VAULT}/secrets/db/", KeyVaultReference(VAULT, "db", None)),
        (f"{VAULT}/secrets/db/{VERSION}/", KeyVaultReference(VAULT, "db", VERSION)),
        ("https://MyVault.Vault.Azure.Net/secrets/db", KeyVaultReference(VAULT, "db", None)),
        ("HTTPS://myvault.vault.azure.net/secrets/db", KeyVaultReference(VAULT, "db", None)),
        ("https://myvault.vault.azure.net:443/secrets/db", KeyVaultReference(VAULT, "db", None)),
        (f"{VAULT}/Secrets/db", KeyVaultReference(VAULT, "db", None)),
        (f"{VAULT}/secrets/DbPassword", KeyVaultReference(VAULT, "DbPassword", None)),
        (f"{VAULT}/secrets/db/{VERSION.upper()}", KeyVaultReference(VAULT, "db", VERSION)),
        (
            "HTTPS://MyVault.Vault.Azure.Net:443/Secrets/db/0123456789ABCDEF0123456789ABCDEF/",
            KeyVaultReference(VAULT, "db", VERSION),
        ),
    ],
    ids=[
        "R6-trailing-slash",
        "R6-trailing-slash-after-version",
        "R6-host-case",
        "R6-scheme-case",
        "R6-port-443",
        "R6-secrets-segment-case",
        "R6-name-case-kept",
        "R6-version-lower-cased",
        "R6-everything-at-once",
    ],
)
def test_r6_secret_uri_is_normalised(uri: str, expected: KeyVaultReference) -> None:
    assert parse_reference(uri_ref(uri)) == expected


def test_r6_other_ports_are_kept() -> None:
    ref = parse_reference(
        uri_ref("https://myvault.localhost:08443/secrets/db"), trusted_hosts=["myvault.localhost:8443"]
    )
    assert ref.vault_url == "https://myvault.localhost:8443"
    assert ref.vault_host == "myvault.localhost:8443"


def test_r6_vault_name_is_lower_cased_and_version_normalised() -> None:
    ref = parse_reference(f"@Microsoft.KeyVault(VaultName=MyVault;SecretName=Db;SecretVersion={VERSION.upper()})")
    assert ref == KeyVaultReference(VAULT, "Db", VERSION)


# -- rejected forms ---------------------------------------------------------------------------------------------------


def test_r7_http_scheme_rejected() -> None:
    assert "must use https, not http" in syntax_reason(uri_ref("http://myvault.vault.azure.net/secrets/db"))


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("ftp://myvault.vault.azure.net/secrets/db", "must use https, not ftp"),
        ("://myvault.vault.azure.net/secrets/db", "must use https, not an empty scheme"),
        ("myvault.vault.azure.net/secrets/db", "must be an absolute URL"),
        ("https:/myvault.vault.azure.net/secrets/db", "must be an absolute URL"),
        ("//myvault.vault.azure.net/secrets/db", "must be an absolute URL"),
    ],
    ids=["R7-ftp", "R7-empty-scheme", "R7-no-scheme", "R7-single-slash", "R7-scheme-relative"],
)
def test_r7_non_https_uris_rejected(uri: str, message: str) -> None:
    assert message in syntax_reason(uri_ref(uri))


def test_r8_keys_path_rejected_with_hint() -> None:
    reason = syntax_reason(uri_ref(f"{VAULT}/keys/signing"))
    assert "points at keys, but only secrets can be referenced" in reason


def test_r8_certificates_path_rejected_with_hint() -> None:
    reason = syntax_reason(uri_ref(f"{VAULT}/certificates/tls/{VERSION}"))
    assert "only secrets can be referenced" in reason
    assert "readable as the secret of the same name" in reason


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (VAULT, "has no path"),
        (f"{VAULT}/", "has no path"),
        (f"{VAULT}/secrets", "no secret name"),
        (f"{VAULT}/secrets/", "no secret name"),
        (f"{VAULT}/secrets//db", "empty segment"),
        (f"{VAULT}/secrets/db//", "empty segment"),
        (f"{VAULT}//secrets/db", "must be /secrets/<name>"),
        (f"{VAULT}/secrets/db/{VERSION}/extra", "too many segments"),
        (f"{VAULT}/deletedsecrets/db", "must be /secrets/<name>"),
        (f"{VAULT}/storage/account", "must be /secrets/<name>"),
    ],
    ids=[
        "R8-no-path",
        "R8-root-path",
        "R8-no-name",
        "R8-no-name-trailing-slash",
        "R8-empty-segment",
        "R8-double-trailing-slash",
        "R8-leading-double-slash",
        "R8-too-many-segments",
        "R8-deleted-secrets",
        "R8-other-collection",
    ],
)
def test_r8_path_must_be_secrets_name_version(uri: str, message: str) -> None:
    assert message in syntax_reason(uri_ref(uri))


@pytest.mark.parametrize(
    "name",
    ["db_password", "db.password", "db password", "dbé", "a" * 128, "db+1", "db$"],
    ids=["R9-underscore", "R9-dot", "R9-space", "R9-non-ascii", "R9-128-chars", "R9-plus", "R9-dollar"],
)
def test_r9_invalid_secret_names_rejected(name: str) -> None:
    with pytest.raises(ReferenceSyntaxError, match=r"invalid secret name|must not contain|must be ASCII"):
        parse_reference(f"@Microsoft.KeyVault(VaultName=myvault;SecretName={name})")
    with pytest.raises(ReferenceSyntaxError):
        parse_reference(uri_ref(f"{VAULT}/secrets/{name}"))


@pytest.mark.parametrize(
    "name", ["a", "A-1", "-", "a" * 127, "0"], ids=["R9-one", "R9-mixed", "R9-dash", "R9-127", "R9-0"]
)
def test_r9_valid_secret_names_accepted(name: str) -> None:
    assert parse_reference(f"@Microsoft.KeyVault(VaultName=myvault;SecretName={name})").name == name


def test_r9_long_name_message_says_its_length() -> None:
    assert "(128 characters)" in syntax_reason(f"@Microsoft.KeyVault(VaultName=myvault;SecretName={'a' * 128})")


@pytest.mark.parametrize(
    "vault",
    ["ab", "a" * 25, "1vault", "-vault", "vault-", "my--vault", "my_vault", "myvaulté"],
    ids=["R10-too-short", "R10-too-long", "R10-digit-first", "R10-dash-first", "R10-dash-last", "R10-double-dash",
         "R10-underscore", "R10-non-ascii"],
)  # fmt: skip
def test_r10_invalid_vault_names_rejected(vault: str) -> None:
    assert "invalid VaultName" in syntax_reason(f"@Microsoft.KeyVault(VaultName={vault};SecretName=db)")


@pytest.mark.parametrize(
    "vault", ["abc", "a" * 24, "My-Vault-1", "v1v"], ids=["R10-3", "R10-24", "R10-mixed", "R10-v1v"]
)
def test_r10_valid_vault_names_accepted(vault: str) -> None:
    ref = parse_reference(f"@Microsoft.KeyVault(VaultName={vault};SecretName=db)")
    assert ref.vault_url == f"https://{vault.lower()}.vault.azure.net"


@pytest.mark.parametrize(
    "vault",
    ["myvault.vault.azure.net", "https://myvault.vault.azure.net", "myvault:443"],
    ids=["R10-host", "R10-url", "R10-port"],
)
def test_r10_host_or_url_as_vault_name_points_to_secret_uri(vault: str) -> None:
    assert "use SecretUri=" in syntax_reason(f"@Microsoft.KeyVault(VaultName={vault};SecretName=db)")


@pytest.mark.parametrize(
    "version",
    ["latest", VERSION[:-1], VERSION + "0", VERSION[:-1] + "g", "{" + VERSION[:30] + "}", "\u0660" * 32],
    ids=["R11-word", "R11-31-chars", "R11-33-chars", "R11-non-hex", "R11-braces", "R11-arabic-digits"],
)
def test_r11_invalid_versions_rejected(version: str) -> None:
    assert "invalid secret version" in syntax_reason(
        f"@Microsoft.KeyVault(VaultName=myvault;SecretName=db;SecretVersion={version})"
    )
    with pytest.raises(ReferenceSyntaxError):
        parse_reference(uri_ref(f"{VAULT}/secrets/db/{version}"))


def test_r11_upper_case_version_accepted_and_lower_cased() -> None:
    ref = parse_reference(f"@Microsoft.KeyVault(VaultName=myvault;SecretName=db;SecretVersion={VERSION.upper()})")
    assert ref.version == VERSION


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("@Microsoft.KeyVault(VaultName=myvault;SecretName=db;Foo=1)", "unknown key 'Foo'"),
        ("@Microsoft.KeyVault(VaultName=myvault;Secret=db)", "unknown key 'Secret'"),
        ("@Microsoft.KeyVault(VaultName=myvault;SecretName=db;Version=1)", "unknown key 'Version'"),
        ("@Microsoft.KeyVault(SecretName=a;VaultName=v1v;secretname=b)", "duplicate key SecretName"),
        ("@Microsoft.KeyVault(VaultName=v1v;VaultName=v1v;SecretName=b)", "duplicate key VaultName"),
        (f"@Microsoft.KeyVault(SecretUri={VAULT}/secrets/a;SECRETURI={VAULT}/secrets/a)", "duplicate key SecretUri"),
    ],
    ids=["R12-unknown", "R12-misspelt", "R12-version", "R12-duplicate-any-case", "R12-duplicate-vault",
         "R12-duplicate-uri"],
)  # fmt: skip
def test_r12_unknown_and_duplicate_keys_rejected(text: str, message: str) -> None:
    assert message in syntax_reason(text)


def test_r12_unknown_key_message_lists_known_keys() -> None:
    assert "SecretUri, VaultName, SecretName, SecretVersion" in syntax_reason(
        "@Microsoft.KeyVault(VaultName=myvault;SecretName=db;Foo=1)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"@Microsoft.KeyVault(SecretUri={VAULT}/secrets/db;SecretVersion={VERSION})", "cannot be combined"),
        (f"@Microsoft.KeyVault(SecretUri={VAULT}/secrets/db;VaultName=myvault)", "cannot be combined with VaultName"),
        (f"@Microsoft.KeyVault(SecretName=db;SecretUri={VAULT}/secrets/db)", "cannot be combined with SecretName"),
        ("@Microsoft.KeyVault(VaultName=myvault)", "missing SecretName"),
        ("@Microsoft.KeyVault(VaultName=myvault;SecretVersion=" + VERSION + ")", "missing SecretName"),
        ("@Microsoft.KeyVault(SecretName=db)", "missing VaultName"),
        (f"@Microsoft.KeyVault(SecretVersion={VERSION})", "missing VaultName"),
    ],
    ids=["R13-uri-and-version", "R13-uri-and-vault", "R13-name-and-uri", "R13-missing-name",
         "R13-vault-and-version-only", "R13-missing-vault", "R13-version-only"],
)  # fmt: skip
def test_r13_forms_do_not_mix_and_required_keys(text: str, message: str) -> None:
    assert message in syntax_reason(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the value is empty"),
        ("   \n\t", "the value is empty"),
        ("plain-text-value", "does not start with '@Microsoft.KeyVault('"),
        ("@Microsoft.KeyVault()", "the reference is empty"),
        ("@Microsoft.KeyVault(  ;  )", "the reference is empty"),
        ("@Microsoft.KeyVault(VaultName=myvault;;SecretName=db)", "empty part"),
        ("@Microsoft.KeyVault(;VaultName=myvault;SecretName=db)", "empty part"),
        ("@Microsoft.KeyVault(VaultName=myvault;SecretName=db;;)", "empty part"),
        ("@Microsoft.KeyVault(VaultName=myvault; ;SecretName=db)", "empty part"),
        ("@Microsoft.KeyVault(VaultName=myvault;SecretName)", "part 'SecretName' is not Key=Value"),
        ("@Microsoft.KeyVault(VaultName=myvault;=db)", "has no key"),
        ("@Microsoft.KeyVault(VaultName=myvault;SecretName=)", "empty value for SecretName"),
        ("@Microsoft.KeyVault(VaultName=myvault;SecretName=db;SecretVersion= )", "empty value for SecretVersion"),
        ("@Microsoft.KeyVault(SecretUri=)", "empty value for SecretUri"),
    ],
    ids=["R14-empty", "R14-blank", "R14-not-a-reference", "R14-empty-body", "R14-only-semicolon",
         "R14-double-semicolon", "R14-leading-semicolon", "R14-two-trailing-semicolons", "R14-blank-part",
         "R14-no-equals", "R14-no-key", "R14-empty-name", "R14-empty-version", "R14-empty-uri"],
)  # fmt: skip
def test_r14_empty_things_rejected(text: str, message: str) -> None:
    assert message in syntax_reason(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("@Microsoft.KeyVault(VaultName=myvault;SecretName=db", "closing ')' is missing"),
        ("@Microsoft.KeyVault(", "closing ')' is missing"),
        ("@Microsoft.KeyVault(VaultName=myvault;SecretName=db(x)", "closing ')' is missing"),
        ("@Microsoft.KeyVault(VaultName=myvault;SecretName=(db))", "parentheses are not allowed"),
        ("@Microsoft.KeyVault(VaultName=myvault;SecretName=db))", "an extra ')'"),
        ("@Microsoft.KeyVault(VaultName=myvault;SecretName=db);x", "after the closing ')' (2 characters)"),
        ("@Microsoft.KeyVault(VaultName=myvault;SecretName=db)x", "(1 character)"),
    ],
    ids=["R15-missing-close", "R15-prefix-only", "R15-unbalanced", "R15-nested", "R15-extra-close",
         "R15-trailing-text", "R15-one-trailing-character"],
)  # fmt: skip
def test_r15_parentheses_must_balance(text: str, message: str) -> None:
    assert message in syntax_reason(text)


def test_r15_trailing_text_is_not_quoted_and_points_to_find_references() -> None:
    reason = syntax_reason("@Microsoft.KeyVault(VaultName=myvault;SecretName=db);Password=hunter2")
    assert "hunter2" not in reason
    assert "find_references()" in reason


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("https://myvault.vault.azure.net@evil.com/secrets/db", "user information"),
        ("https://user:pass@myvault.vault.azure.net/secrets/db", "user information"),
        ("https://@myvault.vault.azure.net/secrets/db", "user information"),
        (f"{VAULT}/secrets/db?api-version=7.4", "query string"),
        (f"{VAULT}?x=1/secrets/db", "query string"),
        (f"{VAULT}/secrets/db#frag", "fragment"),
        ("https://evil.com#@myvault.vault.azure.net/secrets/db", "fragment"),
        (f"{VAULT}/secrets/d%62", "percent-encoding"),
        ("https://myvault%2evault.azure.net/secrets/db", "percent-encoding"),
        ("https://evil.com\\@myvault.vault.azure.net/secrets/db", "backslashes"),
        ("https://myvault.vault.azure.net\\secrets\\db", "backslashes"),
        ("https://myvault.vault.azure.net\t/secrets/db", "whitespace or control"),
        ("https://myvault.vault.azure.net/secrets/d b", "whitespace or control"),
        ("https://myvault.vault.azure.net/secrets/db\x00", "whitespace or control"),
        ("https://myvault.vault.azure.net\u200b/secrets/db", "whitespace or control"),
        ("https://myvault.vault.azure.net/secrets/d\xa0b", "whitespace or control"),
        ("https://myvault.vault.azure.net/secrets/d\x85b", "whitespace or control"),
        ("https://myvault.vault.azure.net/secrets/d\u2028b", "whitespace or control"),
        ("https://myvault.vault.azure.net/secrets/d\u3000b", "whitespace or control"),
        ("https://myvault.vault.azure.net/secrets/d\x1fb", "whitespace or control"),
        ("https://myvau\u0142t.vault.azure.net/secrets/db", "must be ASCII"),
        ("https://[::1]/secrets/db", "IPv6"),
        ("https://my_vault.vault.azure.net/secrets/db", "invalid host name"),
        ("https://myvault..vault.azure.net/secrets/db", "invalid host name"),
        ("https://myvault.vault.azure.net./secrets/db", "invalid host name"),
        ("https://-myvault.vault.azure.net/secrets/db", "invalid host name"),
        ("https:///secrets/db", "has no host"),
        ("https://myvault.vault.azure.net:/secrets/db", "invalid port"),
        ("https://myvault.vault.azure.net:0/secrets/db", "invalid port"),
        ("https://myvault.vault.azure.net:65536/secrets/db", "invalid port"),
        ("https://myvault.vault.azure.net:44x/secrets/db", "invalid port"),
        ("https://myvault.vault.azure.net:443:443/secrets/db", "invalid port"),
        ("https://myvault.vault.azure.net:\u0664\u0664\u0663/secrets/db", "must be ASCII"),
    ],
    ids=["R16-userinfo-trick", "R16-user-password", "R16-empty-userinfo", "R16-query", "R16-query-in-host",
         "R16-fragment", "R16-fragment-trick", "R16-percent-in-path", "R16-percent-in-host", "R16-backslash-trick",
         "R16-backslash-path", "R16-tab", "R16-space", "R16-nul", "R16-zero-width-space",
         "R16-nbsp", "R16-next-line", "R16-line-separator", "R16-ideographic-space", "R16-unit-separator",
         "R16-non-ascii-host",
         "R16-ipv6", "R16-underscore-host", "R16-empty-label", "R16-trailing-dot", "R16-dash-label", "R16-no-host",
         "R16-empty-port", "R16-port-zero", "R16-port-too-big", "R16-port-not-digits", "R16-two-ports",
         "R16-arabic-digit-port"],
)  # fmt: skip
def test_r16_secret_uri_must_be_plain(uri: str, message: str) -> None:
    assert message in syntax_reason(uri_ref(uri))


def test_r16_userinfo_trick_is_a_syntax_error_even_when_the_real_host_is_trusted() -> None:
    with pytest.raises(ReferenceSyntaxError, match="user information"):
        parse_reference(uri_ref("https://evil.com@myvault.vault.azure.net/secrets/db"), trusted_hosts=["evil.com"])


# -- trusted hosts ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["myvault.vault.azure.net", "myvault.vault.azure.cn", "myvault.vault.usgovcloudapi.net",
     "myvault.vault.microsoftazure.de", "MYVAULT.VAULT.AZURE.NET", "myvault.vault.azure.net:443"],
    ids=["R17-public", "R17-china", "R17-usgov", "R17-germany", "R17-upper-case", "R17-port-443"],
)  # fmt: skip
def test_r17_cloud_vault_hosts_are_trusted(host: str) -> None:
    assert is_trusted_host(host)
    assert parse_reference(uri_ref(f"https://{host}/secrets/db")).vault_host == host.lower().removesuffix(":443")


@pytest.mark.parametrize(
    "host",
    ["vault.azure.net", "a.b.vault.azure.net", "myvault.vault.azure.net.evil.com", "evil.example.com",
     "myvault.vault.azure.net:8443", "myvaultvault.azure.net", "myvault.managedhsm.azure.net", "localhost",
     "127.0.0.1", "myvault.vault.azure.com"],
    ids=["R17-bare-suffix", "R17-two-labels", "R17-suffix-then-evil", "R17-evil", "R17-other-port",
         "R17-no-dot-before-suffix", "R17-managed-hsm", "R17-localhost", "R17-ip", "R17-wrong-tld"],
)  # fmt: skip
def test_r17_other_hosts_are_untrusted(host: str) -> None:
    assert not is_trusted_host(host)
    with pytest.raises(UntrustedVaultError) as info:
        parse_reference(uri_ref(f"https://{host}/secrets/db"), setting="DB", origin=".env:3")
    assert info.value.host == host
    assert (info.value.setting, info.value.origin) == ("DB", ".env:3")
    assert "in setting 'DB' from .env:3" in str(info.value)


@pytest.mark.parametrize(
    "host",
    ["my vault.vault.azure.net", "user@myvault.vault.azure.net", "myvault.vault.azure.net/x", "", ":443",
     ".vault.azure.net", "myvault.vault.azure.net\n", "\u212a.vault.azure.net"],
    ids=["R17-space", "R17-userinfo", "R17-path", "R17-empty", "R17-port-only", "R17-empty-label", "R17-newline",
         "R17-kelvin"],
)  # fmt: skip
def test_r17_malformed_hosts_are_never_trusted(host: str) -> None:
    assert not is_trusted_host(host)


def test_r17_trusted_suffixes_exclude_managed_hsm() -> None:
    assert TRUSTED_VAULT_SUFFIXES == (
        ".vault.azure.net",
        ".vault.azure.cn",
        ".vault.usgovcloudapi.net",
        ".vault.microsoftazure.de",
    )


def test_r17_vault_name_form_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CLOUD_VAULT_SUFFIXES, "public", "evil.com")
    with pytest.raises(UntrustedVaultError):
        parse_reference("@Microsoft.KeyVault(VaultName=myvault;SecretName=db)")


def test_r17_syntax_is_checked_before_trust() -> None:
    with pytest.raises(ReferenceSyntaxError):
        parse_reference(uri_ref("http://evil.com/secrets/db"))


@pytest.mark.parametrize(
    ("host", "entries", "trusted"),
    [
        ("myvault.localhost:8443", ["myvault.localhost:8443"], True),
        ("MyVault.LocalHost:8443", ["myvault.localhost:8443"], True),
        ("myvault.localhost:8443", ["MYVAULT.LOCALHOST:8443"], True),
        ("other.localhost:8443", ["myvault.localhost:8443"], False),
        ("myvault.localhost", ["myvault.localhost:8443"], False),
        ("myvault.localhost:8443", [".localhost:8443"], True),
        ("a.b.localhost:8443", [".localhost:8443"], True),
        ("myvault.localhost:8443", ["*.localhost:8443"], True),
        ("localhost:8443", [".localhost:8443"], False),
        ("myvault.localhost", [".localhost:8443"], False),
        ("myvault.localhost:8443", [".localhost"], False),
        ("evillocalhost:8443", [".localhost:8443"], False),
        ("myvault.localhost:443", [".localhost"], True),
        ("myvault.localhost", [".localhost:443"], True),
        ("kv.internal.example", ["kv.internal.example"], True),
        ("kv.internal.example.evil.com", ["kv.internal.example"], False),
        ("x.kv.internal.example", ["kv.internal.example"], False),
        ("myvault.localhost:8443", (entry for entry in [".localhost:8443"]), True),
        ("myvault.localhost:8443", "myvault.localhost:8443", True),
        ("m.localhost:8443", "myvault.localhost:8443", False),
    ],
    ids=["R18-exact", "R18-host-case", "R18-entry-case", "R18-other-host", "R18-port-must-match",
         "R18-suffix", "R18-suffix-any-depth", "R18-star-suffix", "R18-suffix-needs-a-label",
         "R18-suffix-port-must-match", "R18-suffix-without-port", "R18-suffix-is-a-label-boundary",
         "R18-443-is-default", "R18-entry-443-is-default", "R18-exact-no-port", "R18-exact-not-prefix",
         "R18-exact-not-suffix", "R18-generator", "R18-single-string", "R18-single-string-not-characters"],
)  # fmt: skip
def test_r18_user_trusted_hosts(host: str, entries: Iterable[str], trusted: bool) -> None:
    assert is_trusted_host(host, entries) is trusted


def test_r18_trusted_hosts_let_a_reference_parse() -> None:
    text = uri_ref("https://myvault.localhost:8443/secrets/db")
    with pytest.raises(UntrustedVaultError):
        parse_reference(text)
    ref = parse_reference(text, trusted_hosts=[".localhost:8443"])
    assert ref == KeyVaultReference("https://myvault.localhost:8443", "db", None)


@pytest.mark.parametrize(
    "entry",
    ["https://myvault.localhost", "myvault.localhost/", "user@myvault.localhost", ".", "*.", "", "host:port",
     "my vault.localhost"],
    ids=["R18-scheme", "R18-path", "R18-userinfo", "R18-dot", "R18-star", "R18-empty", "R18-bad-port", "R18-space"],
)  # fmt: skip
def test_r18_malformed_entries_raise_value_error(entry: str) -> None:
    with pytest.raises(ValueError, match="trusted_hosts entry"):
        is_trusted_host("myvault.vault.azure.net", [entry])


# -- embedded references ----------------------------------------------------------------------------------------------


def test_r19_find_references_in_a_connection_string() -> None:
    text = "Server=x;Password=@Microsoft.KeyVault(VaultName=myvault;SecretName=db);Timeout=3"
    found = find_references(text)
    assert found == [(18, 70, KeyVaultReference(VAULT, "db", None))]
    assert text[18:70] == "@Microsoft.KeyVault(VaultName=myvault;SecretName=db)"


def test_r19_find_several_references_in_order() -> None:
    first = "@microsoft.keyvault(VaultName=myvault;SecretName=user)"
    second = uri_ref(f"{VAULT}/secrets/pass/{VERSION}")
    text = f"postgres://{first}:{second}@db:5432"
    found = find_references(text)
    assert [(start, end) for start, end, _ in found] == [
        (11, 11 + len(first)),
        (12 + len(first), 12 + len(first) + len(second)),
    ]
    assert [ref.name for _, _, ref in found] == ["user", "pass"]
    for start, end, ref in found:
        assert parse_reference(text[start:end]) == ref


@pytest.mark.parametrize(
    "text", ["", "plain value", "@Microsoft.KeyVault", "email@Microsoft.com"], ids=lambda t: f"R19-{t!r}"
)
def test_r19_no_references_gives_empty_list(text: str) -> None:
    assert find_references(text) == []


def test_r19_malformed_embedded_reference_raises_with_location() -> None:
    with pytest.raises(ReferenceSyntaxError, match="unknown key 'Foo'") as info:
        find_references("A=1;B=@Microsoft.KeyVault(VaultName=myvault;Foo=db);C=2", setting="CONN", origin="app.json")
    assert (info.value.setting, info.value.origin) == ("CONN", "app.json")


def test_r19_unterminated_embedded_reference_reports_position_only() -> None:
    with pytest.raises(ReferenceSyntaxError, match="at character 6 has no closing") as info:
        find_references("A=1;B=@Microsoft.KeyVault(VaultName=myvault;SecretName=db;Password=hunter2")
    assert "hunter2" not in str(info.value)


def test_r19_nested_parentheses_end_at_the_matching_one_and_are_rejected() -> None:
    with pytest.raises(ReferenceSyntaxError, match="parentheses are not allowed"):
        find_references("x=@Microsoft.KeyVault(VaultName=myvault;SecretName=(db));y=(1)")


def test_r19_untrusted_embedded_reference_raises() -> None:
    with pytest.raises(UntrustedVaultError):
        find_references("Password=" + uri_ref("https://evil.com/secrets/db") + ";x=1")


def test_r19_find_references_uses_cloud_and_trusted_hosts() -> None:
    text = "a=@Microsoft.KeyVault(VaultName=myvault;SecretName=a);b=" + uri_ref("https://kv.localhost:8443/secrets/b")
    found = find_references(text, cloud="china", trusted_hosts=(host for host in ["kv.localhost:8443"]))
    assert [ref.vault_url for _, _, ref in found] == ["https://myvault.vault.azure.cn", "https://kv.localhost:8443"]


# -- App Configuration references -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [APPCONFIG, APPCONFIG.upper(), f"{APPCONFIG};charset=utf-8", f" {APPCONFIG} ; charset=utf-8"],
    ids=["R20-exact", "R20-upper", "R20-charset", "R20-spaces"],
)
def test_r20_appconfig_reference_parses(content_type: str) -> None:
    value = f'{{"uri": "{VAULT}/secrets/db/{VERSION}"}}'
    assert parse_appconfig_reference(value, content_type) == KeyVaultReference(VAULT, "db", VERSION)


@pytest.mark.parametrize(
    "content_type",
    [None, "", "application/json", "text/plain", APPCONFIG + "x", "application/vnd.microsoft.appconfig.ff+json",
     "application/vnd.microsoft.appconfig.\u212aeyvaultref+json"],
    ids=["R20-none", "R20-empty", "R20-json", "R20-text", "R20-longer", "R20-feature-flag", "R20-kelvin"],
)  # fmt: skip
def test_r20_other_content_types_give_none(content_type: str | None) -> None:
    assert parse_appconfig_reference('{"uri": "not even checked"}', content_type) is None


def test_r20_appconfig_tolerates_normalisation_and_extra_members() -> None:
    value = '{"uri": " HTTPS://MyVault.vault.azure.net:443/secrets/db/ ", "note": 1}'
    assert parse_appconfig_reference(value, APPCONFIG) == KeyVaultReference(VAULT, "db", None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not json at all hunter2", "not valid JSON"),
        ("", "not valid JSON"),
        ("[" * 100_000, "not valid JSON"),
        ('["https://myvault.vault.azure.net/secrets/db"]', 'JSON object with a "uri" string'),
        ('{"url": "https://myvault.vault.azure.net/secrets/db"}', 'JSON object with a "uri" string'),
        ('{"Uri": "https://myvault.vault.azure.net/secrets/db"}', 'JSON object with a "uri" string'),
        ('{"uri": 42}', 'JSON object with a "uri" string'),
        ('{"uri": "https://a.vault.azure.net/secrets/a", "uri": "https://b.vault.azure.net/secrets/b"}', "duplicate"),
        ('{"uri": "http://myvault.vault.azure.net/secrets/db"}', "uri must use https"),
        ('{"uri": "https://myvault.vault.azure.net/keys/db"}', "only secrets"),
        ('{"uri": "https://myvault.vault.azure.net@evil.com/secrets/db"}', "user information"),
        ('{"uri": "https://myvault.vault.azure.net/secrets/db/latest"}', "invalid secret version"),
        ('{"uri": "https://myvault.vault.azure.net/secrets/db_1"}', "invalid secret name"),
    ],
    ids=["R20-not-json", "R20-empty-value", "R20-deep-nesting", "R20-array", "R20-wrong-member",
         "R20-member-case", "R20-uri-not-string", "R20-duplicate-uri", "R20-R7-http", "R20-R8-keys",
         "R20-R16-userinfo", "R20-R11-version", "R20-R9-name"],
)  # fmt: skip
def test_r20_bad_appconfig_values_raise_syntax_errors(value: str, message: str) -> None:
    with pytest.raises(ReferenceSyntaxError, match=re.escape(message)) as info:
        parse_appconfig_reference(value, APPCONFIG, setting="Db:Password", origin="appconfig")
    assert "hunter2" not in str(info.value)
    assert (info.value.setting, info.value.origin) == ("Db:Password", "appconfig")


def test_r20_appconfig_trust_rules_apply() -> None:
    value = '{"uri": "https://kv.localhost:8443/secrets/db"}'
    with pytest.raises(UntrustedVaultError):
        parse_appconfig_reference(value, APPCONFIG)
    ref = parse_appconfig_reference(value, APPCONFIG, trusted_hosts=["kv.localhost:8443"])
    assert ref == KeyVaultReference("https://kv.localhost:8443", "db", None)


# -- results and messages ---------------------------------------------------------------------------------------------


def test_r21_reference_properties() -> None:
    ref = KeyVaultReference(VAULT, "DbPassword", VERSION)
    assert ref.vault_host == "myvault.vault.azure.net"
    assert ref.secret_id == f"{VAULT}/secrets/DbPassword/{VERSION}"
    assert ref.key == (VAULT, "dbpassword", VERSION)
    assert str(ref) == f"@Microsoft.KeyVault(SecretUri={VAULT}/secrets/DbPassword/{VERSION})"
    assert KeyVaultReference(VAULT, "db").secret_id == f"{VAULT}/secrets/db"


def test_r21_repr_is_the_dataclass_repr() -> None:
    assert repr(KeyVaultReference(VAULT, "db", None)) == (
        "KeyVaultReference(vault_url='https://myvault.vault.azure.net', name='db', version=None)"
    )


@pytest.mark.parametrize(
    "text",
    [
        "@Microsoft.KeyVault(VaultName=MyVault;SecretName=Db;SecretVersion=" + VERSION.upper() + ")",
        uri_ref("https://MYVAULT.vault.azure.net:443/Secrets/db/"),
        " @microsoft.keyvault( secreturi = https://myvault.vault.azure.cn/secrets/x ; ) ",
    ],
    ids=["R21-vault-name", "R21-uri", "R21-china"],
)
def test_r21_str_round_trips(text: str) -> None:
    ref = parse_reference(text)
    assert parse_reference(str(ref)) == ref
    assert str(parse_reference(str(ref))) == str(ref)


def test_r21_key_dedupes_name_case_but_equality_keeps_it() -> None:
    upper = parse_reference("@Microsoft.KeyVault(VaultName=myvault;SecretName=DB)")
    lower = parse_reference(uri_ref(f"{VAULT}/secrets/db"))
    assert upper.key == lower.key
    assert upper != lower
    assert len({upper, lower}) == 2


def test_r21_reference_is_frozen() -> None:
    ref = KeyVaultReference(VAULT, "db")
    with pytest.raises(AttributeError):
        ref.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("vault_url", "name", "version"),
    [
        ("http://myvault.vault.azure.net", "db", None),
        ("https://MyVault.vault.azure.net", "db", None),
        ("https://myvault.vault.azure.net/", "db", None),
        ("https://myvault.vault.azure.net:443", "db", None),
        ("myvault.vault.azure.net", "db", None),
        (VAULT, "db_1", None),
        (VAULT, "db", VERSION.upper()),
        (VAULT, "db", "latest"),
    ],
    ids=["R21-http", "R21-upper-host", "R21-trailing-slash", "R21-port-443", "R21-no-scheme", "R21-bad-name",
         "R21-upper-version", "R21-bad-version"],
)  # fmt: skip
def test_r21_constructor_rejects_non_canonical_fields(vault_url: str, name: str, version: str | None) -> None:
    with pytest.raises(ReferenceSyntaxError, match="not canonical"):
        KeyVaultReference(vault_url, name, version)


def test_r22_message_names_setting_origin_and_reference() -> None:
    with pytest.raises(ReferenceSyntaxError) as info:
        parse_reference(uri_ref("http://myvault.vault.azure.net/secrets/db"), setting="DB_PASSWORD", origin=".env:3")
    assert str(info.value) == (
        "Invalid Key Vault reference in setting 'DB_PASSWORD' from .env:3: SecretUri must use https, not http "
        "(in '@Microsoft.KeyVault(SecretUri=http://myvault.vault.azure.net/secrets/db)')"
    )
    assert isinstance(info.value, ValueError)


def test_r22_long_references_are_truncated_in_messages() -> None:
    text = f"@Microsoft.KeyVault(VaultName=myvault;SecretName={'a' * 500})"
    reason = syntax_reason(text)
    assert text[:200] in reason
    assert text[:201] not in reason
    assert f"({len(text)} characters)" in reason


def test_r22_non_reference_values_are_never_quoted() -> None:
    reason = syntax_reason("hunter2-is-my-password", setting="DB_PASSWORD")
    assert "hunter2" not in reason


def test_r22_control_characters_are_escaped_in_messages() -> None:
    reason = syntax_reason("@Microsoft.KeyVault(VaultName=myvault;SecretName=db\x1b[31m;Forged\nline)")
    assert "\x1b" not in reason
    assert "\n" not in reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@Microsoft.KeyVault(anything", True),
        ("  \n@MICROSOFT.KEYVAULT(", True),
        ("@microsoft.keyvault()", True),
        ("@Microsoft.KeyVault", False),
        ("x@Microsoft.KeyVault(VaultName=v;SecretName=s)", False),
        ("", False),
        ("@Microsoft.\u212aeyVault(", False),
    ],
    ids=["R23-prefix", "R23-leading-space-upper", "R23-lower", "R23-no-paren", "R23-embedded", "R23-empty",
         "R23-kelvin"],
)  # fmt: skip
def test_r23_is_reference(text: str, expected: bool) -> None:
    assert is_reference(text) is expected
