"""Seed files of the fake: what is accepted, and the SeedError every malformed file gets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kvconfig.fake import FakeKeyVault, SeedError


def test_seed_shorthand_value_creates_one_enabled_version() -> None:
    fake = FakeKeyVault()
    fake.seed({"vaults": {"myvault": {"secrets": {"a": "1"}}}})
    assert fake.get_secret_value("myvault", "a") == "1"
    [version] = fake.vault("myvault").secrets.get("a").versions.values()  # type: ignore[union-attr]
    assert version.attributes.enabled is True


def test_seed_keeps_given_times_and_versions() -> None:
    fake = FakeKeyVault()
    fake.seed(
        {"vaults": {"myvault": {"secrets": {"a": {"value": "1", "version": "AB" * 16, "created": 10, "updated": 20}}}}}
    )
    obj = fake.vault("myvault").secrets.get("a")
    assert obj is not None
    version = obj.current()
    assert (version.version, version.attributes.created, version.attributes.updated) == ("ab" * 16, 10, 20)


def test_dump_holds_everything_seed_needs() -> None:
    fake = FakeKeyVault()
    fake.create_vault("https://cn-vault.vault.azure.cn", retention_days=30)
    fake.set_secret("https://cn-vault.vault.azure.cn", "s", "v", tags={"a": "b"}, content_type="t", enabled=False)
    dumped = fake.dump()
    vault = dumped["vaults"]["cn-vault.vault.azure.cn"]
    assert vault["properties"]["retention_days"] == 30
    [entry] = vault["secrets"]["s"]["versions"]
    assert entry["value"] == "v"
    assert entry["tags"] == {"a": "b"}
    assert entry["enabled"] is False
    again = FakeKeyVault()
    again.seed(json.loads(json.dumps(dumped)))
    assert again.dump() == dumped


BAD_SEEDS: list[tuple[str, Any, str]] = [
    ("unknown-top-level", {"vaults": {}, "extra": 1}, "Unknown top-level"),
    ("vaults-not-object", {"vaults": []}, "'vaults' must be an object"),
    ("vault-not-object", {"vaults": {"myvault": "x"}}, "must map to an object"),
    ("unknown-vault-member", {"vaults": {"myvault": {"widgets": {}}}}, "Unknown member(s) in vault"),
    ("unknown-property", {"vaults": {"myvault": {"properties": {"color": "red"}}}}, "Unknown vault properties"),
    ("properties-not-object", {"vaults": {"myvault": {"properties": "x"}}}, "must be an object"),
    ("bad-retention", {"vaults": {"myvault": {"properties": {"retention_days": 3}}}}, "retention_days"),
    ("bad-vault-name", {"vaults": {"x": {}}}, "Cannot create vault"),
    ("secrets-not-object", {"vaults": {"myvault": {"secrets": []}}}, "'secrets' of vault"),
    ("secret-not-string-or-object", {"vaults": {"myvault": {"secrets": {"a": 1}}}}, "must be a string or an object"),
    ("missing-value", {"vaults": {"myvault": {"secrets": {"a": {"tags": {}}}}}}, "needs a string 'value'"),
    ("empty-versions", {"vaults": {"myvault": {"secrets": {"a": {"versions": []}}}}}, "non-empty list"),
    ("unknown-version-member", {"vaults": {"myvault": {"secrets": {"a": {"value": "v", "x": 1}}}}}, "Unknown member"),
    ("bad-secret-name", {"vaults": {"myvault": {"secrets": {"a_b": "v"}}}}, "is not valid"),
    ("bad-version-id", {"vaults": {"myvault": {"secrets": {"a": {"value": "v", "version": "1"}}}}}, "32 hexadecimal"),
    ("enabled-as-string", {"vaults": {"myvault": {"secrets": {"a": {"value": "v", "enabled": "no"}}}}}, "or false"),
    ("exp-as-date-string", {"vaults": {"myvault": {"secrets": {"a": {"value": "v", "exp": "2030"}}}}}, "seconds"),
    ("tags-not-strings", {"vaults": {"myvault": {"secrets": {"a": {"value": "v", "tags": {"n": 1}}}}}}, "'tags'"),
]


@pytest.mark.parametrize(("data", "message"), [(d, m) for _, d, m in BAD_SEEDS], ids=[i for i, _, _ in BAD_SEEDS])
def test_seed_malformed_mapping_raises_seed_error(data: Any, message: str) -> None:
    with pytest.raises(SeedError) as caught:
        FakeKeyVault().seed(data)
    assert message in str(caught.value)


def test_seed_missing_file_raises_seed_error(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="Cannot read the seed file"):
        FakeKeyVault().seed(tmp_path / "absent.json")


def test_seed_invalid_json_file_raises_seed_error_with_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"vaults": {\n  "a": }', encoding="utf-8")
    with pytest.raises(SeedError, match=r"not valid JSON \(line 2"):
        FakeKeyVault().seed(path)


def test_seed_json_file_that_is_not_an_object_raises_seed_error(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(SeedError, match="must hold a JSON object"):
        FakeKeyVault().seed(str(path))


def test_seed_error_is_a_value_error() -> None:
    assert issubclass(SeedError, ValueError)
