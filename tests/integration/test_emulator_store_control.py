"""The control API's App Configuration endpoints (``/_kvconfig/appconfig/...``), driven with httpx as a test in another
language would, with the official ``azure-appconfiguration`` client on the store side to see each change; the dump as
a seed file (control API and ``--dump-on-exit``) read back by ``--seed``; changes kept in ``--data-dir``."""

from __future__ import annotations

import json
import socket
import ssl
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.serve.emulator import EmulatorServer

from .emulator_support import fake_serve, remote_control, stop_serving, wait_for_ready

pytest.importorskip("uvicorn")
appconfiguration = pytest.importorskip("azure.appconfiguration")
from kvconfig.fake.appconfig import KEYVAULT_REF_CONTENT_TYPE, FakeAppConfiguration  # noqa: E402

pytestmark = [pytest.mark.usefixtures("loopback_names"), pytest.mark.serve_stores]

GREETING = "hello-from-the-control-api"
SEED: dict[str, Any] = {
    "contoso-config": [
        {"key": "app:greeting", "value": GREETING, "label": "prod", "tags": {"team": "web"}},
        {"key": "app:db", "secret_uri": "https://shop.localhost/secrets/db", "locked": True},
    ]
}


@pytest.fixture
def fake() -> FakeKeyVault:
    return FakeKeyVault()


def _trust(server: EmulatorServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.ca_path))


def _client(fake: FakeKeyVault, server: EmulatorServer, store: str = "contoso-config") -> Any:
    endpoint = server.store_url_for(store)
    return appconfiguration.AzureAppConfigurationClient(
        endpoint, fake.credential(), connection_verify=str(server.ca_path)
    )


def test_key_values_seeded_through_the_control_api_are_what_the_official_client_reads(
    fake: FakeKeyVault, server: EmulatorServer, control: httpx.Client
) -> None:
    assert control.get("/health").json()["stores"] == f"https://<store>.azconfig.localhost:{server.port}"
    seeded = control.post("/appconfig/seed", json={"appconfig": SEED})

    assert seeded.status_code == 200, seeded.text
    assert seeded.json() == {"stores": [server.store_url_for("contoso-config")]}
    with _client(fake, server) as client:
        greeting = client.get_configuration_setting("app:greeting", label="prod")
        reference = client.get_configuration_setting("app:db")
    assert (greeting.value, greeting.tags) == (GREETING, {"team": "web"})
    assert reference.content_type == KEYVAULT_REF_CONTENT_TYPE
    assert json.loads(reference.value) == {"uri": "https://shop.localhost/secrets/db"}
    assert reference.read_only is True
    # The store seed's bare shape (no "appconfig" wrapper, as --appconfig-seed takes it) adds to the same store.
    assert control.post("/appconfig/seed", json={"contoso-config": [{"key": "app:new", "value": "v"}]}).is_success
    # ... and so does the whole emulator's seed, vaults and stores in one document.
    both = control.post("/seed", json={"vaults": {"shop": {"secrets": {"db": "s3cret"}}}, "appconfig": SEED})
    assert both.json() == {
        "vaults": [server.url_for("shop")],
        "stores": [server.store_url_for("contoso-config")],
    }
    with _client(fake, server) as client:
        assert sorted(s.key for s in client.list_configuration_settings(label_filter="*")) == [
            "app:db",
            "app:greeting",
            "app:new",
        ]


def test_store_listings_show_metadata_and_values_only_when_revealed(
    fake: FakeKeyVault, server: EmulatorServer, control: httpx.Client, stores: FakeAppConfiguration
) -> None:
    control.post("/appconfig/seed", json=SEED)
    with _client(fake, server) as client:
        etag = client.get_configuration_setting("app:greeting", label="prod").etag

    listed = control.get("/appconfig/stores").json()["value"]
    detail = control.get("/appconfig/stores/contoso-config")
    revealed = control.get("/appconfig/stores/contoso-config", params={"reveal": "1"}).json()

    endpoint = server.store_url_for("contoso-config")
    assert listed == [{"name": "contoso-config", "endpoint": endpoint, "key_values": 2, "snapshots": 0}]
    assert GREETING not in detail.text
    body = detail.json()
    assert (body["endpoint"], body["total"], body["snapshots"]) == (endpoint, 2, [])
    reference, greeting = body["key_values"]
    assert "value" not in reference
    assert "value" not in greeting
    assert greeting["label"] == "prod"
    assert greeting["etag"] == etag
    assert greeting["tags"] == {"team": "web"}
    assert greeting["keyvault_reference"] is None
    assert reference["keyvault_reference"] == "https://shop.localhost/secrets/db"
    assert (reference["locked"], reference["content_type"]) == (True, KEYVAULT_REF_CONTENT_TYPE)
    assert [item["value"] for item in revealed["key_values"]] == [
        json.dumps({"uri": "https://shop.localhost/secrets/db"}),
        GREETING,
    ]
    cut = control.get("/appconfig/stores/contoso-config", params={"limit": "1"}).json()
    assert (len(cut["key_values"]), cut["total"]) == (1, 2)
    # A full store host names the same store; it is stores.store(...)'s own object.
    assert control.get(f"/appconfig/stores/{endpoint.removeprefix('https://')}").json()["total"] == 2
    assert len(stores.store(endpoint).items) == 2


def test_a_dump_needs_reveal_and_seeds_an_identical_emulator(
    fake: FakeKeyVault, server: EmulatorServer, control: httpx.Client
) -> None:
    snapshot = {"name": "release-1", "filters": [{"key": "app:*"}], "composition_type": "key"}
    seed = {"contoso-config": {"key_values": SEED["contoso-config"], "snapshots": [snapshot]}, "other-store": []}
    control.post("/seed", json={"vaults": {"shop": {"secrets": {"db": "s3cret"}}}, "appconfig": seed})

    for path in ("/dump", "/appconfig/dump"):
        refused = control.get(path)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "RevealRequired"
        assert GREETING not in refused.text
    dump = control.get("/dump", params={"reveal": "1"}).json()
    assert control.get("/appconfig/dump", params={"reveal": "1"}).json() == {"appconfig": dump["appconfig"]}
    assert set(dump["appconfig"]) == {"contoso-config", "other-store"}
    assert dump["appconfig"]["contoso-config"]["snapshots"][0]["name"] == "release-1"

    other_fake = FakeKeyVault()
    with EmulatorServer(other_fake, appconfig=FakeAppConfiguration(keyvault=other_fake)) as other:
        with httpx.Client(base_url=f"{other.base_url}/_kvconfig", verify=_trust(other), timeout=10) as again:
            assert again.post("/seed", json=dump).is_success
            assert again.get("/dump", params={"reveal": "1"}).json() == dump
        with _client(other_fake, other) as client:
            assert client.get_configuration_setting("app:greeting", label="prod").value == GREETING
            frozen = client.list_configuration_settings(snapshot_name="release-1")
            assert [setting.key for setting in frozen] == ["app:db"]  # no label in the filter: the null label's


async def test_a_foreign_origin_or_a_peer_beyond_loopback_cannot_drive_the_stores(
    server: EmulatorServer, control: httpx.Client, stores: FakeAppConfiguration
) -> None:
    evil = {"Origin": "https://evil.example"}
    assert control.get("/appconfig/stores", headers=evil).status_code == 403
    assert control.post("/appconfig/seed", json=SEED, headers=evil).status_code == 403
    assert control.delete("/appconfig/stores", headers=evil).status_code == 403
    as_form = control.post("/appconfig/seed", content=json.dumps(SEED), headers={"Content-Type": "text/plain"})
    assert as_form.status_code == 415
    async with remote_control(server, "203.0.113.7") as remote:
        assert (await remote.get("/appconfig/stores")).status_code == 403
        assert (await remote.post("/appconfig/seed", json=SEED)).status_code == 403
    assert stores.stores == []  # nothing refused was seeded


def _snapshot_created(when: str) -> bytes:
    snapshot = {"name": "s", "filters": [{"key": "a"}], "created": when}
    return json.dumps({"contoso-config": {"snapshots": [snapshot]}}).encode()


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/appconfig/seed", b"{not json", 400),
        ("POST", "/appconfig/seed", b"[" * 100_000, 400),
        ("POST", "/appconfig/seed", b"[1, 2]", 400),
        ("POST", "/appconfig/seed", b'{"appconfig": [1]}', 400),
        ("POST", "/appconfig/seed", b'{"contoso-config": [{"value": "no key"}]}', 400),
        ("POST", "/appconfig/seed", b'{"contoso-config": [{"key": "k", "tags": {"a": 1}}]}', 400),
        ("POST", "/appconfig/seed", b'{"contoso-config": {"snapshots": [{"name": "s", "status": 7}]}}', 400),
        ("POST", "/appconfig/seed", _snapshot_created("9999-12-31T23:59:59-12:00"), 400),  # past what a dump writes
        ("POST", "/appconfig/seed", b'{"x": []}', 400),  # too short for a store name
        ("POST", "/appconfig/seed", b'{"contoso.azconfig.io": []}', 400),  # not this emulator's store
        ("POST", "/seed", b'{"appconfig": {"contoso-config": "nope"}}', 400),
        ("GET", "/appconfig/stores/no-such-store", b"", 404),
        ("DELETE", "/appconfig/stores/no-such-store", b"", 404),
        ("PUT", "/appconfig/stores", b"{}", 405),
        ("POST", "/appconfig/dump", b"{}", 405),
        ("GET", "/appconfig/nothing-here", b"", 404),
    ],
)
def test_bad_store_requests_get_a_4xx_with_an_error_body(
    control: httpx.Client, method: str, path: str, body: bytes, status: int
) -> None:
    answer = control.request(method, path, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == status, answer.text
    assert set(answer.json()["error"]) == {"code", "message"}


def _status_of_a_seed_declared_over_the_limit(server: EmulatorServer) -> bytes:
    # Only the headers are sent: the emulator answers 413 from Content-Length before reading a byte. (Sending the 4 MiB
    # too races the answer: a loaded machine fills the socket buffers, the write blocks, the client times out.)
    declared = 4 * 1024 * 1024 + 1
    head = (
        f"POST /_kvconfig/appconfig/seed HTTP/1.1\r\nHost: localhost:{server.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    )
    trust = ssl.create_default_context(cafile=str(server.ca_path))
    with (
        socket.create_connection(("localhost", server.port), timeout=30) as raw,
        trust.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(head.encode())
        return tls.recv(64).split(b"\r\n", 1)[0]


def test_bounded_inputs_oversize_bodies_and_limits(control: httpx.Client, server: EmulatorServer) -> None:
    control.post("/appconfig/seed", json=SEED)
    assert _status_of_a_seed_declared_over_the_limit(server).startswith(b"HTTP/1.1 413 ")
    for limit in ("0", "10001", "²", "9" * 5000, "-1"):
        answer = control.get("/appconfig/stores/contoso-config", params={"limit": limit})
        assert answer.status_code == 400, limit
    assert control.get("/appconfig/stores/contoso-config", params={"limit": "10000"}).json()["total"] == 2


def test_an_emulator_without_stores_says_so() -> None:
    with (
        FakeKeyVault().serve() as plain,
        httpx.Client(base_url=f"{plain.base_url}/_kvconfig", verify=_trust(plain), timeout=10) as http,
    ):
        missing = http.get("/appconfig/stores")
        assert "stores" not in http.get("/health").json()
        seeded = http.post("/seed", json={"appconfig": SEED})
        dump = http.get("/dump", params={"reveal": "1"}).json()
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "NoStores")
    assert seeded.status_code == 400
    assert "appconfig" not in dump


def test_control_api_changes_to_stores_survive_a_restart_in_the_data_dir(tmp_path: Path) -> None:
    def serve() -> tuple[EmulatorServer, FakeAppConfiguration]:
        keyvault = FakeKeyVault()
        stores = FakeAppConfiguration(keyvault=keyvault)
        return EmulatorServer(keyvault, appconfig=stores, data_dir=tmp_path / "data").start(), stores

    def control_of(server: EmulatorServer) -> httpx.Client:
        return httpx.Client(base_url=f"{server.base_url}/_kvconfig", verify=_trust(server), timeout=10)

    first, _ = serve()
    with first, control_of(first) as control:
        assert control.post("/appconfig/seed", json={**SEED, "doomed-store": [{"key": "k", "value": "v"}]}).is_success
    second, stores = serve()
    with second, control_of(second) as control:
        assert sorted(store.name for store in stores.stores) == ["contoso-config", "doomed-store"]
        assert control.delete("/appconfig/stores/doomed-store").json() == {"removed": 1}
    third, stores = serve()
    with third, control_of(third) as control:
        assert [store.name for store in stores.stores] == ["contoso-config"]
        assert stores.get(third.store_url_for("contoso-config"), "app:greeting", label="prod").value == GREETING
        assert control.delete("/appconfig/stores").json() == {"removed": 1}
    fourth, stores = serve()
    with fourth:
        assert stores.stores == []


def test_fake_serve_dump_on_exit_holds_the_stores_and_seed_reads_it_back(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"vaults": {"shop": {"secrets": {"db": "s3cret"}}}, "appconfig": SEED}))
    ready, dump = tmp_path / "ready.json", tmp_path / "dump.json"
    certs = ["--port", "0", "--cert-dir", str(tmp_path / "certs"), "--ready-file", str(ready)]
    with fake_serve([*certs, "--seed", str(seed), "--dump-on-exit", str(dump)]) as process:
        info = wait_for_ready(ready, process)
        with httpx.Client(verify=ssl.create_default_context(cafile=info["ca_file"]), timeout=10) as http:
            added = http.post(
                f"{info['control_url']}appconfig/seed", json={"contoso-config": [{"key": "k", "value": "v"}]}
            )
            assert added.is_success
        stop_serving(process)
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    written = json.loads(dump.read_text())
    assert written["vaults"]["shop"]["secrets"]["db"]["versions"][0]["value"] == "s3cret"
    assert {item["key"] for item in written["appconfig"]["contoso-config"]} == {"app:db", "app:greeting", "k"}

    with fake_serve([*certs, "--seed", str(dump)]) as process:
        info = wait_for_ready(ready, process)
        with httpx.Client(verify=ssl.create_default_context(cafile=info["ca_file"]), timeout=10) as http:
            again = http.get(f"{info['control_url']}dump", params={"reveal": "1"}).json()
        stop_serving(process)
    assert again["appconfig"] == written["appconfig"]
    assert again["vaults"]["shop"]["secrets"]["db"]["versions"][-1]["value"] == "s3cret"
