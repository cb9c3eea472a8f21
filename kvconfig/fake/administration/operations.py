"""The administration wing's routes: role definitions and assignments, then settings."""

from __future__ import annotations

from kvconfig.fake.administration import rbac, settings
from kvconfig.fake.core.routing import Route

__all__ = ["ROUTES"]

ROUTES: tuple[Route, ...] = (*rbac.ROUTES, *settings.ROUTES)
