"""``kvconfig inject``: a config file rendered with its references replaced by their values.

Without ``--reveal`` the rendering goes to stdout with every value masked (a preview: the references are still
read, so failures show); ``-o FILE`` writes the values, so it needs ``--reveal`` like ``resolve -o``.

With ``--appconfig``, a structured template's settings take the values of the store's key-values of the same name
(``db:password`` and ``db__password`` fill ``db.password``), references included; the store's other key-values are
not added (the template is the shape of the output).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kvconfig._private_files import write_private
from kvconfig.cli._appconfig import appconfig_options, appconfig_references, check_store, read_store
from kvconfig.cli._common import (
    MASK,
    embedded_hint,
    env_name,
    fail,
    note,
    open_resolver,
    reference_settings,
    require_reveal,
    resolver_options,
    warn,
)
from kvconfig.cli._console import ProgressLine, stderr_console
from kvconfig.errors import KvConfigError
from kvconfig.references import find_references
from kvconfig.resolve import SecretResolver
from kvconfig.sources import file_kind, from_file, read_text_file

__all__ = ["inject"]


@click.command()
@appconfig_options
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
    if params["appconfig"] and file_kind(template) is None:
        source = click.get_current_context().get_parameter_source("appconfig")
        if source is not click.core.ParameterSource.ENVIRONMENT:
            raise click.UsageError("--appconfig fills the settings of a .env, JSON, YAML or TOML template.")
        warn(f"KVCONFIG_APPCONFIG is not used for {template}: a store fills the settings of a structured template.")
        params["appconfig"] = None
    check_store(params)  # an untrusted store fails here, before any credential is made
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
    settings, origins = dict(source.settings), dict(source.origins)
    content_types = _fill_from_store(template, settings, origins, params)
    embedded_hint(settings, params["embedded"])
    resolved: dict[str, Any] = dict(resolver.resolve(settings, origins=origins, content_types=content_types))
    if not reveal:
        secret_names = reference_settings(settings, params["embedded"]) | appconfig_references(content_types)
        resolved.update(dict.fromkeys(secret_names, MASK))
    return source.render_text(resolved)


def _template_name(key: str) -> str:
    return key.replace("__", ".").replace(":", ".")


def _fill_from_store(
    template: Path, settings: dict[str, Any], origins: dict[str, str], params: dict[str, Any]
) -> dict[str, str | None]:
    """The store's key-values in place of the template's settings of the same name; their content types."""
    store = read_store(params)  # inside the fakes of --fake-vault, when given
    if store is None:
        return {}
    by_name = {_template_name(name): name for name in settings}
    if file_kind(template) == "dotenv":
        # A .env template names its settings as variables (APP__DB__PASSWORD), as run and resolve name a store's keys.
        by_name.update({env_name(name): name for name in settings if env_name(name) not in by_name})

    def filled_by(key: str) -> str | None:
        name = by_name.get(_template_name(key))
        if name is None and file_kind(template) == "dotenv":
            name = by_name.get(env_name(key))
        return name

    content_types: dict[str, str | None] = {}
    for key, name in store.names_as(filled_by).items():  # two keys filling one setting: refused, nothing written
        settings[name] = store.settings[key]
        origins[name] = store.origins[key]
        content_types[name] = store.content_types.get(key)
    note(
        f"{len(content_types)} of {template}'s {len(settings)} settings filled from {store.endpoint}"
        + (
            f"; {len(store.settings) - len(content_types)} key-values of the store name none of them."
            if len(store.settings) > len(content_types)
            else "."
        )
    )
    return content_types


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
