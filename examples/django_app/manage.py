#!/usr/bin/env python
"""manage.py of the Django example: ``python examples/django_app/manage.py check`` / ``kvconfig_status``.

Offline: set ``KVCONFIG_FAKE_SEED=examples/vault.json`` and every vault is served by kvconfig's fake.

Many replicas: set ``KVCONFIG_REDIS_URL`` and ``KVCONFIG_REDIS_KEK`` (a Key Vault key with wrapKey/unwrapKey) and the
replicas share a cache on Redis holding only sealed values (docs/fleet.md); ``/health`` shows it. Offline, with a
local Redis (the seed pins the key, so every process's fake vault opens the others' data key):

    KVCONFIG_FAKE_SEED=examples/vault.json KVCONFIG_REDIS_URL=redis://localhost:6379/0 \
    KVCONFIG_REDIS_KEK=https://contoso-app.vault.azure.net/keys/kvconfig-kek \
    python examples/django_app/manage.py runserver
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_site.settings")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    seed = os.environ.get("KVCONFIG_FAKE_SEED")
    if seed:
        from kvconfig.fake import FakeKeyVault

        fake = FakeKeyVault()
        fake.seed(seed)
        fake.patch().start()
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv or sys.argv)


if __name__ == "__main__":
    main()
