"""A FastAPI app whose settings come from Key Vault, refreshed in the background and on Event Grid events.

    APP_API_KEY='@Microsoft.KeyVault(VaultName=contoso-app;SecretName=api-key)' uvicorn examples.fastapi_app.app:app

Offline: set ``KVCONFIG_FAKE_SEED=examples/vault.json`` and the app serves every vault from kvconfig's fake.

Key Vault's Event Grid events reach ``POST /events/keyvault`` only when ``APP_EVENTGRID_TOKEN`` holds the shared
secret of the subscription (its endpoint URL ends ``?token=<secret>``); without it the route is not mounted, since
an unauthenticated webhook would let anyone make the app read its secrets.

Many replicas: set ``KVCONFIG_REDIS_URL`` and ``KVCONFIG_REDIS_KEK`` (a Key Vault key with wrapKey/unwrapKey,
``https://<vault>/keys/<name>`` or with its version) and the replicas share a cache on Redis that holds only values
sealed under that key: the vault sees about one read per secret for the whole fleet, and the events reach every
replica (docs/fleet.md). ``GET /health/kvconfig`` shows the Redis tier under ``fleet``. Offline, with a local Redis:

    KVCONFIG_FAKE_SEED=examples/vault.json KVCONFIG_REDIS_URL=redis://localhost:6379/0 \
    KVCONFIG_REDIS_KEK=https://contoso-app.vault.azure.net/keys/kvconfig-kek \
    APP_API_KEY='@Microsoft.KeyVault(VaultName=contoso-app;SecretName=api-key)' uvicorn examples.fastapi_app.app:app
"""

import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI
from kvconfig_fastapi import KvConfig
from pydantic import SecretStr

from kvconfig.fleet import resolver_from_environment
from kvconfig.settings import KeyVaultSettings, KeyVaultSettingsConfigDict

# With KVCONFIG_REDIS_URL and KVCONFIG_REDIS_KEK: a resolver sharing a sealed cache on Redis with the other replicas
# (KVCONFIG_FLEET_REPLICAS says how many share the vault); None without them: the plugin makes its own resolver.
resolver = resolver_from_environment()


class Settings(KeyVaultSettings):
    model_config = KeyVaultSettingsConfigDict(
        env_prefix="APP_", keyvault_url="https://contoso-app.vault.azure.net", keyvault_resolver=resolver
    )

    db_password: SecretStr
    api_key: SecretStr
    greeting: str = "hello"


kv = KvConfig(Settings, refresh_interval=float(os.environ.get("APP_REFRESH_SECONDS", "300")))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        if resolver is not None:
            stack.push_async_callback(resolver.aclose)  # at shutdown: its Redis client, key clients and credential
        seed = os.environ.get("KVCONFIG_FAKE_SEED")
        if seed:
            from kvconfig.fake import FakeKeyVault

            fake = FakeKeyVault()
            fake.seed(seed)
            app.state.fake_keyvault = fake
            stack.enter_context(fake.patch())
        await stack.enter_async_context(kv.lifespan(app))
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
