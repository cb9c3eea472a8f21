"""A FastAPI app whose settings come from Key Vault, refreshed in the background and on Event Grid events.

    APP_API_KEY='@Microsoft.KeyVault(VaultName=contoso-app;SecretName=api-key)' uvicorn examples.fastapi_app.app:app

Offline: set ``KVCONFIG_FAKE_SEED=examples/vault.json`` and the app serves every vault from kvconfig's fake.

Key Vault's Event Grid events reach ``POST /events/keyvault`` only when ``APP_EVENTGRID_TOKEN`` holds the shared
secret of the subscription (its endpoint URL ends ``?token=<secret>``); without it the route is not mounted, since
an unauthenticated webhook would let anyone make the app read its secrets.
"""

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI
from kvconfig_fastapi import KvConfig
from pydantic import SecretStr

from kvconfig.settings import KeyVaultSettings, KeyVaultSettingsConfigDict


class Settings(KeyVaultSettings):
    model_config = KeyVaultSettingsConfigDict(env_prefix="APP_", keyvault_url="https://contoso-app.vault.azure.net")

    db_password: SecretStr
    api_key: SecretStr
    greeting: str = "hello"


kv = KvConfig(Settings, refresh_interval=float(os.environ.get("APP_REFRESH_SECONDS", "300")))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    seed = os.environ.get("KVCONFIG_FAKE_SEED")
    if seed:
        from kvconfig.fake import FakeKeyVault

        fake = FakeKeyVault()
        fake.seed(seed)
        app.state.fake_keyvault = fake
        with fake.patch():
            async with kv.lifespan(app):
                yield
    else:
        async with kv.lifespan(app):
            yield


app = FastAPI(lifespan=lifespan)
app.include_router(kv.health_router())
eventgrid_token = os.environ.get("APP_EVENTGRID_TOKEN")
if eventgrid_token:
    app.include_router(kv.eventgrid_router(token=eventgrid_token))
else:
    logging.getLogger(__name__).warning("APP_EVENTGRID_TOKEN is not set: Key Vault events are not received")


@app.get("/")
def index(settings: Annotated[Settings, Depends(kv.settings)]) -> dict[str, object]:
    # Show that the secrets are there without showing them.
    return {
        "greeting": settings.greeting,
        "db_password_length": len(settings.db_password.get_secret_value()),
        "api_key_set": bool(settings.api_key.get_secret_value()),
    }
