"""The CLI on a terminal (rich): a progress line while secrets are read, and the ``check`` table in colour.

Both appear only on a terminal; piped or redirected output stays the plain text scripts rely on. ``NO_COLOR`` turns
colour off (rich honours it), and ``FORCE_COLOR``/``TTY_COMPATIBLE`` force a terminal where detection fails.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from types import TracebackType

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from kvconfig.references import KeyVaultReference
from kvconfig.resolve import ReferenceStatus, format_status_summary, format_status_table

__all__ = ["PROGRESS_DELAY", "ProgressLine", "print_status_summary", "print_status_table", "stderr_console"]

PROGRESS_DELAY = 0.5  # seconds: a quick resolve draws nothing


def stdout_console() -> Console:
    # Made per command, after click (or CliRunner) has set up sys.stdout.
    return Console(highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


class ProgressLine:
    """A :class:`~kvconfig.FetchProgress` drawing ``Reading secrets from <vaults>  3/10`` on a terminal.

    Nothing is drawn before ``delay`` seconds have passed (a fast resolve leaves the terminal untouched) nor when
    the console is not a terminal; the line is removed when the command is done. Only names are shown, never values.
    Use it as a context manager around the resolve.
    """

    def __init__(self, console: Console, *, delay: float | None = None) -> None:
        self._console = console
        self._delay = PROGRESS_DELAY if delay is None else delay
        self._lock = threading.Lock()
        self._total = 0
        self._done = 0
        self._vaults: dict[str, None] = {}
        self._current = ""
        self._throttle = ""
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._timer: threading.Timer | None = None
        self._closed = False

    @property
    def enabled(self) -> bool:
        return self._console.is_terminal

    def fetching(self, references: Sequence[KeyVaultReference]) -> None:
        with self._lock:
            self._total += len(references)
            for ref in references:
                self._vaults.setdefault(ref.vault_host, None)
            if self._timer is None and self.enabled and not self._closed:
                self._timer = threading.Timer(self._delay, self._show)
                self._timer.daemon = True
                self._timer.start()
            self._update()

    def fetched(self, reference: KeyVaultReference, status: str) -> None:
        with self._lock:
            self._done += 1
            self._current = reference.name
            self._update()

    def throttled(self, count: int, remaining: float) -> None:
        """A fleet start-up retry (``kvconfig.fleet.StartupProgress`` watcher): ``count`` throttled responses so far,
        ``remaining`` seconds to the start-up deadline. Shown as ``3 throttled, retrying until 12:04:31``."""
        until = time.strftime("%H:%M:%S", time.localtime(time.time() + max(remaining, 0.0)))
        with self._lock:
            self._throttle = f"{count} throttled, retrying until {until}"
            self._update()

    def _description(self) -> str:
        vaults = list(self._vaults)
        where = ", ".join(vaults[:3]) + (f" and {len(vaults) - 3} more" if len(vaults) > 3 else "")
        last = f" (last: {self._current})" if self._current else ""
        throttle = f"; {self._throttle}" if self._throttle else ""
        return f"Reading secrets from {where}{last}{throttle}"

    def _show(self) -> None:
        with self._lock:
            if self._closed or self._progress is not None:
                return
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
            )
            self._task = self._progress.add_task(self._description(), total=self._total, completed=self._done)
            self._progress.start()

    def _update(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=self._description(), total=self._total, completed=self._done)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            timer, progress = self._timer, self._progress
            self._progress = None
        if timer is not None:
            timer.cancel()
            timer.join()
        if progress is not None:
            progress.stop()

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()


_STYLES = {"OK": "green", "SecretExpired": "yellow", "SecretNotYetValid": "yellow"}


def print_status_table(statuses: Iterable[ReferenceStatus]) -> None:
    """``check``'s table on stdout: coloured by status on a terminal, the plain table of ``format_status_table``
    otherwise (scripts parse it)."""
    items = list(statuses)
    console = stdout_console()
    if not console.is_terminal:
        click.echo(format_status_table(items))
        return
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for column in ("SETTING", "STATUS", "VERSION", "EXPIRES", "REFERENCE"):
        table.add_column(column, no_wrap=column != "REFERENCE", overflow="fold")
    for item in items:
        expires = item.expires_on.date().isoformat() if item.expires_on else "-"
        status = Text(item.status, style=_STYLES.get(item.status, "bold red"))
        # Text cells: a name such as servers[0].url is not rich markup.
        table.add_row(Text(item.setting), status, Text((item.version or "-")[:8]), Text(expires), Text(item.reference))
    console.print(table)
    details = [item for item in items if not item.ok and item.detail]
    if details:
        console.print()
    for item in details:
        line = Text("  ")
        line.append(item.setting, style=_STYLES.get(item.status, "red"))
        line.append(f"{f' ({item.origin})' if item.origin else ''}: {item.detail}")
        console.print(line)


def print_status_summary(statuses: Sequence[ReferenceStatus], *, strict: bool, failed: bool) -> None:
    """The closing line of ``check`` on stderr, green when everything resolved, red when something failed."""
    summary = format_status_summary(statuses, strict=strict)
    console = stderr_console()
    if not console.is_terminal:
        click.echo(f"\n{summary}", err=True)
        return
    console.print()
    console.print(Text(summary, style="red" if failed else "yellow" if not all(s.ok for s in statuses) else "green"))
