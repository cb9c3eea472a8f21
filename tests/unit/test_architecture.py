"""The house's architecture is checked, not only drawn: no import cycles, the import-linter contracts of
pyproject.toml hold, no library module grows past about 500 lines, and module names do not repeat their wing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kvconfig", "kvconfig_fastapi", "kvconfig_flask", "kvconfig_django", "pytest_kvconfig")
_LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"
MAX_MODULE_LINES = 550  # "about 500": a module past this is split along a real seam (docs/architecture.md)


def _strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Groups of modules that import one another (directly or not), by Tarjan's algorithm, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph.find_modules_directly_imported_by(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            if children:
                child = children.pop()
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, sorted(graph.find_modules_directly_imported_by(child))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


@pytest.fixture(scope="module")
def import_graph() -> grimp.ImportGraph:
    sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
    try:
        return grimp.build_graph(*PACKAGES, include_external_packages=False)
    finally:
        del sys.path[:2]


def test_no_module_of_the_library_or_the_plugins_sits_in_an_import_cycle(import_graph: grimp.ImportGraph) -> None:
    # grimp sees every import statement, those under TYPE_CHECKING and inside functions included.
    assert _strongly_connected(import_graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "a.b", "a.c", "a.d"):
        graph.add_module(module)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.b")
    graph.add_import(importer="a.d", imported="a.b")
    assert _strongly_connected(graph) == [["a.b", "a.c"]]


def test_import_linter_contracts_hold() -> None:
    # What CI's `lint-imports` runs: the layers, independence and forbidden contracts in pyproject.toml.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")])}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _library_modules() -> list[Path]:
    return sorted([*ROOT.joinpath("kvconfig").rglob("*.py"), *ROOT.joinpath("plugins").rglob("*.py")])


@pytest.mark.parametrize("path", _library_modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_library_module_is_over_about_500_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it along a real seam"


def test_no_module_name_repeats_its_wing() -> None:
    repeated = []
    for path in ROOT.joinpath("kvconfig").rglob("*.py"):
        wing = path.parent.name.rstrip("s")[:4]
        if path.parent.name != "kvconfig" and path.stem.lstrip("_").startswith(wing):
            repeated.append(str(path.relative_to(ROOT)))
    assert repeated == []
