"""The administration wing's routes: role definitions and assignments, settings, backup and restore."""

from __future__ import annotations

from kvconfig.fake.administration import backup, rbac, settings
from kvconfig.fake.core.routing import Route

__all__ = ["ROUTES"]

ROUTES: tuple[Route, ...] = (*rbac.ROUTES, *settings.ROUTES, *backup.ROUTES)
