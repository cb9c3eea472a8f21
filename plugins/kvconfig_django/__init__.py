"""Django integration: resolve Key Vault references in ``settings.py``, report bad ones in ``manage.py check``, and
print their status with ``manage.py kvconfig_status``.

::

    # settings.py, at the end
    from kvconfig_django import resolve_settings
    resolve_settings(globals())                    # every reference in UPPER_CASE settings, nested ones too

    INSTALLED_APPS = [..., "kvconfig_django"]     # system check kvconfig.E001/E002 and the kvconfig_status command

Needs Django: ``pip install 'kvconfig[django]'``.
"""

from __future__ import annotations

try:
    import django as _django  # type: ignore[import-untyped]  # noqa: F401
except ImportError as exc:
    raise ImportError("kvconfig_django needs Django; install it with: pip install 'kvconfig[django]'") from exc

from kvconfig_django._settings import (
    clear_records,
    env,
    recorded_failures,
    reference_origins,
    references,
    resolve_settings,
)

__all__ = ["clear_records", "env", "recorded_failures", "reference_origins", "references", "resolve_settings"]
