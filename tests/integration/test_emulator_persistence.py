"""State that survives: ``serve(data_dir=...)`` and ``kvconfig fake serve --data-dir`` restart with every
acknowledged write, through the official SDKs, also after ``kill -9`` in the middle of a burst of writes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import ssl
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.keyvault.certificates import CertificateClient, CertificatePolicy
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm
from azure.keyvault.secrets import SecretClient

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.persist import DataFolderError, SnapshotError
from kvconfig.fake.serve.emulator import EmulatorServer
from tests.integration.emulator_support import resolve_localhost_subdomains

pytest.importorskip("uvicorn")


@pytest.fixture(autouse=True)
def _names(monkeypatch: pytest.MonkeyPatch) -> None:
    resolve_localhost_subdomains(monkeypatch)


def _trust(server: EmulatorServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.ca_path))


def _clients(fake: FakeKeyVault, server: EmulatorServer) -> tuple[SecretClient, KeyClient, CertificateClient]:
    url, credential, ca = server.url_for("myvault"), fake.credential(), str(server.ca_path)
    return (
        SecretClient(url, credential, connection_verify=ca),
        KeyClient(url, credential, connection_verify=ca),
        CertificateClient(url, credential, connection_verify=ca),
    )


def test_a_restarted_emulator_has_its_versions_deleted_objects_keys_certificates_and_clock(tmp_path: Path) -> None:
    data = tmp_path / "data"
    fake = FakeKeyVault()
    with fake.serve(data_dir=data) as server:
        secrets, keys, certificates = _clients(fake, server)
        crypto_options = {"connection_verify": str(server.ca_path)}
        first = secrets.set_secret("db", "one")
        secrets.set_secret("db", "two")
        secrets.set_secret("old", "x")
        secrets.begin_delete_secret("old").wait()
        key = keys.create_rsa_key("wrapper", size=2048)
        with CryptographyClient(key, fake.credential(), **crypto_options) as crypto:
            sealed = crypto.encrypt(EncryptionAlgorithm.rsa_oaep_256, b"payload")
        certificate = certificates.begin_create_certificate("tls", CertificatePolicy.get_default()).result()
        for client in (secrets, keys, certificates):
            client.close()
        with httpx.Client(base_url=f"{server.base_url}/_kvconfig", verify=_trust(server)) as control:
            control.post("/clock", json={"advance": 3600})
            control.put("/vaults/myvault/throttling", json={"limit": 500})
        first_port = server.port

    restarted = FakeKeyVault()
    with restarted.serve(data_dir=data) as server:
        assert server.port != first_port  # a new port: the emulator's vaults come back under it
        secrets, keys, certificates = _clients(restarted, server)
        assert secrets.get_secret("db").value == "two"
        assert secrets.get_secret("db", first.properties.version).value == "one"
        assert secrets.get_deleted_secret("old").name == "old"
        again = keys.get_key("wrapper")
        assert again.key.n == key.key.n
        with CryptographyClient(again, restarted.credential(), connection_verify=str(server.ca_path)) as crypto:
            opened = crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, sealed.ciphertext)
        assert opened.plaintext == b"payload"
        assert certificates.get_certificate("tls").properties.x509_thumbprint == certificate.properties.x509_thumbprint
        for client in (secrets, keys, certificates):
            client.close()
        with httpx.Client(base_url=f"{server.base_url}/_kvconfig", verify=_trust(server)) as control:
            clock = control.get("/clock").json()
            vaults = control.get("/vaults").json()["value"]
        assert clock["kind"] == "offset"
        assert 3600 <= clock["offset"] < 3700
        assert vaults[0]["throttling"] is True
        assert vaults[0]["url"] == server.url_for("myvault")
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in data.iterdir():
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_write_that_cannot_be_saved_is_not_acknowledged(tmp_path: Path) -> None:
    fake = FakeKeyVault()
    with fake.serve(data_dir=tmp_path / "data") as server:
        url, ca = server.url_for("myvault"), str(server.ca_path)
        with SecretClient(url, fake.credential(), connection_verify=ca, retry_total=0) as secrets:
            secrets.set_secret("kept", "v")
            assert server.durable is not None
            server.durable.database.close()  # the folder's database is gone from under the emulator
            with pytest.raises(HttpResponseError) as refused:
                secrets.set_secret("lost", "v")
    assert refused.value.status_code == 503
    assert "StateNotSaved" in str(refused.value)


def test_a_data_file_of_another_kind_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "state.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(DataFolderError, match="not a kvconfig emulator database"):
        FakeKeyVault().serve(data_dir=data)


def test_a_snapshot_naming_anything_but_state_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    FakeKeyVault().serve(data_dir=data).stop()
    evil = b"cos\nsystem\n(S'echo pwned'\ntR."  # pickle for os.system("echo pwned")
    db = sqlite3.connect(data / "state.sqlite3")
    with db:
        db.execute("INSERT INTO vaults (host, state) VALUES ('evil.localhost:*', ?)", (evil,))
    db.close()
    with pytest.raises(SnapshotError, match=r"may not name os\.system"):
        FakeKeyVault().serve(data_dir=data)


def test_a_linked_data_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(DataFolderError, match="symbolic link"):
        FakeKeyVault().serve(data_dir=tmp_path / "link")


# -- kill -9 in the middle of a burst --------------------------------------------------------------------------------


class _AnyToken:
    """An opaque bearer token: the emulator takes it as an anonymous caller while no access control is set."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("opaque-test-token", int(time.time()) + 3600)


def _start(data: Path, ready: Path) -> subprocess.Popen[bytes]:
    if ready.exists():
        ready.unlink()
    command = [sys.executable, "-m", "kvconfig", "fake", "serve", "--port", "0", "--data-dir", str(data)]
    return subprocess.Popen(
        [*command, "--ready-file", str(ready)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait_ready(process: subprocess.Popen[bytes], ready: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ready.exists():
            try:
                return dict(json.loads(ready.read_text()))
            except ValueError:
                pass  # written atomically, but be patient anyway
        assert process.poll() is None, "the emulator exited before it was ready"
        time.sleep(0.05)
    raise AssertionError("the emulator did not get ready within 60 s")


def test_kill_9_mid_burst_loses_no_acknowledged_write(tmp_path: Path) -> None:
    data, ready = tmp_path / "data", tmp_path / "ready.json"
    process = _start(data, ready)
    acknowledged: dict[str, str] = {}
    lock = threading.Lock()
    try:
        info = _wait_ready(process, ready)
        url = f"https://burst.localhost:{info['port']}"

        def writer(worker: int) -> None:
            with SecretClient(url, _AnyToken(), connection_verify=info["ca_file"], retry_total=0) as client:  # type: ignore[arg-type]
                for index in range(10_000):
                    name, value = f"w{worker}-s{index}", f"value-{worker}-{index}"
                    try:
                        client.set_secret(name, value)
                    except Exception:  # the server was killed: this write was never acknowledged
                        return
                    with lock:
                        acknowledged[name] = value

        threads = [threading.Thread(target=writer, args=(worker,), daemon=True) for worker in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 60 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)  # mid-burst: four writers have requests in flight
        process.wait(10)
        for thread in threads:
            thread.join(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    with lock:
        expected = dict(acknowledged)
    assert len(expected) >= 60

    process = _start(data, ready)
    try:
        info = _wait_ready(process, ready)
        url = f"https://burst.localhost:{info['port']}"
        with SecretClient(url, _AnyToken(), connection_verify=info["ca_file"]) as client:  # type: ignore[arg-type]
            stored = {item.name for item in client.list_properties_of_secrets()}
            missing = sorted(set(expected) - stored)
            assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:5]}"
            for name in list(expected)[:: max(1, len(expected) // 25)]:
                assert client.get_secret(name).value == expected[name]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
