"""pytest plugin for kvconfig: the ``fake_keyvault`` fixture, the ``keyvault`` and ``keyvault_secrets`` markers, and
helper fixtures (``keyvault_clock``, ``keyvault_resolver``, ``keyvault_reference``, ``keyvault_env``).

The names below are for type annotations of the helper fixtures::

    def test_app(keyvault_env: KeyVaultEnv) -> None: ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_kvconfig._references import KeyVaultEnv, KeyVaultReferenceFactory

__all__ = ["KeyVaultEnv", "KeyVaultReferenceFactory"]


def __getattr__(name: str) -> object:
    # pytest imports this package at every start, in every project that has kvconfig installed: the names that
    # need kvconfig (and through it the Azure SDK) are imported when first asked for, not then.
    if name in __all__:
        from pytest_kvconfig import _references

        return getattr(_references, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
