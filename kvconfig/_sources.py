"""Where settings come from: the environment, ``.env`` files (python-dotenv) and JSON, YAML or TOML files.

Each reader returns a :class:`ConfigSource`: flat settings (nested keys joined as ``database.password`` and
``servers[0].url``), where each came from (``app.env:3``) for error messages, and enough of the file to write resolved
values back in place (:meth:`ConfigSource.render_text`, used by ``kvconfig inject``). Errors name the file and the
line, never a value.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from kvconfig._paths import PathPart, leaves, path_key
from kvconfig.errors import KvConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = [
    "ConfigSource",
    "SourceError",
    "dotenv_quote",
    "from_dotenv",
    "from_environ",
    "from_file",
    "from_mapping",
]

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


class SourceError(KvConfigError):
    """A configuration file cannot be read or parsed; says which file and where."""


@dataclass
class ConfigSource:
    """Flat settings with their origins; ``data`` keeps the nested structure of a structured file."""

    settings: dict[str, Any] = field(repr=False)
    origins: dict[str, str]
    kind: str
    path: Path | None = None
    data: Any = field(default=None, repr=False)
    paths: dict[str, tuple[PathPart, ...]] = field(default_factory=dict, repr=False)
    text: str | None = field(default=None, repr=False)

    def render(self, resolved: Mapping[str, Any]) -> Any:
        """The structure of the source with resolved values put back in place (for structured files)."""
        if self.data is None:
            return {key: resolved.get(key, value) for key, value in self.settings.items()}
        data = _deep_copy(self.data)
        for key, path in self.paths.items():
            if key in resolved:
                _assign(data, path, resolved[key])
        return data

    def render_text(self, resolved: Mapping[str, Any]) -> str:
        """The file's text with resolved values in place.

        A ``.env`` file keeps its comments, order and untouched lines; only lines whose value changed are rewritten
        (single-quoted). JSON, YAML and TOML are written out again from the structure (comments are not kept).
        """
        if self.kind == "dotenv" and self.text is not None:
            return _render_dotenv(self.text, self.settings, resolved)
        if self.kind == "json":
            return json.dumps(self.render(resolved), indent=2) + "\n"
        if self.kind == "yaml":
            import yaml

            return str(yaml.safe_dump(self.render(resolved), sort_keys=False, allow_unicode=True))
        if self.kind == "toml":
            return dump_toml(self.render(resolved))
        values = self.render(resolved)
        return "".join(f"{key}={dotenv_quote(_text(value))}\n" for key, value in values.items())

    def __repr__(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"ConfigSource({self.kind}{where}, {len(self.settings)} settings)"


def from_mapping(settings: Mapping[str, Any], *, origin: str = "mapping") -> ConfigSource:
    return ConfigSource(dict(settings), dict.fromkeys(settings, origin), "mapping")


def from_environ(environ: Mapping[str, str] | None = None, *, prefix: str = "") -> ConfigSource:
    """Environment variables (optionally only those starting with ``prefix``, which is kept in the names)."""
    env = os.environ if environ is None else environ
    settings = {key: value for key, value in env.items() if key.startswith(prefix)}
    return ConfigSource(settings, dict.fromkeys(settings, "environment"), "environ")


def from_dotenv(path: str | os.PathLike[str], *, interpolate: bool = True) -> ConfigSource:
    """A ``.env`` file read with python-dotenv; origins carry the line of each variable.

    With ``interpolate`` (python-dotenv's default) ``${VAR}`` expands from earlier variables and the environment.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"Cannot read the env file {file}: {_os_reason(exc)}.") from None
    origins: dict[str, str] = {}
    # Checked before python-dotenv reads the values, so a bad line is an error here and not a logged warning.
    for binding in parse_stream(io.StringIO(text)):
        line = _binding_line(binding)
        if binding.error:
            raise SourceError(f"{file}:{line}: this line is not valid .env syntax.")
        if binding.key is not None:
            origins[binding.key] = f"{file}:{line}"
    values = dotenv_values(stream=io.StringIO(text), interpolate=interpolate)
    settings = {key: ("" if value is None else value) for key, value in values.items()}
    return ConfigSource(settings, origins, "dotenv", file, text=text)


def from_file(path: str | os.PathLike[str]) -> ConfigSource:
    """Read a ``.env``, ``.json``, ``.yaml``/``.yml`` or ``.toml`` file, chosen by its name."""
    file = Path(path)
    kind = file_kind(file)
    if kind is None:
        raise SourceError(f"Cannot tell the format of {file}: use a .env, .json, .yaml/.yml or .toml file name.")
    if kind == "dotenv":
        return from_dotenv(file)
    return _structured(file, kind)


def file_kind(path: str | os.PathLike[str]) -> str | None:
    """``"dotenv"``, ``"json"``, ``"yaml"`` or ``"toml"`` from a file name; ``None`` when it says nothing."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".toml":
        return "toml"
    if suffix == ".env" or file.name.startswith(".env") or file.name.endswith(".env"):
        return "dotenv"
    return None


def dotenv_quote(value: str) -> str:
    """Quote a value for a ``.env`` file so that python-dotenv reads back exactly ``value`` (newlines included)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _structured(file: Path, kind: str) -> ConfigSource:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"Cannot read the config file {file}: {_os_reason(exc)}.") from None
    yaml_lines: dict[tuple[PathPart, ...], int] = {}
    try:
        if kind == "json":
            data = json.loads(text)
        elif kind == "toml":
            data = tomllib.loads(text)
        else:
            try:
                import yaml
            except ImportError:  # pragma: no cover - depends on the environment
                raise SourceError("Reading YAML needs PyYAML: pip install 'kvconfig[yaml]'.") from None
            data = yaml.safe_load(text)
            yaml_lines = _yaml_lines(yaml.compose(text, Loader=yaml.SafeLoader))
    except SourceError:
        raise
    except Exception as exc:
        # ``from None``: the parser's own exception may quote the document, values included.
        raise SourceError(f"{file} is not valid {kind.upper()}: {_parse_error(exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping | list):
        raise SourceError(f"{file} must hold an object (a mapping of settings) at the top, not a single value.")
    settings: dict[str, Any] = {}
    paths: dict[str, tuple[PathPart, ...]] = {}
    for path, value in leaves(data):
        key = path_key(path)
        settings[key] = value
        paths[key] = path
    if kind == "yaml":
        origins = {
            key: f"{file}:{yaml_lines[path]}" if path in yaml_lines else str(file) for key, path in paths.items()
        }
    else:
        origins = _locate_all(file, text.splitlines(), settings, paths, kind)
    return ConfigSource(settings, origins, kind, file, data, paths, text)


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"it is not UTF-8 text (byte {exc.start})"
    return str(getattr(exc, "strerror", None) or type(exc).__name__)


def _parse_error(exc: Exception) -> str:
    """Where the parser stopped and what it expected: its messages are templates, never document text."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}."
    if isinstance(exc, tomllib.TOMLDecodeError):
        message = str(exc)
        found = _TOML_POSITION.search(message)
        reason = _TOML_POSITION.sub("", message).strip()
        return f"{reason} at line {found.group(1)}, column {found.group(2)}." if found else f"{reason}."
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        problem = getattr(exc, "problem", None) or "syntax error"
        # PyYAML's problems may name the character it stopped at, but not the text around it.
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}."
    return type(exc).__name__


def _yaml_lines(node: Any, path: tuple[PathPart, ...] = ()) -> dict[tuple[PathPart, ...], int]:
    """Line of every scalar in a composed YAML document, by path."""
    import yaml

    lines: dict[tuple[PathPart, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            lines.update(_yaml_lines(value_node, (*path, str(key_node.value))))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(_yaml_lines(item, (*path, index)))
    elif isinstance(node, yaml.ScalarNode):
        lines[path] = node.start_mark.line + 1
    return lines


def _locate_all(
    file: Path, lines: list[str], settings: dict[str, Any], paths: dict[str, tuple[PathPart, ...]], kind: str
) -> dict[str, str]:
    """Origins for JSON and TOML (whose parsers keep no positions): each value is looked for from where the previous
    one was found, so repeated values (the same reference twice) get their own lines."""
    origins: dict[str, str] = {}
    cursor = 0
    for key, value in settings.items():
        if isinstance(value, str) and value:
            needles = [value, json.dumps(value)[1:-1]]
        else:
            last = next((part for part in reversed(paths[key]) if isinstance(part, str)), None)
            needles = [f'"{last}"', f"{last} ="] if last else []
        found = _find_line(lines, needles, cursor)
        if found is None:
            found = _find_line(lines, needles, 0)
        if found is None:
            origins[key] = str(file)
        else:
            origins[key] = f"{file}:{found + 1}"
            cursor = found
    return origins


def _find_line(lines: list[str], needles: list[str], start: int) -> int | None:
    for number in range(start, len(lines)):
        if any(needle and needle in lines[number] for needle in needles):
            return number
    return None


def _deep_copy(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {key: _deep_copy(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_deep_copy(value) for value in data]
    return data


def _assign(data: Any, path: tuple[PathPart, ...], value: Any) -> None:
    target = data
    for part in path[:-1]:
        target = target[part] if isinstance(part, int) else _member(target, part)
    if path:
        last = path[-1]
        target[last if isinstance(last, int) else _member_key(target, last)] = value


def _member(mapping: Any, part: str) -> Any:
    return mapping[_member_key(mapping, part)]


def _member_key(mapping: Any, part: str) -> Any:
    # YAML keys may be ints or booleans; paths hold their str() form.
    if part in mapping:
        return part
    return next((key for key in mapping if str(key) == part), part)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _binding_line(binding: Any) -> int:
    # python-dotenv counts a binding from the blank lines before it; the variable is on the first non-blank line.
    original: str = binding.original.string
    return int(binding.original.line) + original[: len(original) - len(original.lstrip())].count("\n")


def _render_dotenv(text: str, settings: Mapping[str, Any], resolved: Mapping[str, Any]) -> str:
    out: list[str] = []
    for binding in parse_stream(io.StringIO(text)):
        original = binding.original.string
        key = binding.key
        if key is None or key not in resolved or _text(resolved[key]) == _text(settings.get(key)):
            out.append(original)
            continue
        body = original.lstrip()
        leading = original[: len(original) - len(body)]
        export = "export " if body.startswith("export ") else ""
        newline = original[len(original.rstrip("\r\n")) :]
        out.append(f"{leading}{export}{key}={dotenv_quote(_text(resolved[key]))}{newline}")
    return "".join(out)


def dump_toml(data: Mapping[str, Any], prefix: str = "") -> str:
    """Write TOML for the shapes config files use (tables, arrays, strings, numbers, booleans, dates)."""
    scalars, tables = [], []
    for key, value in data.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        else:
            scalars.append(f"{_toml_key(key)} = {_toml_value(value)}")
    out = "\n".join(scalars) + ("\n" if scalars else "")
    for key, value in tables:
        name = f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key)
        out += f"\n[{name}]\n" + dump_toml(value, name)
    return out


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(_text(value))
