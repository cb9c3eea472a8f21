"""pytest plugin: a patched :class:`~kvconfig.fake.FakeKeyVault` per test, configured by markers.

::

    @pytest.mark.keyvault(secrets={"myvault": {"db-password": "s3cret"}}, identity="app", clock="manual")
    def test_app_reads_password(fake_keyvault, keyvault_clock):
        assert run_app() == "s3cret"    # the app builds its own SecretClient and DefaultAzureCredential

``@pytest.mark.keyvault(seed, *, secrets=, keys=, certificates=, identity=, clock=, strict=, latency=, vault=)``
seeds the fake (a seed mapping or JSON file, see docs/fake.md; or ``{vault: {name: spec}}`` per object kind) and
chooses the identity of the patched credentials, a ManualClock, strict mode, latency and the default vault of the
helper fixtures. ``@pytest.mark.keyvault_secrets({vault: {name: value}}, identity=)`` is the secrets-only form.
Markers on the module, class and function all apply, closest last. The user guide is docs/pytest.md.

No web framework is imported here: the fixtures compose with whatever the test imports. pytest loads this module at
every start in every project that has kvconfig installed, so it imports neither kvconfig nor the Azure SDK itself:
they are imported when a fixture first runs (``tests/plugins/pytest_plugin/test_plugin_startup.py`` pins it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from pytest_kvconfig._appconfig import APPCONFIG_MARKER_HELP, fake_appconfig
from pytest_kvconfig._options import KEYVAULT, KEYVAULT_SECRETS, KeyVaultOptions, read_markers

if TYPE_CHECKING:
    from kvconfig import SecretResolver
    from kvconfig.fake import FakeKeyVault, ManualClock
    from pytest_kvconfig._references import KeyVaultEnv, KeyVaultReferenceFactory

__all__ = [
    "fake_appconfig",
    "fake_keyvault",
    "keyvault_clock",
    "keyvault_env",
    "keyvault_reference",
    "keyvault_resolver",
    "pytest_configure",
]

_OPTIONS = pytest.StashKey[KeyVaultOptions]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", APPCONFIG_MARKER_HELP)
    config.addinivalue_line(
        "markers",
        f"{KEYVAULT}(seed=None, *, secrets=None, keys=None, certificates=None, identity=None, clock=None, "
        "strict=False, latency=0.0, vault='myvault'): configure and seed the fake_keyvault fixture "
        "(see docs/pytest.md).",
    )
    config.addinivalue_line(
        "markers",
        f"{KEYVAULT_SECRETS}(secrets, *, identity=None): seed the fake_keyvault fixture with "
        "{vault name or URL: {secret name: value}} or a full seed mapping; identity names the caller of patched "
        "credentials.",
    )


@pytest.fixture
def fake_keyvault(request: pytest.FixtureRequest) -> Iterator[FakeKeyVault]:
    """A fresh FakeKeyVault, seeded by the test's markers and patched in for the test (SDK clients and
    azure-identity credentials built by the code under test reach it); the patch is undone afterwards."""
    from kvconfig.fake import FakeKeyVault, ManualClock, SeedError

    options = read_markers(request.node)
    clock = options.clock
    if clock is None and "keyvault_clock" in request.fixturenames:
        clock = ManualClock()
    fake = FakeKeyVault(clock=clock, strict=options.strict, latency=options.latency)
    for seed in options.seeds:
        try:
            fake.seed(seed)
        except SeedError as exc:
            raise pytest.UsageError(f"@pytest.mark.{KEYVAULT}: {exc}") from exc
    request.node.stash[_OPTIONS] = options
    with fake.patch(identity=options.identity):
        yield fake


@pytest.fixture
def keyvault_clock(fake_keyvault: FakeKeyVault) -> ManualClock:
    """The fake's ManualClock (asking for this fixture gives the fake one): ``keyvault_clock.advance(days=31)``;
    ``fake_keyvault.advance(...)`` also lets time act at once (expiry, purge, certificate renewal)."""
    from kvconfig.fake import ManualClock

    clock = fake_keyvault.clock
    assert isinstance(clock, ManualClock)
    return clock


@pytest.fixture
def keyvault_resolver(fake_keyvault: FakeKeyVault, request: pytest.FixtureRequest) -> Iterator[SecretResolver]:
    """A :class:`kvconfig.SecretResolver` wired to the fake (its credential names the marker's identity; expiry is
    judged on the fake's clock), closed after the test."""
    from kvconfig import SecretResolver

    options = request.node.stash[_OPTIONS]
    resolver = SecretResolver(
        fake_keyvault.async_credential(options.identity),
        transport=fake_keyvault.async_transport,
        clock=fake_keyvault.clock.now,
    )
    try:
        yield resolver
    finally:
        resolver.close()


@pytest.fixture
def keyvault_reference(fake_keyvault: FakeKeyVault, request: pytest.FixtureRequest) -> KeyVaultReferenceFactory:
    """``keyvault_reference("db-password", "s3cret", vault="myvault")`` sets the secret and returns
    ``@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/db-password)``."""
    from pytest_kvconfig._references import KeyVaultReferenceFactory

    return KeyVaultReferenceFactory(fake_keyvault, request.node.stash[_OPTIONS].vault)


@pytest.fixture
def keyvault_env(keyvault_reference: KeyVaultReferenceFactory, monkeypatch: pytest.MonkeyPatch) -> KeyVaultEnv:
    """``keyvault_env("APP_DB_PASSWORD", "s3cret")`` sets the secret ``app-db-password`` and the environment variable
    to its reference (undone after the test); returns the reference."""
    from pytest_kvconfig._references import KeyVaultEnv

    return KeyVaultEnv(keyvault_reference, monkeypatch)
