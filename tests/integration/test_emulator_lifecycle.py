"""The emulator's background server over its life: started and stopped again and again, its thread joined and its
port released every time, and a stopped server started again."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from kvconfig.fake import FakeKeyVault
from kvconfig.fake.serve.emulator import EmulatorServer

pytest.importorskip("uvicorn")


def _emulator_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("kvconfig-emulator")]


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_servers_started_and_stopped_in_a_row_join_their_threads_and_release_their_ports() -> None:
    fake = FakeKeyVault()
    before = len(_emulator_threads())
    for _ in range(5):
        server = fake.serve(port=0)
        port = server.port
        assert server.running
        server.stop()
        assert not server.running
        assert len(_emulator_threads()) == before
        assert _port_is_free(port)


def test_a_stopped_server_refuses_to_start_again_and_says_what_to_do() -> None:
    fake = FakeKeyVault()
    server = fake.serve(port=0)
    port = server.port
    server.stop()
    with pytest.raises(RuntimeError, match=r"fake\.serve\(\)"):
        server.start()
    assert not server.running
    assert _port_is_free(port)
    with fake.serve(port=0) as again:
        assert again.running


def test_stop_is_idempotent_and_stop_before_start_is_harmless(tmp_path: Path) -> None:
    fake = FakeKeyVault()
    server = EmulatorServer(fake, cert_dir=tmp_path)
    server.stop()
    server.start()
    server.stop()
    server.stop()
    assert not server.running
