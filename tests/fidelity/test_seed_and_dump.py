"""Seeding a fake from a JSON file and dumping it back, checked through the official SecretClient."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from azure.keyvault.secrets import SecretClient

from kvconfig.fake import FakeKeyVault

SEED = {
    "vaults": {
        "seeded": {
            "secrets": {
                "db-password": "s3cret",
                "api-key": {
                    "value": "k",
                    "contentType": "text/plain",
                    "tags": {"env": "dev"},
                    "enabled": True,
                    "nbf": 1700000000,
                    "exp": 1900000000,
                },
                "rotated": {"versions": [{"value": "old"}, {"value": "new", "version": "ab" * 16}]},
                "off": {"value": "hidden", "enabled": False},
            }
        },
        "https://weekly.vault.azure.cn": {
            "properties": {"retention_days": 7, "purge_protection": True},
            "secrets": {"cn": "china"},
        },
    }
}


def _client(fake: FakeKeyVault, url: str) -> SecretClient:
    return SecretClient(url, fake.credential(), transport=fake.transport(), retry_total=0)


def test_seed_from_json_file_is_served_to_the_sdk(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(SEED), encoding="utf-8")
    fake = FakeKeyVault()
    fake.seed(path)
    with _client(fake, "https://seeded.vault.azure.net") as client:
        assert client.get_secret("db-password").value == "s3cret"
        api_key = client.get_secret("api-key")
        assert api_key.properties.content_type == "text/plain"
        assert api_key.properties.tags == {"env": "dev"}
        assert api_key.properties.not_before == datetime.fromtimestamp(1700000000, timezone.utc)
        assert api_key.properties.expires_on == datetime.fromtimestamp(1900000000, timezone.utc)
        rotated = client.get_secret("rotated")
        assert (rotated.value, rotated.properties.version) == ("new", "ab" * 16)
        assert len(list(client.list_properties_of_secret_versions("rotated"))) == 2
        assert next(p for p in client.list_properties_of_secrets() if p.name == "off").enabled is False
    with _client(fake, "https://weekly.vault.azure.cn") as client:
        secret = client.get_secret("cn")
        assert secret.value == "china"
        assert secret.properties.recovery_level == "CustomizedRecoverable"
        assert secret.properties.recoverable_days == 7


def test_dump_then_seed_round_trips_through_a_json_file(tmp_path: Path) -> None:
    original = FakeKeyVault()
    original.seed(SEED)
    with _client(original, "https://seeded.vault.azure.net") as client:
        client.set_secret("added-by-sdk", "via-sdk", tags={"by": "sdk"})
        client.update_secret_properties("db-password", content_type="text/x-password")
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(original.dump()), encoding="utf-8")

    copy = FakeKeyVault()
    copy.seed(path)
    assert copy.dump() == original.dump()
    with _client(copy, "https://seeded.vault.azure.net") as client:
        assert client.get_secret("added-by-sdk").properties.tags == {"by": "sdk"}
        assert client.get_secret("db-password").properties.content_type == "text/x-password"
        assert client.get_secret("rotated", "ab" * 16).value == "new"
