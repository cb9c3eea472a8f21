"""``--fake-vault SEED.json``: the embedded fakes a command runs against, patched in for its duration.

The seed file is the fake Key Vault's (``{"vaults": {...}}``) with an optional ``appconfig`` part for App
Configuration stores (``{"appconfig": {"mystore": [{"key": ..., "value": ...}, {"key": ..., "secret_uri": ...}]}}``,
the format of ``FakeAppConfiguration.seed``). With that part, one patch serves both fakes: the stores' hosts and the
vaults' hosts, and nothing else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from kvconfig.cli._fake_stores import JsonObjectFileError, read_json_object
from kvconfig.sources import SourceError

__all__ = ["MAX_SEED_BYTES", "patched_fakes"]

MAX_SEED_BYTES = 64 * 1024 * 1024


def _read(seed: Path) -> dict[str, object]:
    try:
        return read_json_object(seed, MAX_SEED_BYTES)
    except JsonObjectFileError as exc:
        reason = str(exc) if exc.unreadable else f"it {exc}"
        raise SourceError(f"Cannot use the --fake-vault seed {seed}: {reason}.") from None


@contextlib.contextmanager
def patched_fakes(seed: Path) -> Iterator[None]:
    """Seed the fake Key Vault (and the fake App Configuration, for an ``appconfig`` part) and patch them in."""
    from kvconfig.fake import FakeKeyVault

    data = _read(seed)
    stores = data.pop("appconfig", None)
    keyvault = FakeKeyVault()
    appconfig = None
    if stores is not None:
        from kvconfig.fake.appconfig import FakeAppConfiguration

        appconfig = FakeAppConfiguration(keyvault=keyvault)
    try:
        keyvault.seed(data)
        if appconfig is not None:
            appconfig.seed(stores)  # type: ignore[arg-type]  # checked by the seed reader
    except (ValueError, TypeError, OSError) as exc:
        raise SourceError(f"Cannot use the --fake-vault seed {seed}: {exc}") from None
    with appconfig.patch() if appconfig is not None else keyvault.patch():
        yield
