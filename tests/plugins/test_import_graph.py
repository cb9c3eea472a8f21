"""The plugins' import graph has no cycle: a lower module never imports a higher one, not even for type hints."""

from __future__ import annotations

import pytest

grimp = pytest.importorskip("grimp")

PLUGINS = ("kvconfig_fastapi", "kvconfig_flask", "kvconfig_django", "pytest_kvconfig")


def test_plugin_modules_import_each_other_without_cycles() -> None:
    for plugin in PLUGINS:
        pytest.importorskip(plugin)
    # Imports under TYPE_CHECKING count: a cycle hidden there still ties the two modules together.
    graph = grimp.build_graph(*PLUGINS, include_external_packages=False)

    cycles = sorted(
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    )

    assert cycles == []
