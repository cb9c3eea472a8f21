"""One view: ``/health``, how the settings were resolved and the Redis tier's state (names and counts only)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import path
from kvconfig_django import recorded_failures, references


def health(request: HttpRequest) -> JsonResponse:
    resolver = settings.KVCONFIG_RESOLVER
    return JsonResponse(
        {
            "references": len(references()),
            "failures": sorted(recorded_failures()),
            "fleet": resolver.fleet.health() if resolver is not None else None,
        }
    )


urlpatterns = [path("health", health)]
