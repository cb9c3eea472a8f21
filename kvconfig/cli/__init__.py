"""The ``kvconfig`` command: resolve, run, check, inject, and serve the fake vault."""

from __future__ import annotations

from kvconfig.cli._main import cli, main

__all__ = ["cli", "main"]
