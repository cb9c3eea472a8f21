"""pytest plugin: a patched :class:`~kvconfig.fake.FakeKeyVault` per test, seeded by a marker.

::

    @pytest.mark.keyvault_secrets({"myvault": {"db-password": "s3cret"}})
    def test_app_reads_password(fake_keyvault):
        assert run_app() == "s3cret"    # the app builds its own SecretClient and DefaultAzureCredential

The marker takes a mapping of vault name or vault URL to ``{secret name: value}`` (a value may also be a seed entry
such as ``{"value": "v", "enabled": False}``), or a full seed mapping (with a ``"vaults"`` member, see docs/fake.md).
``identity=`` on the marker chooses the identity the patched credentials use. Markers on the module, class and
function all apply, closest last.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from kvconfig.fake import FakeKeyVault, Identity, SeedError

MARKER = "keyvault_secrets"
_USAGE = (
    f"use @pytest.mark.{MARKER}({{'myvault': {{'secret-name': 'value'}}}}, identity='app') "
    "(vault names or https://<vault>.vault.azure.net URLs as keys), or pass a seed mapping with a 'vaults' member"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(secrets, *, identity=None): seed the fake_keyvault fixture with "
        "{vault name or URL: {secret name: value}} or a full seed mapping; identity names the caller of patched "
        "credentials.",
    )


def _seed_from_marker(fake: FakeKeyVault, marker: pytest.Mark) -> None:
    unknown = set(marker.kwargs) - {"identity"}
    if unknown:
        raise pytest.UsageError(f"@pytest.mark.{MARKER} got unknown keyword(s) {', '.join(sorted(unknown))}: {_USAGE}.")
    if len(marker.args) > 1:
        raise pytest.UsageError(f"@pytest.mark.{MARKER} takes one mapping, not {len(marker.args)} arguments: {_USAGE}.")
    if not marker.args:
        return
    data = marker.args[0]
    if not isinstance(data, Mapping):
        raise pytest.UsageError(f"@pytest.mark.{MARKER} needs a mapping, not {type(data).__name__}: {_USAGE}.")
    if "vaults" in data:
        seed: Mapping[str, Any] = data
    else:
        for vault, secrets in data.items():
            if not isinstance(secrets, Mapping):
                raise pytest.UsageError(
                    f"@pytest.mark.{MARKER}: vault {vault!r} must map to {{secret name: value}}, "
                    f"not {type(secrets).__name__}."
                )
        seed = {"vaults": {vault: {"secrets": dict(secrets)} for vault, secrets in data.items()}}
    try:
        fake.seed(seed)
    except SeedError as exc:
        raise pytest.UsageError(f"@pytest.mark.{MARKER}: {exc}") from exc


@pytest.fixture
def fake_keyvault(request: pytest.FixtureRequest) -> Iterator[FakeKeyVault]:
    """A fresh FakeKeyVault, patched in for the test (SDK clients and azure-identity credentials reach it)."""
    fake = FakeKeyVault()
    identity = None
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        _seed_from_marker(fake, marker)
        identity = marker.kwargs.get("identity", identity)
    if identity is not None and not isinstance(identity, (str, Identity)):
        raise pytest.UsageError(
            f"@pytest.mark.{MARKER}: identity= must be a name or an Identity, not {type(identity).__name__}."
        )
    with fake.patch(identity=identity):
        yield fake
