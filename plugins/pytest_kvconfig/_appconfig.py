"""The plugin's App Configuration part: a :class:`~kvconfig.fake.appconfig.FakeAppConfiguration` per test, next to
the test's fake Key Vault (sharing its clock and tokens), seeded by the ``appconfig`` marker.

::

    @pytest.mark.appconfig({"mystore": [{"key": "app:db", "secret_uri": "https://myvault.vault.azure.net/secrets/db"}]})
    @pytest.mark.keyvault_secrets({"myvault": {"db": "s3cret"}})
    def test_loads(fake_appconfig, keyvault_resolver):
        config = kvconfig.appconfig.load(connection_string=fake_appconfig.connection_string("mystore"),
                                         transport=fake_appconfig.transport(), resolver=keyvault_resolver)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from kvconfig.fake import FakeKeyVault
    from kvconfig.fake.appconfig import FakeAppConfiguration

__all__ = ["APPCONFIG", "APPCONFIG_MARKER_HELP", "fake_appconfig"]

APPCONFIG = "appconfig"
APPCONFIG_MARKER_HELP = (
    f"{APPCONFIG}(seed=None, *, latency=0.0, strict=False): seed the fake_appconfig fixture with "
    "{store name: [{key, value, label, content_type, tags} or {key, secret_uri, label}]}, or per store "
    "{key_values: [...], snapshots: [{name, filters, composition_type, retention_period, status, items}]} (see "
    "docs/integrations/appconfig.md)."
)


def _seeds(node: pytest.Item) -> tuple[list[Mapping[str, Any]], dict[str, Any]]:
    seeds: list[Mapping[str, Any]] = []
    options: dict[str, Any] = {}
    # iter_markers yields the closest first; apply the farthest first so the closest wins.
    for marker in reversed(list(node.iter_markers(APPCONFIG))):
        unknown = set(marker.kwargs) - {"seed", "latency", "strict"}
        if unknown or len(marker.args) > 1:
            raise pytest.UsageError(
                f"@pytest.mark.{APPCONFIG} takes one seed mapping and latency=, strict=; got "
                f"{len(marker.args)} positional argument(s) and {', '.join(sorted(unknown)) or 'no other keyword'}."
            )
        seed = marker.args[0] if marker.args else marker.kwargs.get("seed")
        if seed is not None:
            if not isinstance(seed, Mapping):
                raise pytest.UsageError(f"@pytest.mark.{APPCONFIG}: the seed must be a mapping of store names.")
            seeds.append(seed)
        options.update({name: marker.kwargs[name] for name in ("latency", "strict") if name in marker.kwargs})
    return seeds, options


@pytest.fixture
def fake_appconfig(fake_keyvault: FakeKeyVault, request: pytest.FixtureRequest) -> FakeAppConfiguration:
    """A fresh FakeAppConfiguration sharing ``fake_keyvault``'s clock and tokens, seeded by ``@pytest.mark.appconfig``.

    Clients reach it with ``transport=fake_appconfig.transport()`` (``patch()`` does not route store hosts yet).
    """
    try:
        from kvconfig.fake.appconfig import FakeAppConfiguration
        from kvconfig.fake.appconfig.seed import AppConfigSeedError
    except ImportError as exc:  # pragma: no cover - the fake needs nothing beyond kvconfig itself
        raise pytest.UsageError(f"kvconfig's fake App Configuration store could not be imported: {exc}") from exc
    seeds, options = _seeds(request.node)
    fake = FakeAppConfiguration(
        keyvault=fake_keyvault, latency=float(options.get("latency", 0.0)), strict=bool(options.get("strict", False))
    )
    for seed in seeds:
        try:
            fake.seed(seed)
        except AppConfigSeedError as exc:
            raise pytest.UsageError(f"@pytest.mark.{APPCONFIG}: {exc}") from exc
    return fake
