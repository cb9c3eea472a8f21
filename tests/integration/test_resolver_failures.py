"""Every failure is reported at once with App Service's status vocabulary; retries, timeouts, expiry and the
``on_failure`` choices, all through the official async SDK on the fake."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from azure.core.exceptions import AzureError

from kvconfig import ExpiryWarning, ResolutionError, SecretResolver
from kvconfig.fake import FakeKeyVault, ManualClock

from .conftest import VAULT, VAULT_URL, Wire, ref

MISSING_VERSION = "0123456789abcdef0123456789abcdef"


def _statuses(error: ResolutionError) -> dict[str, str]:
    return {failure.setting: failure.status for failure in error.failures}


def test_every_failure_is_reported_at_once_with_its_status(clock: ManualClock) -> None:
    fake = FakeKeyVault(clock=clock, strict=True)
    for vault in (VAULT, "denied", "slow", "odd"):
        fake.vault(vault)
    fake.set_secret(VAULT, "ok", "fine-value")
    fake.set_secret(VAULT, "pinned", "pinned-value")
    fake.set_secret(VAULT, "off", "disabled-value", enabled=False)
    for vault in ("denied", "slow", "odd"):
        fake.set_secret(vault, "x", "unreachable-value")
    fake.inject_fault(status=403, vault="denied", times=None)
    fake.inject_fault(error="timeout", vault="slow", times=None)
    fake.inject_fault(status=400, vault="odd", times=None)
    settings = {
        "OK": ref("ok"),
        "PLAIN": "left alone",
        "MISSING": ref("nope"),
        "MISSING_VERSION": ref("pinned", version=MISSING_VERSION),
        "NO_VAULT": ref("x", "nowhere"),
        "DENIED": ref("x", "denied"),
        "DISABLED": ref("off"),
        "SYNTAX": "@Microsoft.KeyVault(VaultName=contoso)",
        "UNTRUSTED": "@Microsoft.KeyVault(SecretUri=https://evil.example.com/secrets/x)",
        "TIMEOUT": ref("x", "slow"),
        "OTHER": ref("x", "odd"),
    }
    origins = {key: f"app.env:{line}" for line, key in enumerate(settings, start=1)}

    resolver = SecretResolver(fake.async_credential(), transport=fake.async_transport, clock=clock.now)
    with resolver, pytest.raises(ResolutionError) as caught:
        resolver.resolve(settings, origins=origins)

    assert _statuses(caught.value) == {
        "DENIED": "AccessToKeyVaultDenied",
        "DISABLED": "SecretDisabled",
        "MISSING": "SecretNotFound",
        "MISSING_VERSION": "SecretVersionNotFound",
        "NO_VAULT": "VaultNotFound",
        "OTHER": "OtherReasons",
        "SYNTAX": "InvalidSyntax",
        "TIMEOUT": "FetchTimedOut",
        "UNTRUSTED": "UntrustedVault",
    }
    failures = caught.value.failures
    assert [f.setting for f in failures] == sorted(f.setting for f in failures)
    assert all(f.origin == origins[f.setting] for f in failures)
    message = str(caught.value)
    assert message.startswith("9 Key Vault references could not be resolved:")
    # What the user wrote (and where), then the normalised form.
    assert (
        f"MISSING (app.env:3) -> {ref('nope')} "
        "(normalised: @Microsoft.KeyVault(SecretUri=https://contoso.vault.azure.net/secrets/nope))" in message
    )
    assert f"UNTRUSTED ({origins['UNTRUSTED']}) -> {settings['UNTRUSTED']} [UntrustedVault]" in message
    assert "secret 'nope' does not exist" in message
    assert isinstance(caught.value.__cause__, AzureError)


def test_expired_token_is_access_denied(fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]) -> None:
    fake.set_secret(VAULT, "a", "a-value")
    fake.set_secret(VAULT, "b", "b-value")
    resolver = make_resolver(credential=fake.async_credential(lifetime=-10))

    with pytest.raises(ResolutionError) as caught:
        resolver.resolve({"A": ref("a"), "B": ref("b")})

    assert _statuses(caught.value) == {"A": "AccessToKeyVaultDenied", "B": "AccessToKeyVaultDenied"}
    assert "authentication failed" in caught.value.failures[0].detail
    assert fake.operation_counts["GetSecret"] == 0


def test_failing_credential_is_asked_once_per_vault_and_denies_every_setting(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    from azure.identity import CredentialUnavailableError

    calls: list[object] = []

    class NoCredential:
        async def get_token(self, *scopes: str, **kwargs: object) -> object:
            calls.append(scopes)
            raise CredentialUnavailableError(message="no identity is available here")

        async def close(self) -> None:
            pass

    resolver = make_resolver(credential=NoCredential())

    with pytest.raises(ResolutionError) as caught:
        resolver.resolve({f"S{i}": ref(f"s{i}") for i in range(20)})

    assert set(_statuses(caught.value).values()) == {"AccessToKeyVaultDenied"}
    assert len(calls) == 1


def test_untrusted_host_receives_no_request(fake: FakeKeyVault, wire: Wire, resolver: SecretResolver) -> None:
    fake.set_secret(VAULT, "ok", "trusted-value")
    settings = {
        "OK": ref("ok"),
        "EVIL": "@Microsoft.KeyVault(SecretUri=https://evil.example.com/secrets/x)",
        "SUFFIX": "@Microsoft.KeyVault(SecretUri=https://contoso.vault.azure.net.evil.com/secrets/x)",
        "USERINFO": "@Microsoft.KeyVault(SecretUri=https://contoso.vault.azure.net@evil.com/secrets/x)",
    }

    with pytest.raises(ResolutionError) as caught:
        resolver.resolve(settings)

    assert _statuses(caught.value) == {
        "EVIL": "UntrustedVault",
        "SUFFIX": "UntrustedVault",
        "USERINFO": "InvalidSyntax",
    }
    assert set(wire.hosts) == {"contoso.vault.azure.net"}


def test_trusted_hosts_option_allows_another_host(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]
) -> None:
    resolver = make_resolver(trusted_hosts=[".example.com"], on_failure="keep")

    resolved = resolver.resolve({"X": "@Microsoft.KeyVault(SecretUri=https://vault.example.com/secrets/x)"})

    # Trusted now, so it was sent: the fake serves no such host and the failure is a transport one, not UntrustedVault.
    assert resolved["X"].startswith("@Microsoft.KeyVault(")


def test_trusted_hosts_as_one_string_is_one_host_not_its_characters(
    fake: FakeKeyVault, wire: Wire, make_resolver: Callable[..., SecretResolver]
) -> None:
    resolver = make_resolver(trusted_hosts="abc", on_failure="keep")

    resolved = resolver.resolve({"X": "@Microsoft.KeyVault(SecretUri=https://a/secrets/x)"})

    assert resolver.trusted_hosts == ("abc",)
    assert resolved["X"] == "@Microsoft.KeyVault(SecretUri=https://a/secrets/x)"
    assert wire.hosts == []  # "a" is not trusted, so nothing was sent to it


@pytest.mark.parametrize(("status", "retry_after"), [(429, 7.0), (503, None), (500, None)])
def test_throttling_and_server_errors_are_retried_by_the_sdk(
    fake: FakeKeyVault, clock: ManualClock, resolver: SecretResolver, status: int, retry_after: float | None
) -> None:
    fake.set_secret(VAULT, "db", "after-retries-value")
    fault = fake.inject_fault(status=status, retry_after=retry_after, times=2, operation="GetSecret")
    before = clock.now()

    started = time.perf_counter()
    resolved = resolver.resolve({"DB": ref("db")})

    assert resolved["DB"] == "after-retries-value"
    assert fault.hits == 2
    assert fake.operation_counts["GetSecret"] == 3
    assert time.perf_counter() - started < 1.0  # the fake's transport moves its clock instead of sleeping
    if retry_after:
        assert clock.now() - before >= 2 * retry_after  # Retry-After was honoured, twice


def test_faults_beyond_the_sdk_retries_are_fetch_timed_out(fake: FakeKeyVault, resolver: SecretResolver) -> None:
    fake.set_secret(VAULT, "slow", "never-value")
    fake.set_secret(VAULT, "busy", "never-value")
    fake.inject_fault(error="timeout", times=None, predicate=lambda r: "/secrets/slow" in r.url)
    fake.inject_fault(status=503, times=None, predicate=lambda r: "/secrets/busy" in r.url)

    with pytest.raises(ResolutionError) as caught:
        resolver.resolve({"SLOW": ref("slow"), "BUSY": ref("busy")})

    assert _statuses(caught.value) == {"SLOW": "FetchTimedOut", "BUSY": "FetchTimedOut"}
    assert fake.operation_counts["GetSecret"] > 2  # the SDK retried before giving up


def test_dropped_connections_beyond_retries_are_other_reasons(fake: FakeKeyVault, resolver: SecretResolver) -> None:
    fake.set_secret(VAULT, "db", "never-value")
    fake.inject_fault(error="drop", times=None)

    with pytest.raises(ResolutionError) as caught:
        resolver.resolve({"DB": ref("db")})

    assert _statuses(caught.value) == {"DB": "OtherReasons"}
    assert "connection" in caught.value.failures[0].detail


def test_resolver_timeout_bounds_a_slow_vault(fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]) -> None:
    fake.set_secret(VAULT, "db", "slow-value")
    fake.latency = 10.0  # a vault far slower than the resolver's patience
    resolver = make_resolver(timeout=0.05)

    started = time.perf_counter()
    with pytest.raises(ResolutionError) as caught:
        resolver.resolve({"DB": ref("db")})

    assert _statuses(caught.value) == {"DB": "FetchTimedOut"}
    assert time.perf_counter() - started < 5  # the timeout, not the vault's 10 s, ended the wait


def test_on_failure_keep_keeps_the_literal_text(make_resolver: Callable[..., SecretResolver]) -> None:
    settings = {"MISSING": ref("nope"), "SYNTAX": "@Microsoft.KeyVault(VaultName=x)", "PLAIN": "p"}

    resolved = make_resolver(on_failure="keep").resolve(settings)

    assert dict(resolved) == settings


def test_on_failure_omit_drops_the_setting(fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver]) -> None:
    fake.set_secret(VAULT, "ok", "kept-value")

    resolved = make_resolver(on_failure="omit").resolve({"MISSING": ref("nope"), "OK": ref("ok"), "PLAIN": "p"})

    assert dict(resolved) == {"OK": "kept-value", "PLAIN": "p"}


def test_on_failure_defaults_to_raise(make_resolver: Callable[..., SecretResolver]) -> None:
    resolver = make_resolver()

    with pytest.raises(ResolutionError):
        resolver.resolve({"MISSING": ref("nope")})
    assert resolver.values == {}


def test_expired_secret_warns_by_default_and_fails_when_strict(
    fake: FakeKeyVault, clock: ManualClock, make_resolver: Callable[..., SecretResolver]
) -> None:
    now = int(clock.now())
    fake.set_secret(VAULT, "old", "expired-value", expires_on=now - 60)
    fake.set_secret(VAULT, "early", "early-value", not_before=now + 3600)
    settings = {"OLD": ref("old"), "EARLY": ref("early")}

    with pytest.warns(ExpiryWarning) as warned:
        resolved = make_resolver().resolve(settings)
    assert dict(resolved) == {"OLD": "expired-value", "EARLY": "early-value"}
    messages = sorted(str(w.message) for w in warned)
    assert "expired on" in messages[1]
    assert "'OLD'" in messages[1]
    assert "not valid before" in messages[0]
    assert "'EARLY'" in messages[0]

    with pytest.raises(ResolutionError) as caught:
        make_resolver(strict=True).resolve(settings)
    assert _statuses(caught.value) == {"OLD": "SecretExpired", "EARLY": "SecretNotYetValid"}


def test_expiry_is_judged_by_the_resolvers_clock(
    fake: FakeKeyVault, clock: ManualClock, make_resolver: Callable[..., SecretResolver]
) -> None:
    expires = datetime(2030, 1, 1, tzinfo=timezone.utc)
    fake.set_secret(VAULT, "db", "clocked-value", expires_on=expires)
    later = expires.timestamp() + 1

    assert make_resolver(strict=True).resolve({"DB": ref("db")})["DB"] == "clocked-value"
    with pytest.raises(ResolutionError) as caught:
        make_resolver(strict=True, clock=lambda: later).resolve({"DB": ref("db")})
    assert _statuses(caught.value) == {"DB": "SecretExpired"}


def test_check_reports_status_version_and_expiry_without_raising(
    fake: FakeKeyVault, clock: ManualClock, resolver: SecretResolver
) -> None:
    expires = datetime(2031, 5, 4, tzinfo=timezone.utc)
    version = fake.set_secret(VAULT, "db", "checked-value", expires_on=expires)
    fake.set_secret(VAULT, "old", "old-value", expires_on=int(clock.now()) - 1)

    statuses = resolver.check(
        {"DB": ref("db"), "MISSING": ref("nope"), "OLD": ref("old"), "BAD": "@Microsoft.KeyVault(x)", "P": "plain"}
    )

    by_setting = {status.setting: status for status in statuses}
    assert set(by_setting) == {"DB", "MISSING", "OLD", "BAD"}
    assert by_setting["DB"].ok
    assert by_setting["DB"].version == version
    assert by_setting["DB"].expires_on == expires
    assert by_setting["MISSING"].status == "SecretNotFound"
    assert by_setting["OLD"].status == "SecretExpired"
    assert by_setting["BAD"].status == "InvalidSyntax"
    assert f"{VAULT_URL}/secrets/db" in by_setting["DB"].reference
