"""docs/fake.md's coverage table is the one generated from the route table (it cannot drift from the code)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvconfig.fake.core.routing import Route
from kvconfig.fake.coverage import END_MARKER, START_MARKER, coverage_markdown, main, replace_table
from kvconfig.fake.routes import route_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "fake.md"


def test_docs_coverage_table_matches_the_route_table() -> None:
    document = DOC.read_text(encoding="utf-8")
    assert replace_table(document, coverage_markdown()) == document, (
        "docs/fake.md's coverage table is stale: run python -m kvconfig.fake.coverage --write docs/fake.md"
    )


def test_coverage_lists_every_route_once() -> None:
    routes = route_table().routes
    table = coverage_markdown(routes)
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`/" in line]
    assert len(rows) == len(routes)
    assert "| Secrets | GetSecret | GET | `/secrets/{name}/{version?}` | yes | vault | all |" in rows


def test_coverage_marks_unimplemented_routes_and_counts_per_area() -> None:
    routes = [
        Route("GET", "/secrets/{name}", "GetThing", lambda ctx: {}),
        Route("POST", "/keys/{name}/rotate", "RotateKey", None, kinds=frozenset({"vault", "managedhsm"}), since="7.3"),
        Route("GET", "/securitydomain/download", "Download", None, kinds=frozenset({"managedhsm"})),
    ]
    table = coverage_markdown(routes)
    assert "| Secrets | 1 | 1 |" in table
    assert "| Keys | 0 | 1 |" in table
    assert "| Other | 0 | 1 |" in table
    assert (
        "| Keys | RotateKey | POST | `/keys/{name}/rotate` | **no** (`FakeVaultNotImplementedError`) | "
        "vault, Managed HSM | 7.3 |"
    ) in table


def test_replace_table_keeps_the_text_around_the_markers() -> None:
    document = f"intro\n{START_MARKER}\nold\n{END_MARKER}\noutro\n"
    assert replace_table(document, "new\n") == f"intro\n{START_MARKER}\nnew\n{END_MARKER}\noutro\n"


def test_replace_table_without_markers_raises() -> None:
    with pytest.raises(ValueError, match="coverage:start"):
        replace_table("no markers here", "table")


def test_main_write_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "fake.md"
    doc.write_text(f"# Fake\n{START_MARKER}\nstale\n{END_MARKER}\n", encoding="utf-8")
    assert main(["--check", str(doc)]) == 1
    assert "stale" in capsys.readouterr().err
    assert main(["--write", str(doc)]) == 0
    assert main(["--check", str(doc)]) == 0
    assert main([]) == 0
    assert capsys.readouterr().out.startswith(START_MARKER)
