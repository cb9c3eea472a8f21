"""The official Azure JavaScript SDKs against a live ``kvconfig fake serve``, reported back into pytest.

``tests/emulator/js/`` pins ``@azure/keyvault-secrets``, ``-keys``, ``-certificates`` and ``@azure/identity``
(``package.json`` and its lock file) and holds one ``node --test`` file per area. This module installs them once
(``npm ci`` into ``tests/emulator/js/node_modules``, git-ignored, reused while the lock file is unchanged), starts
the emulator as a user would (``kvconfig fake serve --port 0 --tunnel-port 0 --ready-file ...``) and runs each file
as a JavaScript user would: ``NODE_EXTRA_CA_CERTS`` for trust, ``IDENTITY_ENDPOINT``/``IDENTITY_HEADER`` for
``DefaultAzureCredential``, and ``HTTPS_PROXY`` to the emulator's tunnel, so it works where ``*.localhost`` does not
resolve (as in this project's containers). Skips cleanly without ``node`` and ``npm``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("uvicorn")

SUITE = Path(__file__).parent / "js"
NODE = shutil.which("node")
NPM = shutil.which("npm")
pytestmark = [
    pytest.mark.skipif(NODE is None or NPM is None, reason="the JavaScript suite needs node and npm"),
    pytest.mark.timeout(600),
]
TEST_FILES = sorted(path.name for path in SUITE.glob("*.test.mjs"))


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The pinned packages, installed by ``npm ci`` unless the installed tree already matches the lock file."""
    installed = SUITE / "node_modules" / ".package-lock.json"
    lock = SUITE / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run(
            [str(NPM), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=SUITE,
            capture_output=True,
            text=True,
            timeout=480,
            check=False,
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            pytest.skip(f"npm ci could not install the pinned Azure SDK packages: {' / '.join(tail)}")
    return SUITE / "node_modules"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``kvconfig fake serve`` in a subprocess, with what its ready file says; stopped with SIGTERM afterwards."""
    workdir = tmp_path_factory.mktemp("js-emulator")
    ready = workdir / "ready.json"
    command = [
        sys.executable,
        "-m",
        "kvconfig",
        "fake",
        "serve",
        "--port",
        "0",
        "--tunnel-port",
        "0",
        "--cert-dir",
        str(workdir / "certs"),
        "--ready-file",
        str(ready),
    ]
    log = (workdir / "serve.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not ready.is_file():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"kvconfig fake serve did not start: {(workdir / 'serve.log').read_text()}")
            time.sleep(0.05)
        yield json.loads(ready.read_text())
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _node_environment(emulator: dict[str, Any]) -> dict[str, str]:
    # Nothing of the machine's own Azure or proxy settings: the emulator's alone.
    dropped = ("AZURE_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "MSI_", "IDENTITY_")
    environment = {key: value for key, value in os.environ.items() if not key.upper().startswith(dropped)}
    environment.update(
        {
            "KVCONFIG_EMULATOR_PORT": str(emulator["port"]),
            "NODE_EXTRA_CA_CERTS": emulator["ca_file"],
            "IDENTITY_ENDPOINT": emulator["identity_endpoint"],
            "IDENTITY_HEADER": emulator["identity_header"],
            "HTTPS_PROXY": emulator["proxy_url"],
        }
    )
    return environment


@pytest.mark.parametrize("test_file", TEST_FILES)
def test_javascript_sdk_suite_passes_against_fake_serve(
    test_file: str, node_modules: Path, emulator: dict[str, Any]
) -> None:
    done = subprocess.run(
        [str(NODE), "--test", "--test-reporter=tap", test_file],
        cwd=SUITE,
        env=_node_environment(emulator),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, f"node --test {test_file} failed:\n{report}"
    counts = dict(re.findall(r"^# (pass|fail|cancelled) (\d+)$", done.stdout, re.MULTILINE))
    assert counts.get("fail") == "0", report
    assert counts.get("cancelled") == "0", report
    assert int(counts.get("pass", "0")) >= 2, report  # the file ran its tests, it did not just load


def test_suite_pins_the_four_official_packages() -> None:
    package = json.loads((SUITE / "package.json").read_text())
    pinned = package["dependencies"]
    assert set(pinned) == {
        "@azure/identity",
        "@azure/keyvault-certificates",
        "@azure/keyvault-keys",
        "@azure/keyvault-secrets",
    }
    assert all(version[0].isdigit() for version in pinned.values())  # exact versions, no ranges
    lock = json.loads((SUITE / "package-lock.json").read_text())
    for name, version in pinned.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert TEST_FILES == ["certificates.test.mjs", "identity.test.mjs", "keys.test.mjs", "secrets.test.mjs"]
