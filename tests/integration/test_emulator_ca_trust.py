"""The emulator's CA is trusted by whoever exports its bundle (``SSL_CERT_FILE``: public roots plus this CA), so it
must never be a CA that could vouch for a real host. kvconfig's CA is name-constrained to ``localhost`` and loopback
addresses; a certificate folder holding any other CA (planted by someone who could write there) is not used, and a
folder others may write to, or that another user owns, is refused before anything is read from it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kvconfig.fake.serve.tls import CA_FILE, CA_KEY_FILE, LoopbackCertificateAuthority

posix_only = pytest.mark.skipif(os.name != "posix", reason="file ownership and modes are POSIX's")


def _plant_unconstrained_ca(folder: Path) -> x509.Certificate:
    """A CA with no name constraints: it could sign a certificate for myvault.vault.azure.net."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kvconfig loopback CA")])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / CA_FILE).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file = folder / CA_KEY_FILE
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)
    return certificate


def _permitted(certificate: x509.Certificate) -> list[x509.GeneralName]:
    constraints = certificate.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    return list(constraints.value.permitted_subtrees or [])


def test_a_planted_ca_without_name_constraints_is_not_used(tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    planted = _plant_unconstrained_ca(folder)
    authority = LoopbackCertificateAuthority.load_or_create(folder)
    assert authority.certificate != planted
    assert x509.DNSName("localhost") in _permitted(authority.certificate)
    bundle_ca = x509.load_pem_x509_certificate((folder / CA_FILE).read_bytes())
    assert bundle_ca == authority.certificate  # the planted CA was replaced on disk too


def test_kvconfigs_own_ca_is_loaded_again(tmp_path: Path) -> None:
    first = LoopbackCertificateAuthority.load_or_create(tmp_path / "certs")
    again = LoopbackCertificateAuthority.load_or_create(tmp_path / "certs")
    assert again.certificate == first.certificate


@posix_only
def test_a_certificate_folder_others_may_write_to_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(PermissionError) as raised:
        LoopbackCertificateAuthority.load_or_create(folder)
    assert str(folder) in str(raised.value.strerror)
    assert not (folder / CA_KEY_FILE).exists()


@posix_only
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a folder away needs root")
def test_a_certificate_folder_another_user_owns_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o755)
    os.chown(folder, 65534, 65534)
    with pytest.raises(PermissionError):
        LoopbackCertificateAuthority.load_or_create(folder)


@posix_only
def test_fake_serve_refuses_a_shared_certificate_folder_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    # A subprocess with a deadline: were the folder accepted, the emulator would serve until stopped.
    result = subprocess.run(
        [sys.executable, "-m", "kvconfig", "fake", "serve", "--port", "0", "--cert-dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("kvconfig: Cannot use the certificate folder")
    assert "Traceback" not in result.stderr
