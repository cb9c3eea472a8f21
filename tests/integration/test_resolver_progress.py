"""SecretResolver(progress=...): the observer is told what is fetched and each outcome, never a value, and cannot
break a resolve."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from kvconfig import FetchProgress, KeyVaultReference, SecretResolver
from kvconfig.fake import FakeKeyVault

from .conftest import VAULT, ref


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.done: list[tuple[str, str]] = []
        self.threads: set[int] = set()

    def fetching(self, references: Sequence[KeyVaultReference]) -> None:
        self.threads.add(threading.get_ident())
        self.batches.append(sorted(ref.name for ref in references))

    def fetched(self, reference: KeyVaultReference, status: str) -> None:
        self.done.append((reference.name, status))


def test_progress_hears_each_unique_fetch_and_its_status_but_not_cache_hits(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    fake.set_secret(VAULT, "db", "progress-secret-1")
    fake.set_secret(VAULT, "api", "progress-secret-2")
    recorder = Recorder()
    progress: FetchProgress = recorder
    resolver = make_resolver(progress=progress, on_failure="omit")
    settings = {"A": ref("db"), "B": ref("db"), "C": ref("api"), "D": ref("missing"), "E": "plain"}

    resolver.resolve(settings)
    resolver.resolve({"A": ref("db")})  # from the cache: nothing fetched, nothing reported

    assert recorder.batches == [["api", "db", "missing"]]
    assert sorted(recorder.done) == [("api", "OK"), ("db", "OK"), ("missing", "SecretNotFound")]
    assert threading.get_ident() not in recorder.threads  # called on the resolver's loop thread
    assert "progress-secret" not in repr(recorder.batches) + repr(recorder.done)


def test_progress_reports_check_reads_too(fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]) -> None:
    fake.set_secret(VAULT, "db", "v")
    recorder = Recorder()
    resolver = make_resolver(progress=recorder)

    resolver.check({"A": ref("db")})

    assert recorder.batches == [["db"]]
    assert recorder.done == [("db", "OK")]


def test_a_failing_progress_observer_never_breaks_the_resolve(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    class Broken:
        def fetching(self, references: Sequence[KeyVaultReference]) -> None:
            raise RuntimeError("display gone")

        def fetched(self, reference: KeyVaultReference, status: str) -> None:
            raise RuntimeError("display gone")

    fake.set_secret(VAULT, "db", "still-resolved")
    resolver = make_resolver(progress=Broken())

    assert resolver.resolve({"A": ref("db")})["A"] == "still-resolved"
