"""Reading a SecretProviderClass (provider azure) as the CSI driver does, and writing a mount's generations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kvconfig.mount import DATA_LINK, MountObject, MountWriteError, SpcError, read_spc, write_generation

ROOT = Path(__file__).resolve().parents[2]
OVERVIEW = """\
apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata:
  name: azure-keyvault-secrets
spec:
  provider: azure
  parameters:
    usePodIdentity: "false"
    keyvaultName: "myVault"
    cloudName: ""
    objects: |
      array:
        - |
          objectName: db-password
          objectType: secret
          objectVersion: ""
        - |
          objectName: my-tls-cert
          objectType: cert
          objectVersion: ""
    tenantId: "<tenant-id>"
  secretObjects:
  - secretName: app-secrets
    type: Opaque
    data:
    - objectName: db-password
      key: DB_PASSWORD
"""


def spc_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spc.yaml"
    path.write_text(text)
    return path


def with_objects(*objects: str, cloud: str = "") -> str:
    body = "".join("        - |\n" + "".join(f"          {line}\n" for line in obj.split("\n")) for obj in objects)
    return (
        "kind: SecretProviderClass\nspec:\n  provider: azure\n  parameters:\n    keyvaultName: myvault\n"
        f'    cloudName: "{cloud}"\n    objects: |\n      array:\n{body}'
    )


def test_the_overviews_secret_provider_class_reads_as_written(tmp_path: Path) -> None:
    spc = read_spc(spc_file(tmp_path, OVERVIEW))

    assert spc.vault_url == "https://myvault.vault.azure.net"
    assert spc.objects == (MountObject("db-password", "secret"), MountObject("my-tls-cert", "cert"))
    assert spc.secret_objects[0].data == (("db-password", "DB_PASSWORD"),)
    assert spc.tenant_id == "<tenant-id>"


def test_the_example_spc_reads(tmp_path: Path) -> None:
    spc = read_spc(ROOT / "examples" / "aks_csi" / "spc.yaml")
    assert [obj.file_name for obj in spc.objects] == ["db-password", "my-tls-cert", "tls.pem", "signing-key.pub.pem"]
    assert spc.objects[3].file_permission == 0o644


def test_sovereign_cloud_names_map_to_their_vault_suffix(tmp_path: Path) -> None:
    spc = read_spc(spc_file(tmp_path, with_objects("objectName: a\nobjectType: secret", cloud="AzureChinaCloud")))
    assert spc.vault_url == "https://myvault.vault.azure.cn"


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ("objectName: a\nobjectType: blob", "objectType 'blob' is not one of secret, key, cert"),
        ("objectName: a b\nobjectType: secret", "objectName must be"),
        ("objectName: a\nobjectType: secret\nobjectVersion: latest", "objectVersion must be"),
        ("objectName: a\nobjectType: secret\nobjectAlias: ../etc/passwd", "objectAlias"),
        ("objectName: a\nobjectType: secret\nobjectAlias: ..data", "objectAlias"),
        ("objectName: a\nobjectType: key\nobjectFormat: pfx", "objectFormat pfx is only for objectType secret"),
        ("objectName: a\nobjectType: cert\nobjectEncoding: hex", "objectEncoding is only for objectType secret"),
        ("objectName: a\nobjectType: secret\nfilePermission: rw", "filePermission"),
        ("objectName: a\nobjectType: secret\nobjectColour: red", "unknown field 'objectColour'"),
    ],
)
def test_a_bad_object_is_one_line_with_file_line_and_object(tmp_path: Path, obj: str, message: str) -> None:
    path = spc_file(tmp_path, with_objects("objectName: ok\nobjectType: secret", obj))

    with pytest.raises(SpcError) as caught:
        read_spc(path)

    text = str(caught.value)
    assert text.startswith(f"{path}:7: object 2")
    assert message in text
    assert "\n" not in text


def test_two_objects_writing_one_file_are_refused(tmp_path: Path) -> None:
    path = spc_file(tmp_path, with_objects("objectName: a\nobjectType: secret", "objectName: a\nobjectType: cert"))
    with pytest.raises(SpcError, match="same file 'a'"):
        read_spc(path)


def test_yaml_aliases_are_refused(tmp_path: Path) -> None:
    text = "kind: SecretProviderClass\nx: &a [1, 2]\ny: *a\n"
    with pytest.raises(SpcError, match="aliases are not allowed"):
        read_spc(spc_file(tmp_path, text))


def test_unquoted_parameters_and_other_providers_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SpcError, match="must be a string"):
        read_spc(spc_file(tmp_path, OVERVIEW.replace('usePodIdentity: "false"', "usePodIdentity: false")))
    with pytest.raises(SpcError, match="provider must be 'azure'"):
        read_spc(spc_file(tmp_path, OVERVIEW.replace("provider: azure", "provider: vault")))


def test_secret_objects_must_name_a_mounted_file(tmp_path: Path) -> None:
    with pytest.raises(SpcError, match="'nope' is not a mounted object"):
        read_spc(
            spc_file(
                tmp_path, OVERVIEW.replace("- objectName: db-password\n      key", "- objectName: nope\n      key")
            )
        )


def test_an_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    with pytest.raises(SpcError, match="more than a SecretProviderClass needs"):
        read_spc(spc_file(tmp_path, "#" * (1024 * 1024 + 1)))


# -- the ..data generations ---------------------------------------------------------------------------------------


def test_a_generation_is_swapped_in_whole_and_the_old_one_removed(tmp_path: Path) -> None:
    mount = tmp_path / "secrets"
    assert write_generation(mount, {"a": (b"one", 0o600), "b": (b"bee", 0o644)})
    first = os.readlink(mount / DATA_LINK)
    held = open(mount / "a", "rb")  # noqa: SIM115 - a reader that opened the old version keeps reading all of it

    assert write_generation(mount, {"a": (b"two", 0o600)})

    second = os.readlink(mount / DATA_LINK)
    assert second != first
    assert not (mount / first).exists()
    assert (mount / "a").read_bytes() == b"two"
    assert os.readlink(mount / "a") == f"{DATA_LINK}/a"
    assert not (mount / "b").exists()
    assert not (mount / "b").is_symlink()
    assert held.read() == b"one"
    held.close()
    assert os.stat(mount / "a").st_mode & 0o777 == 0o600


def test_an_unchanged_mount_writes_no_new_generation(tmp_path: Path) -> None:
    write_generation(tmp_path, {"a": (b"one", 0o600)})
    before = os.readlink(tmp_path / DATA_LINK)

    assert not write_generation(tmp_path, {"a": (b"one", 0o600)})
    assert os.readlink(tmp_path / DATA_LINK) == before


def test_file_modes_follow_the_request_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        write_generation(tmp_path, {"pub": (b"k", 0o644)})
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "pub").st_mode & 0o777 == 0o644


def test_a_regular_file_or_a_foreign_link_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("mine")
    with pytest.raises(MountWriteError, match="not one of the mount's links"):
        write_generation(tmp_path, {"a": (b"x", 0o600)})
    assert (tmp_path / "a").read_text() == "mine"

    (tmp_path / "b").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(MountWriteError, match="did not make"):
        write_generation(tmp_path, {"b": (b"x", 0o600)})
    assert not (tmp_path / "elsewhere").exists()


def test_a_mount_folder_that_is_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(MountWriteError, match="symbolic link"):
        write_generation(tmp_path / "link", {"a": (b"x", 0o600)})
