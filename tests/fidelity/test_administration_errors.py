"""Managed HSM administration answers that are errors, as the service's recorded answers show them (Go and C++
session records in Azure/azure-sdk-assets), for requests the official clients cannot be made to send."""

from __future__ import annotations

import pytest

from kvconfig.fake import FakeKeyVault, Identity

POOL = "https://errorspool.managedhsm.azure.net"
ADMIN = Identity("pool-admin")


def _fake_and_token() -> tuple[FakeKeyVault, str]:
    fake = FakeKeyVault()
    fake.create_vault(POOL, cloud="managedhsm.azure.net", activated=True)
    return fake, fake.credential(ADMIN).get_token("https://managedhsm.azure.net/.default").token


def test_updating_a_setting_without_a_body_is_the_recorded_400() -> None:
    fake, token = _fake_and_token()
    url = f"{POOL}/settings/AllowKeyManagementOperationsThroughARM?api-version=7.6"
    answer = fake.handle("PATCH", url, {"Authorization": f"Bearer {token}"})
    assert answer.status == 400
    # Go session record TestUpdateSetting_InvalidUpdateSettingRequest.
    assert answer.json()["error"] == {"code": "Nocontentprovided", "message": "No content provided"}


@pytest.mark.parametrize("kind", ["backup", "restore"])
def test_status_of_an_unknown_job_is_the_recorded_404(kind: str) -> None:
    fake, token = _fake_and_token()
    answer = fake.handle(
        "GET", f"{POOL}/{kind}/nosuchjob/pending?api-version=7.6", {"Authorization": f"Bearer {token}"}
    )
    assert answer.status == 404
    assert answer.json()["error"] == {"code": "NotFound", "message": "The given jobId is not found"}
