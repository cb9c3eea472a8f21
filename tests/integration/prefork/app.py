"""A tiny WSGI app for the pre-fork test, run as ``gunicorn --preload -w 4 app:app``.

gunicorn's master imports it once, before forking: the settings are resolved here, against kvconfig's fake vault
patched in for the import (seeded from ``PREFORK_SEED``), and written into ``os.environ``, which every worker
inherits. The resolver is kept open across the fork (``KEPT``), to show what a worker gets if it tries to refresh
through it; ``/refresh`` then makes a new resolver in the worker, as docs/fleet.md says to.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from kvconfig import SecretResolver, resolve_environ
from kvconfig.fake import FakeKeyVault

NAMES = ("DB_PASSWORD", "API_KEY", "SIGNING_KEY")

fake = FakeKeyVault()
fake.seed(os.environ["PREFORK_SEED"])
with fake.patch():  # DefaultAzureCredential and the SDK clients reach the fake, in the master only
    # docs/fleet.md closes the resolver before the fork (``with SecretResolver() as resolver: ...``); this one is kept
    # open on purpose, to show that a worker cannot refresh through it.
    KEPT = SecretResolver()
    resolve_environ(KEPT)

RESOLVED_IN = os.getpid()
READS_BEFORE_FORK = len(fake.audit.records(operation="SecretGet", status=200))

Start = Callable[[str, list[tuple[str, str]]], object]


def app(environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "/")
    body: dict[str, Any] = {"pid": os.getpid(), "resolved_in": RESOLVED_IN}
    if path == "/":
        hold = float(environ.get("QUERY_STRING", "").partition("hold=")[2] or 0)
        time.sleep(min(hold, 2.0))  # keeps this worker busy so that concurrent requests reach the others
        body["settings"] = {name: os.environ[name] for name in NAMES}
        body["vault_reads"] = len(fake.audit.records(operation="SecretGet", status=200))
    elif path == "/refresh":
        try:
            KEPT.refresh()
            body["kept"] = "refreshed"
        except RuntimeError as exc:
            body["kept"] = str(exc)
        with fake.patch(), SecretResolver() as fresh:  # made after the fork: works in the worker
            body["fresh"] = fresh.resolve_value("@Microsoft.KeyVault(VaultName=prefork;SecretName=db-password)")
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
