"""FastAPI integration: resolve settings at start-up, refresh them in the background, serve them as a dependency,
report their health, and react to Key Vault's Event Grid events.

::

    from kvconfig_fastapi import KvConfig

    kv = KvConfig(Settings, refresh_interval=300)      # Settings: a kvconfig.settings.KeyVaultSettings subclass
    app = FastAPI(lifespan=kv.lifespan)
    app.include_router(kv.health_router())               # GET /health/kvconfig
    app.include_router(kv.eventgrid_router(token=...))   # POST /events/keyvault?token=... (auth required)

    @app.get("/")
    def index(settings: Annotated[Settings, Depends(kv.settings)]): ...

Needs FastAPI: ``pip install 'kvconfig[fastapi]'``.
"""

from __future__ import annotations

try:
    import fastapi as _fastapi  # noqa: F401
except ImportError as exc:
    raise ImportError("kvconfig_fastapi needs FastAPI; install it with: pip install 'kvconfig[fastapi]'") from exc

from kvconfig_fastapi._eventgrid import SECRET_NEW_VERSION_CREATED, SUBSCRIPTION_VALIDATION
from kvconfig_fastapi._kvconfig import KvConfig, RefreshOutcome
from kvconfig_fastapi._webhook_auth import EVENT_GRID_APP_ID, EntraIdToken, SharedSecret, WebhookAuthenticator

__all__ = [
    "EVENT_GRID_APP_ID",
    "SECRET_NEW_VERSION_CREATED",
    "SUBSCRIPTION_VALIDATION",
    "EntraIdToken",
    "KvConfig",
    "RefreshOutcome",
    "SharedSecret",
    "WebhookAuthenticator",
]
