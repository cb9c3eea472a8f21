"""Settings of the Django example: references in env vars and in the module, resolved in one batch at the end."""

from __future__ import annotations

import os

from kvconfig_django import resolve_settings

DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "@Microsoft.KeyVault(VaultName=contoso-app;SecretName=django-secret-key)"
)
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
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

# Bad references fail here with the full report, unless deferred to `manage.py check` (kvconfig.E001).
resolve_settings(globals(), defer_errors=os.environ.get("KVCONFIG_DEFER_ERRORS") == "1")
