"""A Flask app whose app.config holds Key Vault references, resolved by kvconfig_flask.

    FLASK_DB_PASSWORD='@Microsoft.KeyVault(VaultName=contoso-app;SecretName=db-password)' \
        flask --app examples.flask_app.app run
    flask --app examples.flask_app.app kvconfig check

Offline: set ``KVCONFIG_FAKE_SEED=examples/vault.json`` and every vault is served by kvconfig's fake.

Many replicas: set ``KVCONFIG_REDIS_URL`` and ``KVCONFIG_REDIS_KEK`` (a Key Vault key with wrapKey/unwrapKey,
``https://<vault>/keys/<name>`` or with its version) and the replicas share a cache on Redis that holds only values
sealed under that key (docs/fleet.md); ``GET /health`` shows its state. Offline, with a local Redis:

    KVCONFIG_FAKE_SEED=examples/vault.json KVCONFIG_REDIS_URL=redis://localhost:6379/0 \
    KVCONFIG_REDIS_KEK=https://contoso-app.vault.azure.net/keys/kvconfig-kek flask --app examples.flask_app.app run
"""

from __future__ import annotations

import atexit
import os

from flask import Flask, current_app
from kvconfig_flask import KvConfig

from kvconfig.fleet import resolver_from_environment

kv = KvConfig()
_fake_patch = None


def _use_fake_vault_if_asked() -> None:
    global _fake_patch
    seed = os.environ.get("KVCONFIG_FAKE_SEED")
    if seed and _fake_patch is None:
        from kvconfig.fake import FakeKeyVault

        fake = FakeKeyVault()
        fake.seed(seed)
        _fake_patch = fake.patch().start()


def create_app(config: dict[str, object] | None = None) -> Flask:
    _use_fake_vault_if_asked()
    app = Flask(__name__)
    app.config.from_mapping(
        DB_PASSWORD="@Microsoft.KeyVault(VaultName=contoso-app;SecretName=db-password)",
        SQLALCHEMY_DATABASE_URI=(
            "postgresql://app:@Microsoft.KeyVault(VaultName=contoso-app;SecretName=db-password)@db/app"
        ),
    )
    app.config.from_prefixed_env()  # FLASK_* variables may hold references too
    app.config.update(config or {})
    # With KVCONFIG_REDIS_URL and KVCONFIG_REDIS_KEK: a resolver sharing a sealed cache on Redis with the other
    # replicas (None without them: the extension makes its own); embedded: the references inside the URI.
    resolver = resolver_from_environment(embedded=True)
    if resolver is not None:
        atexit.register(resolver.close)  # its Redis client, key clients and credential, when the process ends
    kv.init_app(app, refresh_interval=300, resolver=resolver)

    @app.get("/")
    def index() -> dict[str, object]:
        return {"db_password_length": len(current_app.config["DB_PASSWORD"])}

    @app.get("/health")
    def health() -> dict[str, object]:
        state = kv.state()
        fleet = state.resolver.fleet
        return {
            "resolved": state.resolved,
            "stale": sorted(state.stale),
            "fleet": fleet.health() if fleet is not None else None,
        }

    return app
