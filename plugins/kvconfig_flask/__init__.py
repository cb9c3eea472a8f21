"""Flask integration: resolve the Key Vault references in ``app.config``, refresh them, check them from the CLI.

::

    from kvconfig_flask import KvConfig

    kv = KvConfig()

    def create_app():
        app = Flask(__name__)
        app.config.from_prefixed_env()        # or from_file, from_mapping... whatever fills app.config
        kv.init_app(app, refresh_interval=300)
        return app

    $ flask kvconfig check                    # every reference: status, version, expiry; exit 1 if any fails

Needs Flask: ``pip install 'kvconfig[flask]'``.
"""

from __future__ import annotations

try:
    import flask as _flask  # noqa: F401
except ImportError as exc:
    raise ImportError("kvconfig_flask needs Flask; install it with: pip install 'kvconfig[flask]'") from exc

from kvconfig_flask._cli import cli
from kvconfig_flask._extension import KvConfig
from kvconfig_flask._state import KvConfigState

__all__ = ["KvConfig", "KvConfigState", "cli"]
