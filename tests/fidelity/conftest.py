"""Fixtures of the fidelity suite: official SecretClients (sync and async) on the fake, and on a live vault when
``KVCONFIG_LIVE_VAULT_URL`` is set.

``kv`` runs a test four ways: {sync, async} x {``transport=fake.transport()``, ``fake.patch()`` with the SDK's default
transports and ``DefaultAzureCredential``}. ``kv_versions`` adds the sync transport at every other api-version the
installed SDK supports, for the core operations. Both add the live backends (``live`` marker, skipped without a vault).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from azure.keyvault.secrets import ApiVersion, SecretClient

from kvconfig.fake import FakeKeyVault

from .appconfig_support import store  # noqa: F401  (App Configuration fidelity fixture)
from .cert_support import certs, certs_clock, certs_versions  # noqa: F401  (certificate fidelity fixtures)
from .support import FAKE_VAULT_URL, LIVE_VAULT_URL, Backend, VaultUnderTest
from .window_support import deleting  # noqa: F401  (deletion- and recovery-window fixture)

# The version a client sends when none is given: the one every backend of ``kv`` uses.
with SecretClient("https://x.vault.azure.net", FakeKeyVault().credential()) as _probe:
    DEFAULT_API_VERSION = str(_probe.api_version)

_BACKENDS = [Backend(mode, wiring) for mode in ("sync", "async") for wiring in ("transport", "patch")]
_LIVE = [Backend(mode, "live") for mode in ("sync", "async")]
_OTHER_VERSIONS = [Backend("sync", "transport", v.value) for v in ApiVersion if v.value != DEFAULT_API_VERSION]


def _params(backends: list[Backend]) -> list[object]:
    live_mark = [
        pytest.mark.live,
        pytest.mark.skipif(not LIVE_VAULT_URL, reason="set KVCONFIG_LIVE_VAULT_URL to run against a live vault"),
    ]
    return [
        pytest.param(backend, id=backend.id, marks=live_mark if backend.wiring == "live" else ())
        for backend in backends
    ]


async def _vault_under_test(backend: Backend) -> AsyncIterator[VaultUnderTest]:
    if backend.wiring == "live":
        kv = VaultUnderTest(backend, LIVE_VAULT_URL, None, None)
        kv.client = kv.make_client()
        try:
            yield kv
        finally:
            await kv.close()
        return
    fake = FakeKeyVault()
    kv = VaultUnderTest(backend, FAKE_VAULT_URL, fake, None)
    patch = fake.patch() if backend.wiring == "patch" else None
    if patch is not None:
        patch.start()
    try:
        kv.client = kv.make_client()
        yield kv
    finally:
        try:
            await kv.close()
        finally:
            if patch is not None:
                patch.stop()


@pytest.fixture(params=_params([*_BACKENDS, *_LIVE]))
async def kv(request: pytest.FixtureRequest) -> AsyncIterator[VaultUnderTest]:
    """A SecretClient on the fake, four ways (and live when configured)."""
    async for handle in _vault_under_test(request.param):
        yield handle


@pytest.fixture(params=_params([*_BACKENDS, *_OTHER_VERSIONS, *_LIVE]))
async def kv_versions(request: pytest.FixtureRequest) -> AsyncIterator[VaultUnderTest]:
    """Like ``kv``, plus the sync transport at every other api-version of the installed SDK."""
    async for handle in _vault_under_test(request.param):
        yield handle
