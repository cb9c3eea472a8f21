"""The coverage table of docs/fake.md, generated from the fake's route table so it cannot drift from the code.

::

    python -m kvconfig.fake.coverage                      # print the table
    python -m kvconfig.fake.coverage --write docs/fake.md # replace the table between the coverage markers
    python -m kvconfig.fake.coverage --check docs/fake.md # exit 1 when the file's table is stale

A unit test runs ``--check``'s logic, so implementing an operation without re-running the generator fails the suite.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from kvconfig.fake.core.api_versions import API_VERSIONS
from kvconfig.fake.core.routing import Route
from kvconfig.fake.routes import route_table

__all__ = ["END_MARKER", "START_MARKER", "coverage_markdown", "replace_table"]

START_MARKER = "<!-- coverage:start -->"
END_MARKER = "<!-- coverage:end -->"

# Which object family a path belongs to, by its first segment.
_AREAS = {
    "secrets": "Secrets",
    "deletedsecrets": "Secrets",
    "keys": "Keys",
    "deletedkeys": "Keys",
    "rng": "Keys",
    "certificates": "Certificates",
    "deletedcertificates": "Certificates",
}
_AREA_ORDER = ("Secrets", "Keys", "Certificates", "Administration", "Other")
# Managed HSM administration: RBAC under any scope, settings, full backup and restore.
_ADMINISTRATION_SEGMENTS = frozenset({"providers", "settings", "backup", "prebackup", "restore", "prerestore"})
_METHOD_ORDER = {"GET": 0, "PUT": 1, "POST": 2, "PATCH": 3, "DELETE": 4}
_KIND_NAMES = {"vault": "vault", "managedhsm": "Managed HSM"}


def _area(route: Route) -> str:
    template = route.template.lower()
    first = template.strip("/").split("/", 1)[0]
    if first in _ADMINISTRATION_SEGMENTS or "/providers/microsoft.authorization/" in template:
        return "Administration"
    return _AREAS.get(first, "Other")


def _sort_key(route: Route) -> tuple[int, str, int]:
    return (_AREA_ORDER.index(_area(route)), route.template.lower(), _METHOD_ORDER.get(route.method, 9))


def _since(route: Route) -> str:
    return "all" if route.since == API_VERSIONS[0] else route.since


def _kinds(route: Route) -> str:
    return ", ".join(_KIND_NAMES.get(kind, kind) for kind in sorted(route.kinds, key=lambda k: k != "vault"))


def coverage_markdown(routes: Sequence[Route] | None = None) -> str:
    """The markdown between the coverage markers: a summary per area, then one row per REST operation."""
    table = list(routes) if routes is not None else route_table().routes
    ordered = sorted(table, key=_sort_key)
    lines = [
        f"Generated from the route table by `python -m kvconfig.fake.coverage --write docs/fake.md`; "
        f"api-versions accepted: {', '.join(f'`{v}`' for v in API_VERSIONS)}.",
        "",
        "| area | implemented | operations |",
        "|---|---|---|",
    ]
    for area in _AREA_ORDER:
        members = [route for route in ordered if _area(route) == area]
        if members:
            done = sum(route.handler is not None for route in members)
            lines.append(f"| {area} | {done} | {len(members)} |")
    lines += [
        "",
        "`{version?}` marks a version segment that may be empty: the SDK sends `/secrets/s1/` for the latest version.",
        "",
        "| area | operation | method | path | implemented | vault kinds | since api-version |",
        "|---|---|---|---|---|---|---|",
    ]
    for route in ordered:
        status = "yes" if route.handler is not None else "**no** (`FakeVaultNotImplementedError`)"
        lines.append(
            f"| {_area(route)} | {route.operation} | {route.method} | `{route.template}` | {status} | "
            f"{_kinds(route)} | {_since(route)} |"
        )
    return "\n".join(lines) + "\n"


def replace_table(document: str, table: str) -> str:
    """``document`` with the text between the coverage markers replaced by ``table``."""
    start = document.find(START_MARKER)
    end = document.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError(f"The document has no {START_MARKER} ... {END_MARKER} section to fill.")
    return document[: start + len(START_MARKER)] + "\n" + table + document[end:]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kvconfig.fake.coverage", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="FILE", type=Path, help="replace the table between the markers in FILE")
    group.add_argument("--check", metavar="FILE", type=Path, help="exit 1 if FILE's table differs from the code")
    args = parser.parse_args(argv)
    table = coverage_markdown()
    if args.write is None and args.check is None:
        sys.stdout.write(f"{START_MARKER}\n{table}{END_MARKER}\n")
        return 0
    path: Path = args.write or args.check
    document = path.read_text(encoding="utf-8")
    updated = replace_table(document, table)
    if args.check is not None:
        if updated != document:
            sys.stderr.write(
                f"{path}: the coverage table is stale; run python -m kvconfig.fake.coverage --write {path}.\n"
            )
            return 1
        return 0
    if updated != document:
        path.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
