"""A Flask app whose app.config holds Key Vault references, resolved by kvconfig_flask.

    FLASK_DB_PASSWORD='@Microsoft.KeyVault(VaultName=contoso-app;SecretName=db-password)' \
        flask --app examples.flask_app.app run
    flask --app examples.flask_app.app kvconfig check

Offline: set ``KVCONFIG_FAKE_SEED=examples/vault.json`` and every vault is served by kvconfig's fake.
"""

from __future__ import annotations

import os

from flask import Flask, current_app
from kvconfig_flask import KvConfig

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
    kv.init_app(app, refresh_interval=300)

    @app.get("/")
    def index() -> dict[str, object]:
        return {"db_password_length": len(current_app.config["DB_PASSWORD"])}

    return app
