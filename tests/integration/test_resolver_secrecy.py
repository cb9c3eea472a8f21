"""Secret values never leak: not in log lines at any level (kvconfig's and the Azure SDK's), reprs, exception
messages, chained causes, tracebacks or warnings, while resolving, failing, checking and refreshing."""

from __future__ import annotations

import logging
import traceback
import warnings
from collections.abc import Callable, Iterator

import pytest

from kvconfig import ResolutionError, SecretResolver
from kvconfig.fake import FakeKeyVault, ManualClock

from .conftest import VAULT, ref

SECRETS = {
    "db": "SECRET-ALPHA-7f3a9c",
    "api": "SECRET-BRAVO-c41d0e",
    "old": "SECRET-CHARLIE-99b2",
    "off": "SECRET-DELTA-0a0a0a",
}
PASTED = "SECRET-ECHO-pasted-by-mistake"
ROTATED = "SECRET-FOXTROT-rotated-e5"
ALL = [*SECRETS.values(), PASTED, ROTATED]


class Everything(logging.Handler):
    """Captures every record from every logger, formatted with arguments and exception text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def everything() -> Iterator[Everything]:
    handler = Everything()
    root = logging.getLogger()
    noisy = [logging.getLogger(name) for name in ("azure", "kvconfig", "aiohttp", "asyncio", "urllib3")]
    saved = [(root.level, None)] + [(logger.level, logger) for logger in noisy]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for logger in noisy:
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for level, logger in saved:
            (logger or root).setLevel(level)


def _assert_clean(texts: list[str]) -> None:
    blob = "\n".join(texts)
    for secret in ALL:
        where = blob.find(secret)
        assert secret not in blob, f"a secret value leaked: {blob[max(0, where - 300) : where + 60]!r}"


def test_no_secret_value_leaks_anywhere(
    fake: FakeKeyVault, clock: ManualClock, make_resolver: Callable[..., SecretResolver], everything: Everything
) -> None:
    for name, value in SECRETS.items():
        fake.set_secret(VAULT, name, value)
    fake.set_secret(VAULT, "old", SECRETS["old"], expires_on=int(clock.now()) - 5)
    fake.set_secret(VAULT, "off", SECRETS["off"], enabled=False)
    texts: list[str] = []
    settings = {
        "DB": ref("db"),
        "API": ref("api"),
        "CONN": f"Server=x;Password={ref('db')}",
        "OLD": ref("old"),
    }
    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always")
        resolver = make_resolver(embedded=True)
        resolved = resolver.resolve(settings)
        assert resolved["DB"] == SECRETS["db"]  # the test would prove nothing if resolution had failed
        texts += [repr(resolved), str(resolved), repr(resolver), repr(resolver.cache), repr(resolver.values)]
        texts += [repr(resolver.cache.get_latest(f"https://{VAULT}.vault.azure.net", "db"))]
        texts += [repr(status) for status in resolver.check(settings)]

        failing = make_resolver(embedded=True, strict=True)
        bad = {
            **settings,
            "OFF": ref("off"),
            "MISSING": ref("missing"),
            "PASTED": PASTED,
            # Text inside an unterminated reference is reference text and is quoted (docs/references.md R22).
            "EMBEDDED_BAD": f"pw={PASTED};@Microsoft.KeyVault(VaultName=contoso;SecretName=db",
            "UNTRUSTED": f"@Microsoft.KeyVault(SecretUri=https://evil.example.com/secrets/x);{PASTED}",
        }
        with pytest.raises(ResolutionError) as caught:
            failing.resolve(bad)
        error = caught.value
        texts += [str(error), repr(error), *map(str, error.failures), *map(repr, error.failures)]
        texts += traceback.format_exception(type(error), error, error.__traceback__)
        cause: BaseException | None = error
        while cause is not None:
            texts += [str(cause), repr(cause)]
            cause = cause.__cause__ or cause.__context__

        make_resolver(embedded=True, on_failure="keep").resolve(bad)
        make_resolver(embedded=True, on_failure="omit").resolve(bad)

        events: list[object] = []
        resolver.add_listener(events.append)
        fake.set_secret(VAULT, "db", ROTATED)
        refreshed = resolver.refresh()
        assert refreshed["DB"] == ROTATED
        outage = fake.inject_fault(error="drop", times=None)
        resolver.refresh()
        outage.remove()
        texts += [repr(event) for event in events] + [repr(refreshed)]
    texts += [str(w.message) for w in caught_warnings]
    texts += everything.lines

    assert any("SecretExpired" in text for text in texts)
    assert any(line.startswith("azure.") for line in everything.lines)  # the SDK's logging was captured
    _assert_clean(texts)
