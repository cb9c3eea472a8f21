"""The Django app: registers kvconfig's system check."""

from __future__ import annotations

from django.apps import AppConfig  # type: ignore[import-untyped]  # no stubs installed

__all__ = ["KvConfigDjangoConfig"]


class KvConfigDjangoConfig(AppConfig):  # type: ignore[misc]
    name = "kvconfig_django"
    verbose_name = "kvconfig (Azure Key Vault references)"

    def ready(self) -> None:
        from django.core import checks  # type: ignore[import-untyped]

        from kvconfig_django.checks import check_references

        checks.register(check_references, "kvconfig")
