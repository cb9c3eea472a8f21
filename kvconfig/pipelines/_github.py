"""GitHub Actions: workflow commands (``::add-mask::``) and file commands (``$GITHUB_OUTPUT``, ``$GITHUB_ENV``).

What the runner reads, and so what kvconfig writes:

- ``::add-mask::VALUE`` on stdout registers a value the runner then replaces by ``***`` in every later log line. The
  runner decodes ``%25``, ``%0D`` and ``%0A`` in a command's data (``@actions/core``'s ``escapeData``), so a value is
  escaped the same way: a newline inside a value can never end the command and start another one. The log is
  masked line by line, so a multi-line value is also registered one line at a time.
- ``$GITHUB_OUTPUT`` and ``$GITHUB_ENV`` are files the runner reads after the step; each entry is written with the
  multi-line syntax ``NAME<<DELIMITER`` / value / ``DELIMITER`` and a random ``ghadelimiter_<uuid>`` delimiter, as
  ``@actions/core`` writes them, so values with newlines survive and cannot forge another entry.
- Names follow ``azure/get-keyvault-secrets``: the output is named after the secret, the environment variable is the
  secret's name upper-cased with ``-`` as ``_`` (``db-password`` -> ``DB_PASSWORD``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

from kvconfig.errors import KvConfigError

__all__ = [
    "PipelineOutputError",
    "append_file_command",
    "escape_command_data",
    "file_command",
    "github_env_name",
    "mask_commands",
]

_MAX_ENTRY = 1024 * 1024  # the runner's own cap on a file command entry is far above any Key Vault secret (25 KB)


class PipelineOutputError(KvConfigError):
    """A value cannot be handed to the CI runner safely (a name it would misread, a file it cannot append to)."""


def escape_command_data(text: str) -> str:
    """A workflow command's data, escaped as the runner unescapes it: ``%`` ``\\r`` ``\\n``."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def mask_commands(values: Iterable[str]) -> list[str]:
    """``::add-mask::`` lines for these values: each whole value and each of its lines, blank ones left out."""
    seen: dict[str, None] = {}
    for value in values:
        for part in (value, *value.splitlines()):
            if part.strip():
                seen.setdefault(part, None)
    return [f"::add-mask::{escape_command_data(part)}" for part in seen]


def github_env_name(secret_name: str) -> str:
    """The variable ``azure/get-keyvault-secrets`` exports a secret as: ``db-password`` -> ``DB_PASSWORD``."""
    return secret_name.upper().replace("-", "_")


def file_command(name: str, value: str, *, delimiter: str | None = None) -> str:
    """One ``$GITHUB_OUTPUT``/``$GITHUB_ENV`` entry in the multi-line syntax, ending with a newline."""
    if not name or any(char in name for char in "\r\n=") or "<<" in name:
        raise PipelineOutputError(
            f"The name {name!r} cannot be written to a GitHub file command (no '=', '<<' or line breaks)."
        )
    marker = delimiter if delimiter is not None else f"ghadelimiter_{uuid.uuid4()}"
    if marker in name or marker in value:
        raise PipelineOutputError(f"The value of {name!r} contains the delimiter {marker!r}; nothing was written.")
    return f"{name}<<{marker}\n{value}\n{marker}\n"


def append_file_command(path: str | os.PathLike[str], entries: Mapping[str, str]) -> None:
    """Append entries to a runner file (``$GITHUB_OUTPUT``): in one write, never through a symbolic link.

    The runner creates the file before the step and reads it after, so it is appended to, not replaced; a file that
    does not exist yet is created with mode 0600.
    """
    target = Path(path)
    text = "".join(file_command(name, value) for name, value in entries.items())
    data = text.encode("utf-8")
    if len(data) > _MAX_ENTRY * max(1, len(entries)):
        raise PipelineOutputError(f"Refusing to write {len(data)} bytes to {target}.")
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(target, flags, 0o600)
    except OSError as exc:
        reason = "it is a symbolic link" if target.is_symlink() else exc.strerror or type(exc).__name__
        raise PipelineOutputError(f"Cannot append to {target}: {reason}.") from None
    try:
        view = memoryview(data)
        while view:
            written = os.write(descriptor, view)
            view = view[written:]
    finally:
        os.close(descriptor)
