#!/usr/bin/env python
"""manage.py of the Django example: ``python examples/django_app/manage.py check`` / ``kvconfig_status``.

Offline: set ``KVCONFIG_FAKE_SEED=examples/vault.json`` and every vault is served by kvconfig's fake.
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
