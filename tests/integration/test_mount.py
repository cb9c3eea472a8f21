"""``kvconfig.mount`` through the official SDK clients (secrets, keys, certificates) against the fake vault: the files
the CSI driver's Azure provider writes, rotation on the fake's ManualClock (no sleeping), and the synced Secrets."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key, pkcs12

from kvconfig.cli import cli
from kvconfig.fake import FakeKeyVault, ManualClock
from kvconfig.mount import MountError, SecretsMount, read_spc, secret_manifests

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "aks_csi"
pytest.importorskip("azure.keyvault.keys")
pytest.importorskip("azure.keyvault.certificates")


def spc_with(tmp_path: Path, *objects: str, secret_objects: str = "") -> Path:
    body = "".join("        - |\n" + "".join(f"          {line}\n" for line in obj.split("\n")) for obj in objects)
    path = tmp_path / "spc.yaml"
    path.write_text(
        "kind: SecretProviderClass\nspec:\n  provider: azure\n  parameters:\n    keyvaultName: myvault\n"
        f"    objects: |\n      array:\n{body}{secret_objects}"
    )
    return path


@pytest.fixture
def fake() -> FakeKeyVault:
    fake = FakeKeyVault(clock=ManualClock(1_700_000_000))
    fake.seed(EXAMPLE / "vault.json")
    fake.seed(
        {"vaults": {"myvault": {"secrets": {"hexed": "00ff10", "b64": base64.b64encode(b"\x00\x01bin").decode()}}}}
    )
    fake.seed(
        {
            "vaults": {
                "myvault": {"certificates": {"tls": {"subject": "CN=a"}}, "keys": {"ec": {"kty": "EC", "crv": "P-256"}}}
            }
        }
    )
    fake.seed({"vaults": {"myvault": {"secrets": {"db-password": "v1"}}}})
    return fake


def mount_for(fake: FakeKeyVault, spc: Path, directory: Path) -> SecretsMount:
    return SecretsMount(read_spc(spc), directory, fake.credential(), client_options={"transport": fake.transport()})


def test_secrets_keys_and_certificates_are_written_as_the_provider_writes_them(
    fake: FakeKeyVault, tmp_path: Path
) -> None:
    from azure.keyvault.certificates import CertificateClient
    from azure.keyvault.keys import KeyClient

    spc = spc_with(
        tmp_path,
        "objectName: db-password\nobjectType: secret",
        "objectName: ec\nobjectType: key",
        "objectName: tls\nobjectType: cert",
        "objectName: tls\nobjectType: secret\nobjectAlias: tls.pem",
        "objectName: tls\nobjectType: secret\nobjectAlias: tls.pfx\nobjectFormat: pfx\nobjectEncoding: base64",
        "objectName: hexed\nobjectType: secret\nobjectEncoding: hex",
        "objectName: b64\nobjectType: secret\nobjectEncoding: base64\nfilePermission: '0640'",
    )
    out = tmp_path / "mnt"

    mount_for(fake, spc, out).sync()

    url = "https://myvault.vault.azure.net"
    keys = KeyClient(url, fake.credential(), transport=fake.transport())
    certs = CertificateClient(url, fake.credential(), transport=fake.transport())
    cert = x509.load_der_x509_certificate(bytes(certs.get_certificate("tls").cer or b""))
    key_pem = keys.get_key("ec").key
    assert (out / "db-password").read_bytes() == b"v1"
    public = load_pem_private_key((out / "tls.pem").read_bytes(), None).public_key()
    assert public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo) == cert.public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )
    assert (out / "tls").read_bytes() == cert.public_bytes(Encoding.PEM)
    assert b"PRIVATE KEY" not in (out / "tls").read_bytes()
    _key, pfx_cert, _chain = pkcs12.load_key_and_certificates((out / "tls.pfx").read_bytes(), None)
    assert pfx_cert == cert
    assert (out / "ec").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert int.from_bytes(key_pem.x or b"", "big") == load_pem_public_x(out / "ec")
    assert (out / "hexed").read_bytes() == b"\x00\xff\x10"
    assert (out / "b64").read_bytes() == b"\x00\x01bin"
    assert os.stat(out / "b64").st_mode & 0o777 == 0o640
    assert os.stat(out / "db-password").st_mode & 0o777 == 0o600  # kvconfig's default, not the driver's 0644


def load_pem_public_x(path: Path) -> int:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(path.read_bytes())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key.public_numbers().x


def test_every_failing_object_is_listed_with_its_status_and_nothing_is_written(
    fake: FakeKeyVault, tmp_path: Path
) -> None:
    spc = spc_with(
        tmp_path,
        "objectName: db-password\nobjectType: secret",
        "objectName: gone\nobjectType: secret",
        "objectName: gone-key\nobjectType: key",
        "objectName: db-password\nobjectType: secret\nobjectAlias: bad.hex\nobjectEncoding: hex",
    )

    with pytest.raises(MountError) as caught:
        mount_for(fake, spc, tmp_path / "mnt").sync()

    text = str(caught.value)
    assert "secret gone [SecretNotFound]" in text
    assert "key gone-key [KeyNotFound]" in text
    assert "secret db-password [InvalidContent]: the value is not hex" in text
    assert "v1" not in text
    assert not (tmp_path / "mnt").exists()


def test_rotation_polling_swaps_in_a_new_version_on_the_fakes_clock(fake: FakeKeyVault, tmp_path: Path) -> None:
    spc = spc_with(tmp_path, "objectName: db-password\nobjectType: secret")
    target = mount_for(fake, spc, tmp_path / "mnt")
    target.sync()
    seen: list[list[str]] = []
    moments: list[float] = []

    def sleep(seconds: float) -> None:  # what the poller waits is the fake's time, not ours
        fake.advance(seconds=seconds)
        moments.append(fake.clock.now())
        if len(moments) == 2:
            fake.set_secret("myvault", "db-password", "v2")

    target.poll(120, sleep=sleep, rounds=3, on_change=seen.append)

    assert (tmp_path / "mnt" / "db-password").read_bytes() == b"v2"
    assert seen == [["db-password"]]
    assert moments == [1_700_000_120, 1_700_000_240, 1_700_000_360]


def test_a_failed_poll_keeps_the_last_good_files(fake: FakeKeyVault, tmp_path: Path) -> None:
    spc = spc_with(tmp_path, "objectName: db-password\nobjectType: secret")
    target = mount_for(fake, spc, tmp_path / "mnt")
    target.sync()
    fake.inject_fault(status=403, times=None, operation="GetSecret")
    fake.set_secret("myvault", "db-password", "v2")

    target.poll(1, sleep=lambda _s: None, rounds=1)

    assert (tmp_path / "mnt" / "db-password").read_bytes() == b"v1"


def test_tls_secret_objects_split_key_and_certificates(fake: FakeKeyVault, tmp_path: Path) -> None:
    spc_path = spc_with(
        tmp_path,
        "objectName: tls\nobjectType: secret\nobjectAlias: tls.pem",
        secret_objects="  secretObjects:\n  - secretName: t\n    type: kubernetes.io/tls\n    data:\n"
        "    - {objectName: tls.pem, key: tls.key}\n    - {objectName: tls.pem, key: tls.crt}\n",
    )
    target = mount_for(fake, spc_path, tmp_path / "mnt")
    target.sync()

    manifest = yaml.safe_load(secret_manifests(read_spc(spc_path).secret_objects, target.files(), "prod"))

    assert manifest["metadata"] == {"name": "t", "namespace": "prod"}
    key, crt = (base64.b64decode(manifest["data"][name]) for name in ("tls.key", "tls.crt"))
    assert key.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert b"CERTIFICATE" not in key
    assert crt.startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE" not in crt


def test_cli_mount_prints_the_manifest_only_with_reveal(tmp_path: Path) -> None:
    args = ["mount", "--spc", str(EXAMPLE / "spc.yaml"), "--dir", str(tmp_path / "m")]
    args += ["--fake-vault", str(EXAMPLE / "vault.json"), "--secret-manifest", "-"]

    refused = CliRunner().invoke(cli, args)
    shown = CliRunner().invoke(cli, [*args, "--reveal"])

    assert refused.exit_code == 2
    assert "add --reveal" in refused.stderr
    assert shown.exit_code == 0, shown.stderr
    documents = list(yaml.safe_load_all(shown.stdout))
    assert base64.b64decode(documents[0]["data"]["DB_PASSWORD"]) == b"correct-horse-battery-staple"
    assert "correct-horse" not in shown.stderr


def test_cli_mount_reports_a_bad_spc_in_one_line(tmp_path: Path) -> None:
    bad = spc_with(tmp_path, "objectName: a\nobjectType: blob")

    result = CliRunner().invoke(cli, ["mount", "--spc", str(bad), "--dir", str(tmp_path / "m")])

    assert result.exit_code == 1
    assert result.stderr.startswith(f"kvconfig: {bad}:6: object 1 (a): objectType 'blob'")
    assert "Traceback" not in result.stderr


def test_the_example_program_reads_the_mounted_files(tmp_path: Path) -> None:
    env = {**os.environ, "SECRETS_DIR": str(tmp_path / "secrets")}
    kvconfig = [sys.executable, "-m", "kvconfig"]
    args = ["mount", "--spc", str(EXAMPLE / "spc.yaml"), "--dir", str(tmp_path / "secrets")]
    args += ["--fake-vault", str(EXAMPLE / "vault.json"), "--secret-manifest", str(tmp_path / "secrets.yaml")]
    mounted = subprocess.run([*kvconfig, *args], capture_output=True, text=True, env=env, timeout=120, check=False)
    program = subprocess.run(
        [sys.executable, str(EXAMPLE / "read_mounted.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    assert mounted.returncode == 0, mounted.stderr
    assert os.stat(tmp_path / "secrets.yaml").st_mode & 0o777 == 0o600
    assert program.returncode == 0, program.stderr
    assert "db-password: <28 characters>" in program.stdout
    assert "my-tls-cert: CN=app.contoso.com" in program.stdout
    assert "1 certificate(s)" in program.stdout
    assert "correct-horse" not in mounted.stdout + mounted.stderr + program.stdout
