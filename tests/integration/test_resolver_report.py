"""``resolve_report``: values and failures of one resolve together, without raising and without reading twice."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from azure.core.exceptions import ResourceNotFoundError

from kvconfig import ExpiryWarning, ResolutionError, ResolutionReport, ResolvedSettings, SecretResolver
from kvconfig.fake import FakeKeyVault, ManualClock

from .conftest import VAULT, ref


def test_resolve_report_returns_values_and_failures_without_raising(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    fake.set_secret(VAULT, "ok", "ok-value")
    settings = {
        "OK": ref("ok"),
        "PLAIN": "plain",
        "NUMBER": 3,
        "MISSING": ref("nope"),
        "SYNTAX": "@Microsoft.KeyVault(VaultName=x)",
    }

    report = make_resolver().resolve_report(settings, origins={"MISSING": ".env:2"})

    assert dict(report.values) == {"OK": "ok-value", "PLAIN": "plain", "NUMBER": 3}
    assert [(f.setting, f.status, f.origin) for f in report.failures] == [
        ("MISSING", "SecretNotFound", ".env:2"),
        ("SYNTAX", "InvalidSyntax", None),
    ]
    assert report.failed == {"MISSING", "SYNTAX"}
    assert not report.ok


def test_resolve_report_reads_each_secret_once(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    fake.set_secret(VAULT, "ok", "ok-value")
    resolver = make_resolver()

    resolver.resolve_report({"OK": ref("ok"), "MISSING": ref("nope")})

    assert fake.operation_counts["GetSecret"] == 2


def test_resolve_report_ignores_on_failure(fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]) -> None:
    for on_failure in ("raise", "keep", "omit"):
        report = make_resolver(on_failure=on_failure).resolve_report({"MISSING": ref("nope"), "PLAIN": "p"})

        assert dict(report.values) == {"PLAIN": "p"}
        assert [f.setting for f in report.failures] == ["MISSING"]


def test_resolve_report_ok_when_everything_resolves(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    fake.set_secret(VAULT, "ok", "ok-value")

    report = make_resolver().resolve_report({"OK": ref("ok")})

    assert report.ok
    assert report.failures == ()
    report.raise_for_failures()


def test_raise_for_failures_raises_what_resolve_would_with_the_sdk_error_chained(
    make_resolver: Callable[..., SecretResolver],
) -> None:
    report = make_resolver().resolve_report({"MISSING": ref("nope")})

    with pytest.raises(ResolutionError) as caught:
        report.raise_for_failures()

    assert caught.value.failures == report.failures
    assert isinstance(caught.value.__cause__, ResourceNotFoundError)


def test_resolve_report_publishes_the_resolved_values_for_refresh(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    fake.set_secret(VAULT, "ok", "v1")
    resolver = make_resolver(ttl=0)
    resolver.resolve_report({"OK": ref("ok"), "MISSING": ref("nope")})
    assert dict(resolver.values) == {"OK": "v1"}
    fake.set_secret(VAULT, "ok", "v2")
    fake.set_secret(VAULT, "nope", "late")

    assert dict(resolver.refresh()) == {"OK": "v2", "MISSING": "late"}


def test_resolve_report_warns_about_expired_secrets(
    fake: FakeKeyVault, clock: ManualClock, make_resolver: Callable[..., SecretResolver]
) -> None:
    fake.set_secret(VAULT, "old", "expired-value", expires_on=int(clock.now()) - 60)

    with pytest.warns(ExpiryWarning, match="'OLD'"):
        report = make_resolver().resolve_report({"OLD": ref("old"), "MISSING": ref("nope")})

    assert dict(report.values) == {"OLD": "expired-value"}


def test_resolve_report_repr_shows_no_value(fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]) -> None:
    fake.set_secret(VAULT, "ok", "very-secret-value")

    report = make_resolver().resolve_report({"OK": ref("ok"), "MISSING": ref("nope")})

    assert "very-secret-value" not in repr(report)
    assert "very-secret-value" not in str(report)
    assert "'OK'" in repr(report)
    assert "SecretNotFound" in repr(report)


def test_resolution_report_is_frozen() -> None:
    report = ResolutionReport(values=ResolvedSettings())

    with pytest.raises(AttributeError):
        report.failures = ()  # type: ignore[misc]


async def test_resolve_report_async(fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]) -> None:
    fake.set_secret(VAULT, "ok", "ok-value")

    report = await make_resolver().resolve_report_async({"OK": ref("ok"), "MISSING": ref("nope")})

    assert dict(report.values) == {"OK": "ok-value"}
    assert [f.status for f in report.failures] == ["SecretNotFound"]
