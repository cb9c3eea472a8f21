"""examples/tls_server.py: a fake-issued certificate serves HTTPS that a client trusting the fake CA accepts."""

from __future__ import annotations

import http.server
import runpy
import ssl
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from kvconfig.fake import FakeKeyVault

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tls_server.py"


def test_tls_server_example_serves_https_with_fake_issued_certificate(capsys: pytest.CaptureFixture[str]) -> None:
    body = runpy.run_path(str(EXAMPLE))["main"]()
    assert body == "hello over TLS from a Key Vault certificate\n"
    out = capsys.readouterr().out
    assert "commonName', 'localhost'" in out
    assert "kvconfig Fake DigiCert Issuing CA" in out


def test_tls_client_not_trusting_the_fake_ca_is_refused() -> None:
    namespace = runpy.run_path(str(EXAMPLE))
    pem = namespace["issue_certificate"](FakeKeyVault())
    other_root = FakeKeyVault().certificate_authority.root_pem()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.pem"
        path.write_text(pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), namespace["_Hello"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            namespace["fetch"](server.server_address[1], other_root)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_tls_server_example_runs_as_a_program() -> None:
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("hello over TLS from a Key Vault certificate")
