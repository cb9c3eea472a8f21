"""The resolver side's imports run downhill and form no cycle (read from the import graph by grimp).

errors -> references -> sources -> resolve -> settings -> cli: each may import the ones before it, never one after.
"""

from __future__ import annotations

import grimp
import pytest

LAYERS = [
    "kvconfig.errors",
    "kvconfig.references",
    "kvconfig.sources",
    "kvconfig.resolve",
    "kvconfig.settings",
    "kvconfig.cli",
]
WINGS = ("kvconfig.references", "kvconfig.sources", "kvconfig.resolve")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("kvconfig")


@pytest.mark.parametrize(
    ("lower", "higher"), [(low, high) for index, low in enumerate(LAYERS) for high in LAYERS[index + 1 :]]
)
def test_a_lower_layer_never_imports_a_higher_one(graph: grimp.ImportGraph, lower: str, higher: str) -> None:
    chain = graph.find_shortest_chain(importer=lower, imported=higher, as_packages=True)
    assert chain is None, " -> ".join(chain or ())


@pytest.mark.parametrize("wing", WINGS)
def test_the_resolver_wings_import_neither_the_fake_nor_crypto(graph: grimp.ImportGraph, wing: str) -> None:
    for other in ("kvconfig.fake", "kvconfig.crypto", "kvconfig.cli", "kvconfig.settings"):
        assert not graph.chain_exists(importer=wing, imported=other, as_packages=True), other


def test_no_module_of_the_resolver_side_sits_in_an_import_cycle(graph: grimp.ImportGraph) -> None:
    modules = sorted(module for module in graph.modules if module.startswith((*LAYERS, *WINGS)))
    in_cycles = [
        (module, imported)
        for module in modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    ]
    assert in_cycles == []
