"""pytest plugin for kvconfig: the ``fake_keyvault`` fixture, the ``keyvault`` and ``keyvault_secrets`` markers, and
helper fixtures (``keyvault_clock``, ``keyvault_resolver``, ``keyvault_reference``, ``keyvault_env``).

The names below are for type annotations of the helper fixtures::

    def test_app(keyvault_env: KeyVaultEnv) -> None: ...
"""

from __future__ import annotations

from pytest_kvconfig._references import KeyVaultEnv, KeyVaultReferenceFactory

__all__ = ["KeyVaultEnv", "KeyVaultReferenceFactory"]
