"""Commands that load when they are used: ``kvconfig fake serve`` imports the emulator, never the resolver, rich or
pydantic, and ``kvconfig --help`` imports no command at all.

A :class:`LazyGroup` knows each command by name, the module that defines it and its one-line help (for the command
list in ``--help``). The module is imported the first time click asks for the command: to run it, to show its own
help, or to complete it. ``tests/unit/test_cli_lazy.py`` checks that the listed help is the command's own.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass

import click

__all__ = ["LazyCommand", "LazyGroup"]


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives (``module`` and the click command's ``attribute`` in it) and the help ``--help`` lists."""

    module: str
    attribute: str
    short_help: str


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use (see the module docstring)."""

    def __init__(self, *args: object, lazy_commands: Mapping[str, LazyCommand] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy_commands: dict[str, LazyCommand] = dict(lazy_commands or {})

    def add_lazy_command(self, name: str, command: LazyCommand) -> None:
        self.lazy_commands[name] = command

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in self.lazy_commands:
            command = self.load(cmd_name)
        return command

    def load(self, name: str) -> click.Command:
        """Import the command ``name`` now and register it."""
        where = self.lazy_commands[name]
        command = getattr(importlib.import_module(where.module), where.attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{where.module}.{where.attribute} is not a click command.")
        self.add_command(command, name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, from the table for commands not loaded yet (nothing is imported)."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            # a stand-in with the table's help shortens it exactly as click shortens the real command's
            shown = self.commands.get(name) or click.Command(name, help=self.lazy_commands[name].short_help)
            if not shown.hidden:
                rows.append((name, shown.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)
