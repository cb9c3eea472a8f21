"""TLS for the loopback emulator: a local CA kept in a state directory, and server certificates minted per SNI name.

The CA is name-constrained to ``localhost`` (and its subdomains) and the loopback addresses, so trusting it, even
system-wide, lets it vouch for nothing but this machine's loopback names. Its key never leaves the directory
(mode 0600). Server certificates are short-lived and made in memory for each name a client asks for through SNI:
OpenSSL does not accept ``*.localhost`` as a wildcard (too few labels), so ``myvault.localhost`` needs its own.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import re
import ssl
import tempfile
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kvconfig._private_files import write_atomically, write_private

__all__ = ["DEFAULT_SERVER_NAMES", "LoopbackCertificateAuthority", "default_cert_dir"]

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
BUNDLE_FILE = "ca-bundle.pem"

DEFAULT_SERVER_NAMES = ("localhost", "*.localhost", "127.0.0.1", "::1")
"""What the certificate served without SNI (or for a name the CA may not vouch for) covers."""

_LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
_LOCALHOST_NAME = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*localhost$")
_CA_LIFETIME = timedelta(days=3650)
_LEAF_LIFETIME = timedelta(days=30)
_MAX_CACHED_CONTEXTS = 512


def default_cert_dir() -> Path:
    """``$XDG_CACHE_HOME/kvconfig/emulator`` (``~/.cache/kvconfig/emulator``): one CA per user, trusted once."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kvconfig" / "emulator"


def is_loopback_name(name: str) -> bool:
    """Whether the CA may vouch for ``name``: ``localhost``, ``<labels>.localhost`` or a loopback address."""
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return len(name) <= 253 and bool(_LOCALHOST_NAME.match(name.lower()))
    return any(address in network for network in _LOOPBACK_NETWORKS)


def is_loopback_address(address: str | None) -> bool:
    """Whether a peer's address, as a server sees it, is loopback.

    Takes IPv4, IPv6 (in brackets or with a zone), and IPv4-mapped IPv6 (``::ffff:127.0.0.1``, what a dual-stack
    socket reports for an IPv4 client; Python before 3.13 does not count it as loopback). Names are not addresses:
    ``localhost`` is refused here, since a peer is never seen by name.
    """
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _LOOPBACK_NETWORKS)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


class LoopbackCertificateAuthority:
    """The emulator's CA: loaded from ``directory`` when a usable one is there, otherwise made and saved there."""

    def __init__(self, directory: Path, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self.directory = directory
        self.certificate = certificate
        self._key = key
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the key
        return f"LoopbackCertificateAuthority({str(self.ca_path)!r})"

    @property
    def ca_path(self) -> Path:
        """The CA certificate (PEM) to trust: ``connection_verify=``, ``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``."""
        return self.directory / CA_FILE

    @classmethod
    def load_or_create(cls, directory: str | Path) -> LoopbackCertificateAuthority:
        path = Path(directory).expanduser()
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        _check_private_folder(path)
        loaded = cls._load(path)
        if loaded is not None:
            return loaded
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = cls._ca_certificate(key)
        cls._save(path, certificate, key)
        return cls(path, certificate, key)

    @classmethod
    def _load(cls, directory: Path) -> LoopbackCertificateAuthority | None:
        try:
            certificate = x509.load_pem_x509_certificate((directory / CA_FILE).read_bytes())
            key = serialization.load_pem_private_key((directory / CA_KEY_FILE).read_bytes(), password=None)
        except (OSError, ValueError):
            return None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            return None
        if certificate.public_key() != key.public_key():
            return None  # two processes raced to make a CA: start again rather than serve a broken chain
        if not _constrained_to_loopback(certificate):
            return None  # not a CA kvconfig made: trusting it (ca-bundle.pem) could vouch for real hosts
        if certificate.not_valid_after_utc - _now() < _LEAF_LIFETIME:
            return None
        return cls(directory, certificate, key)

    @staticmethod
    def _save(directory: Path, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write_private(directory / CA_KEY_FILE, key_pem)
        write_atomically(directory / CA_FILE, certificate.public_bytes(serialization.Encoding.PEM), mode=0o644)

    @staticmethod
    def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kvconfig fake Key Vault emulator"),
                x509.NameAttribute(NameOID.COMMON_NAME, "kvconfig loopback CA"),
            ]
        )
        constraints = x509.NameConstraints(
            permitted_subtrees=[
                x509.DNSName("localhost"),
                *(x509.IPAddress(network) for network in _LOOPBACK_NETWORKS),
            ],
            excluded_subtrees=None,
        )
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        now = _now()
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + _CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(constraints, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )

    def issue_pem(self, names: Iterable[str]) -> bytes:
        """A server certificate for ``names`` followed by its private key, as one PEM (for ``load_cert_chain``)."""
        wanted = list(dict.fromkeys(names))
        if not wanted:
            raise ValueError("A server certificate needs at least one name.")
        refused = [name for name in wanted if not is_loopback_name(name.removeprefix("*."))]
        if refused:
            raise ValueError(f"The loopback CA only vouches for localhost names and addresses, not {refused}.")
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, wanted[0])]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(min(now + _LEAF_LIFETIME, self.certificate.not_valid_after_utc))
            .add_extension(x509.SubjectAlternativeName([_general_name(name) for name in wanted]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def _context(self, names: Iterable[str]) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        # ``load_cert_chain`` only reads files: the PEM lives for the call, readable by this user alone.
        with tempfile.TemporaryDirectory(prefix="kvconfig-tls-") as scratch:
            pem = Path(scratch) / "server.pem"
            write_private(pem, self.issue_pem(names))
            context.load_cert_chain(pem)
        return context

    def server_context(self) -> ssl.SSLContext:
        """A server ``SSLContext`` that answers each SNI name under ``localhost`` with a certificate of its own."""
        context = self._context(DEFAULT_SERVER_NAMES)
        context.sni_callback = self._choose_certificate
        return context

    def _choose_certificate(self, connection: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        # An exception here would surface as an unraisable error mid-handshake: fall back to the default
        # certificate instead, and let the client's hostname check say what is wrong.
        if not server_name:
            return
        name = server_name.lower()
        if name in DEFAULT_SERVER_NAMES or not is_loopback_name(name):
            return
        with contextlib.suppress(Exception):
            connection.context = self._context_for(name)

    def _context_for(self, name: str) -> ssl.SSLContext:
        with self._lock:
            found = self._contexts.get(name)
        if found is not None:
            return found
        made = self._context([name])
        with self._lock:
            if len(self._contexts) >= _MAX_CACHED_CONTEXTS:
                self._contexts.clear()
            return self._contexts.setdefault(name, made)

    def write_bundle(self, extra_pem_file: str | None) -> Path:
        """``ca-bundle.pem``: the public roots in ``extra_pem_file`` (certifi's) plus this CA, for clients that must
        reach both the emulator and real hosts with one ``REQUESTS_CA_BUNDLE``."""
        parts = []
        if extra_pem_file:
            with contextlib.suppress(OSError):
                parts.append(Path(extra_pem_file).read_bytes().rstrip(b"\n") + b"\n")
        parts.append(self.certificate.public_bytes(serialization.Encoding.PEM))
        bundle = self.directory / BUNDLE_FILE
        write_atomically(bundle, b"".join(parts), mode=0o644)
        return bundle


def _check_private_folder(path: Path) -> None:
    """Refuse a certificate folder another user owns or may write to: whoever can write there can plant the CA
    every client of the emulator trusts (and the bundle that adds it to the public roots)."""
    if os.name != "posix":
        return
    status = path.stat()
    if status.st_uid != os.geteuid():
        raise PermissionError(errno.EPERM, f"{path} belongs to another user; use a folder of your own")
    if status.st_mode & 0o022:
        raise PermissionError(
            errno.EPERM, f"{path} may be written by other users (mode {status.st_mode & 0o777:o}); chmod go-w it"
        )


def _constrained_to_loopback(certificate: x509.Certificate) -> bool:
    """The CA carries kvconfig's critical name constraints: ``localhost`` and loopback addresses, nothing more."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.NameConstraints)
    except x509.ExtensionNotFound:
        return False
    permitted = set(extension.value.permitted_subtrees or ())
    expected = {x509.DNSName("localhost"), *(x509.IPAddress(network) for network in _LOOPBACK_NETWORKS)}
    return extension.critical and permitted == expected and not extension.value.excluded_subtrees
