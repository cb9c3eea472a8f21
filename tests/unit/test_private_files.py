"""write_private: the one way kvconfig writes a file that holds values (mode 0600, atomic, never through a link)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kvconfig._private_files import PrivateFileError, write_private
from kvconfig.errors import KvConfigError

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes and symbolic links as POSIX has them")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_is_written_with_mode_600(tmp_path: Path) -> None:
    target = tmp_path / "out.env"

    write_private(target, "A='secret'\n")

    assert target.read_text() == "A='secret'\n"
    assert _mode(target) == 0o600


def test_existing_world_readable_file_becomes_600(tmp_path: Path) -> None:
    target = tmp_path / "out.env"
    target.write_text("old")
    target.chmod(0o644)

    write_private(target, b"new")

    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o600


def test_replacement_is_a_rename_so_a_reader_of_the_old_file_never_sees_part_of_the_new(tmp_path: Path) -> None:
    target = tmp_path / "out.env"
    target.write_text("old contents")
    with target.open() as reader:
        write_private(target, "new contents")

        # Truncating in place would have emptied what the open reader sees; a rename leaves it the whole old file.
        assert reader.read() == "old contents"
    assert target.read_text() == "new contents"


def test_symlink_target_is_refused_and_left_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "out.env"
    link.symlink_to(victim)

    with pytest.raises(PrivateFileError, match="symbolic link"):
        write_private(link, "A='secret'\n")

    assert victim.read_text() == "precious"
    assert link.is_symlink()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.env", "victim.txt"]


def test_dangling_symlink_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    link = tmp_path / "out.env"
    link.symlink_to(tmp_path / "would-be-created")

    with pytest.raises(PrivateFileError, match="symbolic link"):
        write_private(link, "A='secret'\n")

    assert not (tmp_path / "would-be-created").exists()


def test_failure_while_writing_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.env"
    target.write_text("old")

    def full_disk(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(PrivateFileError, match="No space left on device"):
        write_private(target, "new")

    assert target.read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["out.env"]


def test_missing_folder_and_folder_target_are_clear_kvconfig_errors(tmp_path: Path) -> None:
    with pytest.raises(PrivateFileError, match="No such file or directory") as missing:
        write_private(tmp_path / "nowhere" / "out.env", "x")
    with pytest.raises(PrivateFileError, match="it is a folder"):
        write_private(tmp_path, "x")

    assert isinstance(missing.value, KvConfigError)
    assert isinstance(missing.value, OSError)
