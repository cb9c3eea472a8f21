"""Settings of the Django example: references in env vars and in the module, resolved in one batch at the end.

With ``KVCONFIG_REDIS_URL`` and ``KVCONFIG_REDIS_KEK`` set, the replicas share a cache on Redis holding only values
sealed under that Key Vault key (docs/fleet.md); ``/health`` shows its state. See ``manage.py`` for how to run it.
"""

from __future__ import annotations

import os

from kvconfig_django import resolve_settings

from kvconfig import SecretResolver

DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "@Microsoft.KeyVault(VaultName=contoso-app;SecretName=django-secret-key)"
)
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
INSTALLED_APPS = ["django.contrib.contenttypes", "kvconfig_django"]
ROOT_URLCONF = "example_site.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
        # An unused password, to show nested references: a real project would use it for PostgreSQL.
        "PASSWORD": "@Microsoft.KeyVault(VaultName=contoso-app;SecretName=db-password)",
    }
}
PAYMENTS_API_KEY = os.environ.get("PAYMENTS_API_KEY", "@Microsoft.KeyVault(VaultName=contoso-app;SecretName=api-key)")
USE_TZ = True


def fleet_resolver() -> SecretResolver | None:
    """With ``KVCONFIG_REDIS_URL``: a resolver sharing a sealed cache on Redis with the other replicas."""
    redis_url = os.environ.get("KVCONFIG_REDIS_URL")
    if not redis_url:
        return None
    from azure.identity.aio import DefaultAzureCredential
    from azure.keyvault.keys.crypto.aio import CryptographyClient

    from kvconfig.crypto import AsyncAzureKeyWrapper
    from kvconfig.fleet import Fleet, RedisSharedCache, StartupPolicy, VaultBudget

    credential = DefaultAzureCredential()

    def key_client(key_id: str) -> CryptographyClient:  # also opens a data key wrapped by another key version
        return CryptographyClient(key_id, credential)

    wrapper = AsyncAzureKeyWrapper(key_client(os.environ["KVCONFIG_REDIS_KEK"]), client_factory=key_client)
    fleet = Fleet(
        shared=RedisSharedCache(redis_url, wrapper),
        budget=VaultBudget.share_of(replicas=int(os.environ.get("APP_REPLICAS", "10"))),
        startup=StartupPolicy(deadline=300),
    )
    return SecretResolver(credential, fleet=fleet, embedded=True)


KVCONFIG_RESOLVER = fleet_resolver()  # None: resolve_settings makes (and closes) a resolver of its own

# Bad references fail here with the full report, unless deferred to `manage.py check` (kvconfig.E001).
resolve_settings(globals(), resolver=KVCONFIG_RESOLVER, defer_errors=os.environ.get("KVCONFIG_DEFER_ERRORS") == "1")
