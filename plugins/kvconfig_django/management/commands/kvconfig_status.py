"""``manage.py kvconfig_status``: every Key Vault reference of the settings, read now: status, version, expiry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import (  # type: ignore[import-untyped]  # no stubs installed
    BaseCommand,
    CommandError,
    CommandParser,
)

from kvconfig import format_status_summary, format_status_table
from kvconfig_django._settings import find_references, references
from kvconfig_django.checks import reference_statuses, settings_namespace

__all__ = ["Command"]


class Command(BaseCommand):  # type: ignore[misc]
    help = "Read every Key Vault reference of the settings and print its status (never a value)."
    # The command exists for when something is broken: Django's system checks (kvconfig.E001 among them) would stop
    # it before it prints anything.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-fail", action="store_true", help="Exit 0 even when a reference fails.")

    def handle(self, *args: Any, **options: Any) -> None:
        seen = references()
        unresolved, _paths = find_references(settings_namespace())
        statuses = reference_statuses({**seen, **unresolved})
        for setting in unresolved.keys() - seen.keys():
            self.stderr.write(f"{setting} was never resolved into the settings (see manage.py check).")
        self.stdout.write(format_status_table(statuses))
        failed = [status for status in statuses if not status.ok]
        # Strict: any status but OK fails the command, expired secrets included.
        self.stdout.write(f"\n{format_status_summary(statuses, strict=True)}")
        if failed and not options["no_fail"]:
            raise CommandError(f"{len(failed)} Key Vault reference(s) cannot be resolved.")
