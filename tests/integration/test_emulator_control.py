"""The emulator's control API (``/_kvconfig/...``), driven with httpx against a live ``serve()`` as a test in another
language would, with the official SDK on the vault side to see each change take effect."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.keys import KeyClient
from azure.keyvault.secrets import SecretClient
from click.testing import CliRunner

from kvconfig.cli import cli
from kvconfig.fake import FakeKeyVault
from kvconfig.fake.serve.emulator import EmulatorServer
from tests.integration.emulator_support import remote_control

pytest.importorskip("uvicorn")
pytestmark = pytest.mark.usefixtures("loopback_names")


@pytest.fixture
def fake() -> FakeKeyVault:
    return FakeKeyVault()


def _trust(server: EmulatorServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.ca_path))


def _secrets(fake: FakeKeyVault, server: EmulatorServer, **options: object) -> SecretClient:
    return SecretClient(server.url_for("myvault"), fake.credential(), connection_verify=str(server.ca_path), **options)


def test_health_names_the_vault_shape_and_the_clock(control: httpx.Client, server: EmulatorServer) -> None:
    health = control.get("/health").json()
    assert health["status"] == "ok"
    assert health["vaults"] == f"https://<vault>.localhost:{server.port}"
    assert health["clock"]["kind"] == "system"
    assert health["persistent"] is False


def test_advancing_the_clock_purges_a_deleted_secret_after_its_retention(
    fake: FakeKeyVault, server: EmulatorServer, control: httpx.Client
) -> None:
    client = _secrets(fake, server)
    client.set_secret("old", "v")
    client.begin_delete_secret("old").wait()
    assert client.get_deleted_secret("old").name == "old"

    moved = control.post("/clock", json={"advance": 91 * 86400})

    assert moved.status_code == 200
    assert moved.json()["kind"] == "offset"
    assert 91 * 86400 <= moved.json()["offset"] < 91 * 86400 + 60
    with pytest.raises(ResourceNotFoundError):
        client.get_deleted_secret("old")
    assert control.get("/clock").json()["offset"] == moved.json()["offset"]


def test_setting_the_clock_to_an_iso_time_moves_it_there(control: httpx.Client) -> None:
    moved = control.post("/clock", json={"set": "2031-01-01T00:00:00Z"}).json()
    assert moved["iso"].startswith("2031-01-01T00:00")


@pytest.mark.parametrize(
    "body",
    [{"advance": -1}, {"advance": "1"}, {"advance": float("inf")}, {"set": "yesterday"}, {"set": -5}, {}],
)
def test_bad_clock_moves_get_400_and_leave_the_clock_alone(control: httpx.Client, body: dict[str, object]) -> None:
    response = control.post("/clock", content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadParameter"
    assert control.get("/clock").json()["kind"] == "system"


def test_an_injected_fault_fails_the_sdk_call_until_cleared(
    fake: FakeKeyVault, server: EmulatorServer, control: httpx.Client
) -> None:
    client = _secrets(fake, server, retry_total=0)
    client.set_secret("db", "v")
    added = control.post("/faults", json={"status": 503, "retry_after": 1, "times": None, "operation": "GetSecret"})
    assert added.status_code == 201
    assert added.json()["id"]
    assert added.json()["times"] is None

    with pytest.raises(HttpResponseError) as failed:
        client.get_secret("db")
    assert failed.value.status_code == 503
    listed = control.get("/faults").json()["value"]
    assert [(fault["id"], fault["hits"]) for fault in listed] == [(added.json()["id"], 1)]

    assert control.delete(f"/faults/{added.json()['id']}").json() == {"removed": 1}
    assert client.get_secret("db").value == "v"
    assert control.delete("/faults/999").status_code == 404


def test_clearing_faults_removes_every_one(fake: FakeKeyVault, control: httpx.Client) -> None:
    control.post("/faults", json={"error": "drop", "vault": "other"})
    control.post("/faults", json={"status": 500})
    assert control.delete("/faults").json() == {"removed": 2}
    assert len(fake.faults) == 0


@pytest.mark.parametrize(
    "body", [{"status": 200}, {"error": "explode"}, {"status": 503, "bogus": 1}, {"status": True}, {"times": 0}]
)
def test_bad_faults_get_400(control: httpx.Client, body: dict[str, object]) -> None:
    response = control.post("/faults", json=body)
    assert response.status_code == 400, response.text


def test_throttling_set_through_the_api_answers_429(
    fake: FakeKeyVault, server: EmulatorServer, control: httpx.Client
) -> None:
    client = _secrets(fake, server, retry_total=0)
    client.set_secret("db", "v")
    assert control.put("/vaults/myvault/throttling", json={"limit": 1, "window": 60}).json()["enabled"] is True
    client.get_secret("db")
    with pytest.raises(HttpResponseError) as throttled:
        client.get_secret("db")
    assert throttled.value.status_code == 429
    control.put("/vaults/myvault/throttling", json={"enabled": False})
    assert client.get_secret("db").value == "v"


def test_seed_then_dump_only_with_reveal(fake: FakeKeyVault, server: EmulatorServer, control: httpx.Client) -> None:
    seeded = control.post("/seed", json={"vaults": {"seeded": {"secrets": {"api-key": "k-1"}}}})
    assert seeded.json() == {"vaults": [server.url_for("seeded")]}
    client = SecretClient(server.url_for("seeded"), fake.credential(), connection_verify=str(server.ca_path))
    assert client.get_secret("api-key").value == "k-1"

    hidden = control.get("/dump")
    assert hidden.status_code == 403
    assert "k-1" not in hidden.text
    dump = control.get("/dump", params={"reveal": 1}).json()
    assert dump["vaults"]["seeded"]["secrets"]["api-key"]["versions"][0]["value"] == "k-1"


def test_a_bad_seed_gets_400_naming_the_problem(control: httpx.Client) -> None:
    response = control.post("/seed", json={"vaults": {"vault1": {"secrets": {"x": "5"}, "bogus": {}}}})
    assert response.status_code == 400
    assert "bogus" in response.json()["error"]["message"]


def test_audit_and_events_show_the_sdk_write(fake: FakeKeyVault, server: EmulatorServer, control: httpx.Client) -> None:
    _secrets(fake, server).set_secret("db", "top-secret")
    audit = control.get("/audit", params={"limit": 5, "vault": "myvault"})
    events = control.get("/events", params={"vault": "myvault"})
    assert [record["operationName"] for record in audit.json()["value"]][-1] == "SecretSet"
    assert "SecretNewVersionCreated" in [event["eventType"].split(".")[-1] for event in events.json()["value"]]
    assert "top-secret" not in audit.text + events.text
    assert control.get("/audit", params={"limit": 0}).status_code == 400
    assert control.get("/audit", params={"limit": "10001"}).status_code == 400


def test_inventory_lists_metadata_and_reveals_values_only_when_asked(
    fake: FakeKeyVault, server: EmulatorServer, control: httpx.Client
) -> None:
    client = _secrets(fake, server)
    client.set_secret("db", "first")
    client.set_secret("db", "second")
    client.set_secret("gone", "x")
    client.begin_delete_secret("gone").wait()
    keys = KeyClient(server.url_for("myvault"), fake.credential(), connection_verify=str(server.ca_path))
    keys.create_ec_key("signer")

    vaults = control.get("/vaults").json()["value"]
    assert [(v["name"], v["counts"], v["deletedCounts"]["secrets"]) for v in vaults] == [
        ("myvault", {"secrets": 1, "keys": 1, "certificates": 0}, 1)
    ]
    detail = control.get("/vaults/myvault")
    assert detail.status_code == 200
    assert "first" not in detail.text
    assert "second" not in detail.text
    secrets = {item["name"]: item for item in detail.json()["secrets"]}
    assert len(secrets["db"]["versions"]) == 2
    assert [item["name"] for item in detail.json()["deleted"]["secrets"]] == ["gone"]

    hidden = control.get("/vaults/myvault/secrets/db").json()
    assert all("value" not in version for version in hidden["versions"])
    shown = control.get("/vaults/myvault/secrets/db", params={"reveal": 1}).json()
    assert [version["value"] for version in shown["versions"]] == ["first", "second"]

    key = control.get("/vaults/myvault/keys/signer", params={"reveal": 1}).json()
    assert key["versions"][0]["jwk"]["crv"] == "P-256"
    assert "d" not in key["versions"][0]["jwk"]
    assert control.get("/vaults/nosuch").status_code == 404
    assert control.get("/vaults/myvault/secrets/nosuch").status_code == 404


def test_the_control_api_is_not_served_on_a_vault_host(fake: FakeKeyVault, server: EmulatorServer) -> None:
    with httpx.Client(verify=_trust(server)) as http:
        response = http.get(f"{server.url_for('myvault')}/_kvconfig/vaults")
    assert response.status_code == 401  # the Key Vault REST API answers there, with its challenge


def test_changes_need_json_and_reject_foreign_origins_and_bad_bodies(
    server: EmulatorServer, control: httpx.Client
) -> None:
    form = control.post("/clock", content=b"advance=5", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415
    foreign = control.post("/faults", json={"status": 503}, headers={"Origin": "https://attacker.example"})
    assert foreign.status_code == 403
    own = control.get("/faults", headers={"Origin": server.base_url})
    assert own.status_code == 200
    deep = control.post("/seed", content=b"[" * 100_000, headers={"Content-Type": "application/json"})
    assert deep.status_code == 400
    assert control.post("/seed", json=[1, 2]).status_code == 400
    assert control.get("/nothing-here").status_code == 404
    assert control.delete("/clock").status_code == 405


async def test_a_peer_beyond_loopback_is_refused_without_a_control_token(server: EmulatorServer) -> None:
    async with remote_control(server, "203.0.113.7") as remote:
        assert (await remote.get("/vaults")).status_code == 403
        assert (await remote.post("/clock", json={"advance": 5})).status_code == 403
        assert (await remote.get("/health")).status_code == 200  # holds nothing
    async with remote_control(server, "127.0.0.1") as local:
        assert (await local.get("/vaults")).status_code == 200


async def test_a_peer_beyond_loopback_gets_in_with_the_configured_token_only() -> None:
    fake = FakeKeyVault()
    with fake.serve(control_token="s3cret-control-token-0123") as server:
        async with remote_control(server, "203.0.113.7") as remote:
            assert (await remote.get("/vaults")).status_code == 403
            wrong = await remote.get("/vaults", headers={"Authorization": "Bearer not-the-token-at-all"})
            assert wrong.status_code == 403
            right = await remote.get("/vaults", headers={"Authorization": "Bearer s3cret-control-token-0123"})
            assert right.status_code == 200


def test_fake_serve_refuses_a_control_token_file_that_holds_no_usable_token(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("short\n")
    result = CliRunner().invoke(cli, ["fake", "serve", "--port", "0", "--control-token-file", str(token_file)])
    assert result.exit_code != 0
    assert "must hold one token of 16 to 4096 characters" in result.output
    assert "Traceback" not in result.output
