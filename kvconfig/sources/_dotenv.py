"""``.env`` files, read with python-dotenv; each setting's origin is its file and line."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from kvconfig.sources._base import ConfigSource, SourceError
from kvconfig.sources._reading import read_text_file

__all__ = ["from_dotenv"]


def from_dotenv(path: str | os.PathLike[str], *, interpolate: bool = True) -> ConfigSource:
    """A ``.env`` file read with python-dotenv; origins carry the line of each variable.

    With ``interpolate`` (python-dotenv's default) ``${VAR}`` expands from earlier variables and the environment.
    python-dotenv's expansion copies the environment and every earlier variable for each variable, so its time grows
    with the square of the file: ``interpolate=False`` (``--no-interpolate`` on the command line) reads files of
    thousands of lines, or any file that needs no expansion, in linear time and keeps ``$`` as written.
    """
    file = Path(path)
    text = read_text_file(file, "the env file")
    origins: dict[str, str] = {}
    raw: dict[str, str | None] = {}
    # Checked before python-dotenv reads the values, so a bad line is an error here and not a logged warning.
    for binding in parse_stream(io.StringIO(text)):
        line = _binding_line(binding)
        if binding.error:
            raise SourceError(f"{file}:{line}: this line is not valid .env syntax.")
        if binding.key is not None:
            origins[binding.key] = f"{file}:{line}"
            raw[binding.key] = binding.value
    # Without expansion python-dotenv's values are exactly the parsed ones: no need to parse the file twice.
    values = dotenv_values(stream=io.StringIO(text), interpolate=True) if interpolate else raw
    settings = {key: ("" if value is None else value) for key, value in values.items()}
    return ConfigSource(settings, origins, "dotenv", file, text=text)


def _binding_line(binding: Any) -> int:
    # python-dotenv counts a binding from the blank lines before it; the variable is on the first non-blank line.
    original: str = binding.original.string
    return int(binding.original.line) + original[: len(original) - len(original.lstrip())].count("\n")
