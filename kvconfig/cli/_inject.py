"""``kvconfig inject``: a config file rendered with its references replaced by their values.

Without ``--reveal`` the rendering goes to stdout with every value masked (a preview: the references are still
read, so failures show); ``-o FILE`` writes the values, so it needs ``--reveal`` like ``resolve -o``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kvconfig._private_files import write_private
from kvconfig.cli._common import (
    MASK,
    embedded_hint,
    fail,
    note,
    open_resolver,
    reference_settings,
    require_reveal,
    resolver_options,
)
from kvconfig.cli._console import ProgressLine, stderr_console
from kvconfig.errors import KvConfigError
from kvconfig.references import find_references
from kvconfig.resolve import SecretResolver
from kvconfig.sources import file_kind, from_file, read_text_file

__all__ = ["inject"]


@click.command()
@resolver_options
@click.option(
    "-i",
    "--in",
    "template",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The file to render: JSON, YAML, TOML, .env, or any text with embedded references.",
)
@click.option(
    "--interpolate/--no-interpolate",
    default=True,
    show_default=True,
    help="Expand ${VAR} in a .env template as python-dotenv does; --no-interpolate keeps $ as written.",
)
@click.option("--reveal", is_flag=True, help="Print or write the values in clear (masked by default).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the rendering to this file (mode 600, atomically; needs --reveal); stdout when omitted.",
)
def inject(template: Path, reveal: bool, output: Path | None, **params: Any) -> None:
    """Render a config file with its references replaced by their values (masked unless --reveal)."""
    require_reveal(output, reveal)
    try:
        with ProgressLine(stderr_console()) as progress, open_resolver(params, progress=progress) as resolver:
            if file_kind(template) is not None:
                text = _inject_settings(template, resolver, params, reveal)
            else:
                text = _inject_text(template, resolver, params, reveal)
        if output is None:
            click.echo(text, nl=False)
        else:
            write_private(output, text)
            note(f"wrote {output} (mode 600).")
    except KvConfigError as exc:
        fail(exc)


def _inject_settings(template: Path, resolver: SecretResolver, params: dict[str, Any], reveal: bool) -> str:
    """A structured file (``.env``, JSON, YAML, TOML): each setting that held a reference gets its value."""
    source = from_file(template, interpolate=params["interpolate"])
    embedded_hint(source.settings, params["embedded"])
    resolved: dict[str, Any] = dict(resolver.resolve(source.settings, origins=source.origins))
    if not reveal:
        resolved.update(dict.fromkeys(reference_settings(source.settings, params["embedded"]), MASK))
    return source.render_text(resolved)


def _inject_text(template: Path, resolver: SecretResolver, params: dict[str, Any], reveal: bool) -> str:
    """Any other text: every embedded reference is replaced, each named after its place (``file:line:column``)."""
    text = read_text_file(template, "the template")
    found = find_references(text, origin=str(template), cloud=params["cloud"], trusted_hosts=params["trusted_hosts"])
    places = {}
    for start, end, _ref in found:
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        places[f"{template}:{line}:{column}"] = (start, end)
    resolved = resolver.resolve({place: text[start:end] for place, (start, end) in places.items()})
    pieces, position = [], 0
    for place, (start, end) in places.items():
        pieces.append(text[position:start])
        pieces.append(str(resolved[place]) if reveal else MASK)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
