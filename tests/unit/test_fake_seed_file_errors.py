"""A seed file the fake cannot read as JSON (not UTF-8, or nested past the parser's recursion limit) is a one-line
``SeedError`` naming the file, as a file with a syntax error is, not a traceback of the decoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvconfig.fake import FakeKeyVault, SeedError


@pytest.mark.parametrize("content", [b"\xff\xfe{}", b"[" * 5000])
def test_an_unreadable_seed_file_is_a_seed_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "seed.json"
    path.write_bytes(content)

    with pytest.raises(SeedError, match=f"The seed file {path} is not"):
        FakeKeyVault().seed(path)
