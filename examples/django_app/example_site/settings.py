"""Settings of the Django example: references in env vars and in the module, resolved in one batch at the end.

With ``KVCONFIG_REDIS_URL`` and ``KVCONFIG_REDIS_KEK`` set, the replicas share a cache on Redis holding only values
sealed under that Key Vault key (docs/fleet.md); ``/health`` shows its state. See ``manage.py`` for how to run it.
"""

from __future__ import annotations

import atexit
import os

from kvconfig_django import resolve_settings

from kvconfig.fleet import resolver_from_environment

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


# With KVCONFIG_REDIS_URL and KVCONFIG_REDIS_KEK: a resolver sharing a sealed cache on Redis with the other replicas.
# None without them: resolve_settings makes (and closes) a resolver of its own.
KVCONFIG_RESOLVER = resolver_from_environment(embedded=True)
if KVCONFIG_RESOLVER is not None:
    atexit.register(KVCONFIG_RESOLVER.close)  # Django has no shutdown signal: close it when the process ends

# Bad references fail here with the full report, unless deferred to `manage.py check` (kvconfig.E001).
resolve_settings(globals(), resolver=KVCONFIG_RESOLVER, defer_errors=os.environ.get("KVCONFIG_DEFER_ERRORS") == "1")
