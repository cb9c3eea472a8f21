"""Pre-fork servers for real: gunicorn ``--preload`` with 4 workers serving an app that resolved its settings once,
at import, in the master (tests/integration/prefork/app.py). The vault sees one set of reads, made by the master;
every worker serves the resolved settings; a worker that tries to refresh through the master's resolver is refused
with a clear error, and a resolver made in the worker works."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="gunicorn pre-forks (POSIX only)")

APP_DIR = Path(__file__).parent / "prefork"
VALUES = {"db-password": "pw-prefork-XYZZY", "api-key": "key-prefork-XYZZY", "signing-key": "sig-prefork-XYZZY"}
SETTINGS = {"DB_PASSWORD": "db-password", "API_KEY": "api-key", "SIGNING_KEY": "signing-key"}
WORKERS = 4


def get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """gunicorn --preload -w 4 on a free loopback port; its URL and the master's pid. Stopped after the test."""
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which("gunicorn")
    if gunicorn is None:
        pytest.skip("gunicorn is not installed (it is in the test extra)")
    seed = tmp_path / "vault.json"
    seed.write_text(json.dumps({"vaults": {"prefork": {"secrets": VALUES}}}))
    # The test binds the port and hands gunicorn the bound socket (fd://), so no other process can take the port
    # between choosing it and gunicorn's bind.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port: int = listener.getsockname()[1]
    env = {
        **os.environ,
        "PREFORK_SEED": str(seed),
        **{setting: f"@Microsoft.KeyVault(VaultName=prefork;SecretName={name})" for setting, name in SETTINGS.items()},
    }
    with listener:
        command = [gunicorn, "--preload", "-w", str(WORKERS), "-b", f"fd://{listener.fileno()}"]
        process = subprocess.Popen(
            [*command, "--chdir", str(APP_DIR), "app:app"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(listener.fileno(),),
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(url + "/")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    stderr = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"gunicorn did not start:\n{stderr}")
                time.sleep(0.1)
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def test_preload_resolves_once_in_the_master_and_every_worker_serves_the_settings(server: tuple[str, int]) -> None:
    url, master = server
    answers: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + 30
    with ThreadPoolExecutor(WORKERS * 2) as pool:
        # Each request holds its worker for a moment, so concurrent requests spread over every worker.
        while len(answers) < WORKERS and time.monotonic() < deadline:
            for answer in pool.map(lambda _: get(url + "/?hold=0.3"), range(WORKERS * 2)):
                answers[answer["pid"]] = answer
    assert len(answers) == WORKERS
    assert master not in answers
    expected = {setting: VALUES[name] for setting, name in SETTINGS.items()}
    for answer in answers.values():
        assert answer["resolved_in"] == master  # resolved at import, in the master, before the fork
        assert answer["settings"] == expected
        assert answer["vault_reads"] == len(VALUES)  # one read per secret, for all four workers


def test_a_worker_cannot_refresh_through_the_masters_resolver_but_can_make_its_own(server: tuple[str, int]) -> None:
    url, master = server

    answer = get(url + "/refresh")

    assert answer["pid"] != master
    assert f"used before the process forked (in process {master})" in answer["kept"]
    assert "Make a new SecretResolver in this process after the fork" in answer["kept"]
    assert answer["fresh"] == VALUES["db-password"]
