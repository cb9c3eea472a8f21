"""pytest plugin: a patched :class:`~kvconfig.fake.FakeKeyVault` per test, seeded by a marker.

::

    @pytest.mark.keyvault_secrets({"myvault": {"db-password": "s3cret"}})
    def test_app_reads_password(fake_keyvault):
        assert run_app() == "s3cret"    # the app builds its own SecretClient and DefaultAzureCredential

The marker takes a mapping of vault name (or URL) to ``{secret name: value}``, or a full seed mapping (with a
``"vaults"`` member, see docs/fake.md). ``identity=`` on the marker chooses the identity the patched credentials use.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from kvconfig.fake import FakeKeyVault

MARKER = "keyvault_secrets"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(secrets, *, identity=None): seed the fake_keyvault fixture with "
        "{vault: {secret name: value}} or a full seed mapping; identity names the caller of patched credentials.",
    )


def _seed_from_marker(fake: FakeKeyVault, data: Mapping[str, Any]) -> None:
    if "vaults" in data:
        fake.seed(data)
        return
    for vault, secrets in data.items():
        if not isinstance(secrets, Mapping):
            raise pytest.UsageError(f"@pytest.mark.{MARKER}: vault {vault!r} must map to {{secret name: value}}.")
        fake.seed({"vaults": {vault: {"secrets": dict(secrets)}}})


@pytest.fixture
def fake_keyvault(request: pytest.FixtureRequest) -> Iterator[FakeKeyVault]:
    """A fresh FakeKeyVault, patched in for the test (SDK clients and azure-identity credentials reach it)."""
    fake = FakeKeyVault()
    identity = None
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        if marker.args:
            _seed_from_marker(fake, marker.args[0])
        identity = marker.kwargs.get("identity", identity)
    with fake.patch(identity=identity):
        yield fake
