"""Each extra installs what its plugin imports: ``pip install kvconfig[fastapi]`` must be enough to
``import kvconfig_fastapi``. Nothing is installed here: the plugins' imports are read with ``ast`` (following kvconfig's
own modules they import), mapped to distributions, and checked against what ``pyproject.toml`` makes pip install for
the extra (its requirements, the base dependencies, and what those depend on, from the installed metadata).

An import is optional, and not counted, when it sits in a ``try`` that catches ``ImportError`` (the module then says
what to install) or under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata as metadata
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "kvconfig"
# Where the wheel's top-level packages live in the source tree (pyproject's [tool.hatch.build.targets.wheel]).
PACKAGE_DIRS = {"kvconfig": ROOT / "kvconfig", **{p.name: p for p in (ROOT / "plugins").iterdir() if p.is_dir()}}
# extra -> the modules it exists for; None is a plain `pip install kvconfig`.
EXTRA_MODULES: dict[str | None, list[str]] = {
    None: ["kvconfig", "kvconfig.cli", "kvconfig.crypto", "kvconfig.fake", "pytest_kvconfig.plugin"],
    "fastapi": ["kvconfig_fastapi"],
    "flask": ["kvconfig_flask", "kvconfig_flask._cli"],
    "django": ["kvconfig_django", "kvconfig_django.apps", "kvconfig_django.checks"],
    "settings": ["kvconfig.settings"],
}
# Modules a plugin is run by, never installed by kvconfig: pytest runs pytest_kvconfig.
PROVIDED_BY_THE_HOST = {None: {"pytest"}}
# Lazy imports inside a feature of another extra, reached only through that feature (each is checked below to be
# declared by that extra): (importing module, imported top-level module) -> the extra.
OTHER_EXTRAS_FEATURES = {
    ("kvconfig.sources._base", "yaml"): "yaml",  # writing YAML output: only for a source read from YAML, which needs it
    ("kvconfig.sources._yaml", "yaml"): "yaml",  # reading YAML: after from_file() said what to install
    ("kvconfig.mount._spc", "yaml"): "yaml",  # kvconfig mount: _loader() says what to install
    ("kvconfig.mount._manifest", "yaml"): "yaml",  # reached only after a SecretProviderClass was read
    ("kvconfig.fake.control.events", "httpx"): "httpx",  # the fake's Event Grid webhook delivery
    ("kvconfig.fake.serve.emulator", "uvicorn"): "serve",  # after require_uvicorn() said what to install
    ("kvconfig.fake.serve.uvicorn_server", "uvicorn"): "serve",  # the emulator's server, loaded by the same path
}


def _lazy_edges() -> dict[str, set[str]]:
    """Imports made by name at run time, which the reader cannot see in the source: ``kvconfig``'s public names
    (``kvconfig._LAZY``) and the CLI's commands (``kvconfig/cli/_lazy.py``), each loaded on first use."""
    import kvconfig
    from kvconfig.cli import cli

    return {
        "kvconfig": set(vars(kvconfig)["_LAZY"].values()),
        "kvconfig.cli._main": {command.module for command in cli.lazy_commands.values()},
    }


LAZY_EDGES = _lazy_edges()


def module_file(module: str) -> Path | None:
    """The source file of one of the wheel's own modules, or None for a third-party or standard module."""
    top, *rest = module.split(".")
    base = PACKAGE_DIRS.get(top)
    if base is None:
        return None
    path = base.joinpath(*rest)
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(name, ast.Name) and name.id in {"ImportError", "ModuleNotFoundError"} for name in names)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, module: str) -> Iterator[str]:
    """Every module ``path`` imports, anywhere in it (functions included), except optional and type-only imports."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST) -> Iterator[str]:
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                yield from visit(child)
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from visit(child)
            return
        if isinstance(node, ast.If) and "sys.version_info" in ast.unparse(node.test):
            # Version-dependent imports (tomllib / tomli): the branch this interpreter takes, like the markers.
            taken = eval(compile(ast.Expression(node.test), str(path), "eval"), {"sys": sys})
            for child in node.body if taken else node.orelse:
                yield from visit(child)
            return
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield target
            yield from (f"{target}.{alias.name}" for alias in node.names)  # `from pkg import submodule`
        for child in ast.iter_child_nodes(node):
            yield from visit(child)

    yield from visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))


@functools.cache
def _cached_imports(path: Path, module: str) -> tuple[str, ...]:
    return tuple(imports_of(path, module))


def third_party_imports(roots: list[str]) -> dict[str, set[str]]:
    """Top-level third-party module -> the wheel's modules that import it, following the wheel's own imports."""
    found: dict[str, set[str]] = {}
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        pending.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # importing a.b.c runs a and a.b first
        pending.extend(LAZY_EDGES.get(module, ()))
        path = module_file(module)
        if path is None:
            continue
        for imported in _cached_imports(path, module):
            top = imported.split(".")[0]
            if top in PACKAGE_DIRS:
                pending.append(imported)
            elif top and top not in sys.stdlib_module_names and top != "__future__":
                found.setdefault(top, set()).add(module)
    return found


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]  # type: ignore[no-any-return]


def declared(extra: str | None) -> set[str]:
    """Distributions ``pip install kvconfig[extra]`` asks for directly (self-references like kvconfig[a,b] expanded)."""
    project = pyproject()
    optional: dict[str, list[str]] = project["optional-dependencies"]  # type: ignore[assignment]
    names: set[str] = set()
    pending = [Requirement(text) for text in project["dependencies"]]  # type: ignore[attr-defined]
    extras_seen: set[str] = set()
    if extra is not None:
        pending.append(Requirement(f"{PROJECT}[{extra}]"))
    while pending:
        requirement = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name == PROJECT:
            for sub in requirement.extras - extras_seen:
                extras_seen.add(sub)
                pending.extend(Requirement(text) for text in optional[sub])
        else:
            names.add(name)
    return names


def installed_closure(names: set[str]) -> set[str]:
    """``names`` and everything they require, from the installed distributions' metadata (no extras of theirs)."""
    closure: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in closure:
            continue
        closure.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(canonicalize_name(requirement.name))
    return closure


@functools.cache
def _module_distributions() -> dict[str, list[str]]:
    # Python 3.10's packages_distributions() reads only top_level.txt, which most modern wheels no longer ship; the
    # top-level names in each distribution's RECORD (what 3.11 falls back to) fill the gaps.
    found: dict[str, list[str]] = {key: list(value) for key, value in metadata.packages_distributions().items()}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        for file in dist.files or ():
            top = file.parts[0] if len(file.parts) > 1 else file.name.removesuffix(".py")
            if top.isidentifier() and not top.endswith((".dist-info", ".egg-info")):
                owners = found.setdefault(top, [])
                if name not in owners:
                    owners.append(name)
    return found


def distributions_of(module: str) -> set[str]:
    return {canonicalize_name(name) for name in _module_distributions().get(module, [])}


@pytest.mark.parametrize("extra", list(EXTRA_MODULES), ids=lambda extra: extra or "base")
def test_each_extra_installs_what_its_modules_import(extra: str | None) -> None:
    imports = third_party_imports(EXTRA_MODULES[extra])
    installs = installed_closure(declared(extra))
    missing = []
    for top, importers in sorted(imports.items()):
        if top in PROVIDED_BY_THE_HOST.get(extra, set()):
            continue
        distributions = distributions_of(top)
        assert distributions, f"{sorted(importers)} import {top}, which no installed distribution provides"
        if distributions & installs:
            continue
        for importer in sorted(importers):
            feature_extra = OTHER_EXTRAS_FEATURES.get((importer, top))
            if feature_extra is None:
                missing.append(f"{importer} imports {top} (from {', '.join(sorted(distributions))})")
            else:
                assert distributions & declared(feature_extra), f"kvconfig[{feature_extra}] should install {top}"
    label = f"kvconfig[{extra}]" if extra else "kvconfig"
    assert not missing, f"pip install {label} does not install: " + "; ".join(missing)


def test_the_import_reader_sees_the_plugins_real_imports() -> None:
    # The reader must not pass by finding nothing: each plugin's framework is among what it reports.
    for extra, framework in (("fastapi", "fastapi"), ("flask", "flask"), ("django", "django")):
        assert framework in third_party_imports(EXTRA_MODULES[extra])
    assert "pydantic_settings" in third_party_imports(["kvconfig.settings"])
    assert "azure" in third_party_imports(["kvconfig"])


def test_optional_and_type_only_imports_are_not_counted(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import needed\n"
        "try:\n    import optional\nexcept ImportError:\n    optional = None\n"
        "if TYPE_CHECKING:\n    import typed_only\n"
        "def later():\n    from lazy.sub import thing\n"
    )
    assert sorted(imports_of(source, "sample")) == [
        "lazy.sub",
        "lazy.sub.thing",
        "needed",
        "typing",
        "typing.TYPE_CHECKING",
    ]
