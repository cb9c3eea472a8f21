"""Serve HTTPS with a certificate issued by the fake Key Vault, and connect with a client that trusts its CA.

The program does what a service does in production (create the certificate in Key Vault, read its PEM from the
certificate's secret, serve TLS with it) against ``kvconfig.fake``, then checks the result the way a client does:
it trusts only the fake CA's root and verifies the host name ``localhost``.

    python examples/tls_server.py
"""

from __future__ import annotations

import http.server
import socket
import ssl
import tempfile
import threading
from pathlib import Path

from azure.keyvault.certificates import CertificateClient, CertificateContentType, CertificatePolicy
from azure.keyvault.secrets import SecretClient

from kvconfig.fake import FakeKeyVault

VAULT_URL = "https://tlsdemo.vault.azure.net"
CERTIFICATE_NAME = "localhost-tls"


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello over TLS from a Key Vault certificate\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def issue_certificate(fake: FakeKeyVault) -> str:
    """Create a certificate for ``localhost`` with a DigiCert-provider issuer (served by the fake's CA) and return
    the PEM text of its secret: private key, leaf, then the chain."""
    certificates = CertificateClient(VAULT_URL, fake.credential(), transport=fake.transport())
    certificates.create_issuer("fake-ca", "DigiCert", account_id="demo", password="demo")
    policy = CertificatePolicy(
        issuer_name="fake-ca",
        subject="CN=localhost",
        san_dns_names=["localhost"],
        content_type=CertificateContentType.pem,
        validity_in_months=3,
    )
    certificates.begin_create_certificate(CERTIFICATE_NAME, policy, _polling_interval=0).result()
    secrets = SecretClient(VAULT_URL, fake.credential(), transport=fake.transport())
    value = secrets.get_secret(CERTIFICATE_NAME).value
    assert value is not None
    return value


def fetch(port: int, ca_pem: str) -> tuple[str, dict[str, object]]:
    """GET / from 127.0.0.1:port as ``localhost``, trusting only ``ca_pem``; return the body and the peer cert."""
    context = ssl.create_default_context(cadata=ca_pem)  # verifies the chain and the host name
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        peer = tls.getpeercert() or {}
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        response = b""
        while chunk := tls.recv(65536):
            response += chunk
    _, _, body = response.partition(b"\r\n\r\n")
    return body.decode(), dict(peer)


def main() -> str:
    fake = FakeKeyVault()
    pem = issue_certificate(fake)
    with tempfile.TemporaryDirectory() as folder:
        chain_file = Path(folder) / "localhost.pem"
        chain_file.write_text(pem)
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(chain_file)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        body, peer = fetch(server.server_address[1], fake.certificate_authority.root_pem())
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    print(body, end="")
    print(f"peer certificate: subject {peer.get('subject')}, issuer {peer.get('issuer')}")
    return body


if __name__ == "__main__":
    main()
