"""docs/fake.md's table of error wordings quotes the fake's own wordings: a wording changed in the code without the
table (or the other way round) fails here, the way the coverage table's --check does."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## Error wordings and their evidence"


def _table_rows() -> list[list[str]]:
    text = (ROOT / "docs" / "fake.md").read_text(encoding="utf-8")
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| answer ")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def _fake_source() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted((ROOT / "kvconfig" / "fake").rglob("*.py")))


def test_every_literal_wording_in_the_table_is_the_fakes_own() -> None:
    rows = _table_rows()
    assert len(rows) >= 30
    source = _fake_source()
    quoted = [
        literal
        for row in rows
        for literal in re.findall(r"`([^`]+)`", row[2])
        if "{" not in literal and "..." not in literal
    ]
    assert quoted
    missing = [literal for literal in quoted if literal not in source]
    assert missing == []


def test_every_row_carries_a_mark_and_its_evidence() -> None:
    for answer, _status, _wording, mark, evidence in _table_rows():
        assert mark.split(",")[0].split(" ")[0] in {"R", "I"}, answer
        assert evidence, answer
