"""The ``keyvault`` marker and the helper fixtures (``keyvault_clock``, ``keyvault_resolver``, ``keyvault_reference``,
``keyvault_env``) as users meet them, in inner pytest sessions run with ``pytester``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]


def test_marker_seeds_secrets_keys_and_certificates_per_vault(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from app import read_certificate, read_key, read_secret

        URL = "https://myvault.vault.azure.net"

        @pytest.mark.keyvault(
            secrets={"myvault": {"db-password": "s3cret"}},
            keys={"myvault": {"signing": {"kty": "EC", "crv": "P-256"}}},
            certificates={"myvault": {"tls": {"subject": "CN=app.example", "dns_names": ["app.example"]}}},
        )
        def test_reads(fake_keyvault):
            assert read_secret(URL, "db-password") == "s3cret"
            assert read_key(URL, "signing").key.crv == "P-256"
            certificate = read_certificate(URL, "tls")
            assert certificate.policy.san_dns_names == ["app.example"]
            assert read_key(URL, "tls").properties.managed is True
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=1)


def test_marker_seed_mapping_positional_or_keyword(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from app import read_key, read_secret

        SEED = {"vaults": {"myvault": {"secrets": {"a": "1"}, "keys": {"k": {"kty": "RSA", "size": 3072}}}}}

        @pytest.mark.keyvault(SEED)
        def test_positional(fake_keyvault):
            assert read_secret("https://myvault.vault.azure.net", "a") == "1"

        @pytest.mark.keyvault(seed=SEED)
        def test_keyword(fake_keyvault):
            assert len(read_key("https://myvault.vault.azure.net", "k").key.n) * 8 == 3072
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=2)


def test_seed_file_is_found_beside_the_test_file_or_at_the_rootdir(app: pytest.Pytester) -> None:
    (app.path / "tests" / "data").mkdir(parents=True)
    seed = {"vaults": {"myvault": {"secrets": {"from-file": "beside"}}}}
    (app.path / "tests" / "data" / "seed.json").write_text(json.dumps(seed), encoding="utf-8")
    seed["vaults"]["myvault"]["secrets"] = {"from-file": "at-root"}
    (app.path / "root-seed.json").write_text(json.dumps(seed), encoding="utf-8")
    (app.path / "tests" / "test_files.py").write_text(
        """
import pytest

@pytest.mark.keyvault("data/seed.json")
def test_beside(fake_keyvault):
    assert fake_keyvault.get_secret_value("myvault", "from-file") == "beside"

@pytest.mark.keyvault(seed="root-seed.json")
def test_root(fake_keyvault):
    assert fake_keyvault.get_secret_value("myvault", "from-file") == "at-root"
""",
        encoding="utf-8",
    )
    app.runpytest_inprocess("tests", "--rootdir", str(app.path)).assert_outcomes(passed=2)


def test_identity_chooses_the_caller_access_control_judges(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from azure.core.exceptions import HttpResponseError
        from app import read_secret

        SEED = {"vaults": {"myvault": {
            "properties": {"enforce_access": True},
            "roles": [{"identity": "billing-app", "role": "Key Vault Secrets User"}],
            "secrets": {"db": "pa55"},
        }}}

        @pytest.mark.keyvault(SEED, identity="billing-app")
        def test_allowed(fake_keyvault):
            assert read_secret("https://myvault.vault.azure.net", "db") == "pa55"

        @pytest.mark.keyvault(SEED, identity="intruder")
        def test_denied(fake_keyvault):
            with pytest.raises(HttpResponseError) as caught:
                read_secret("https://myvault.vault.azure.net", "db")
            assert caught.value.status_code == 403
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=2)


def test_keyvault_clock_is_a_manual_clock_that_moves_the_fake(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        from datetime import datetime, timezone

        import pytest
        from kvconfig.fake import ManualClock

        START = datetime(2030, 1, 1, tzinfo=timezone.utc)

        @pytest.mark.keyvault(clock=START, certificates={"myvault": {"tls": {"subject": "CN=a", "validity_months": 1}}})
        def test_given_start(fake_keyvault, keyvault_clock):
            assert keyvault_clock.datetime() == START
            assert isinstance(fake_keyvault.clock, ManualClock)
            fake_keyvault.advance(days=30)  # AutoRenew at 80 % of the lifetime
            assert len(fake_keyvault.vault("myvault").store("certificates").get("tls").versions) == 2

        def test_asking_for_the_clock_is_enough(fake_keyvault, keyvault_clock):
            before = keyvault_clock.now()
            keyvault_clock.advance(hours=1)
            assert fake_keyvault.clock.now() == before + 3600

        @pytest.mark.keyvault(clock="manual")
        def test_manual(fake_keyvault):
            assert isinstance(fake_keyvault.clock, ManualClock)

        def test_system_clock_by_default(fake_keyvault):
            assert not isinstance(fake_keyvault.clock, ManualClock)
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=4)


def test_strict_and_latency_configure_the_fake(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from azure.core.exceptions import ServiceRequestError
        from app import read_secret

        @pytest.mark.keyvault(secrets={"myvault": {"a": "1"}}, strict=True, latency=0.01)
        def test_strict(fake_keyvault):
            assert fake_keyvault.latency == 0.01
            assert read_secret("https://myvault.vault.azure.net", "a") == "1"
            with pytest.raises(ServiceRequestError):
                read_secret("https://typo.vault.azure.net", "a")
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=1)


def test_markers_of_both_kinds_compose_closest_last(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from app import read_secret

        pytestmark = [
            pytest.mark.keyvault(secrets={"myvault": {"shared": "module", "m": "1"}}, identity="module-app"),
            pytest.mark.keyvault_secrets({"myvault": {"s": "2"}}),
        ]

        @pytest.mark.keyvault(secrets={"myvault": {"shared": "function"}}, identity="function-app")
        def test_layers(fake_keyvault):
            url = "https://myvault.vault.azure.net"
            assert [read_secret(url, n) for n in ("m", "s", "shared")] == ["1", "2", "function"]
            callers = []
            fake_keyvault.listeners.append(lambda record: callers.append(record.identity.name))
            read_secret(url, "m")
            assert "function-app" in callers
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=1)


def test_keyvault_reference_sets_the_secret_and_returns_its_reference(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest

        def test_styles(fake_keyvault, keyvault_reference):
            uri = keyvault_reference("db-password", "s3cret")
            assert uri == "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/db-password)"
            assert fake_keyvault.get_secret_value("myvault", "db-password") == "s3cret"
            by_name = keyvault_reference("api-key", "k", vault="other", style="name")
            assert by_name == "@Microsoft.KeyVault(VaultName=other;SecretName=api-key)"
            pinned = keyvault_reference("db-password", pinned=True)
            version = fake_keyvault.vault("myvault").secrets.get("db-password").latest
            assert pinned.endswith(f"/secrets/db-password/{version})")
            assert keyvault_reference("absent") .endswith("/secrets/absent)")

        @pytest.mark.keyvault(vault="https://cnvault.vault.azure.cn")
        def test_default_vault_from_marker(keyvault_reference):
            assert "https://cnvault.vault.azure.cn/secrets/a" in keyvault_reference("a", "1")
            with pytest.raises(ValueError, match="public-cloud"):
                keyvault_reference("a", style="name")
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=2)


def test_keyvault_resolver_resolves_references_and_is_closed_after(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from kvconfig import ResolutionError

        made = []

        @pytest.mark.keyvault(identity="app")
        def test_resolves(keyvault_resolver, keyvault_reference, fake_keyvault):
            made.append(keyvault_resolver)
            callers = set()
            fake_keyvault.listeners.append(lambda record: record.identity and callers.add(record.identity.name))
            settings = {"DB": keyvault_reference("db", "pa55"), "PLAIN": "x"}
            assert dict(keyvault_resolver.resolve(settings)) == {"DB": "pa55", "PLAIN": "x"}
            with pytest.raises(ResolutionError, match="SecretNotFound"):
                keyvault_resolver.resolve({"GONE": keyvault_reference("gone")})
            assert callers == {"app"}

        def test_closed_after():
            assert made[0].closed
        """
    )
    app.runpytest_inprocess("-p", "no:randomly").assert_outcomes(passed=2)


def test_keyvault_env_points_variables_at_references_and_is_undone(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import os
        import pytest

        def test_sets(keyvault_env, fake_keyvault):
            reference = keyvault_env("APP_DB_PASSWORD", "s3cret")
            assert os.environ["APP_DB_PASSWORD"] == reference
            assert fake_keyvault.get_secret_value("myvault", "app-db-password") == "s3cret"
            keyvault_env("APP_OTHER", "v", secret="other-name", vault="othervault")
            assert fake_keyvault.get_secret_value("othervault", "other-name") == "v"

        def test_undone():
            assert "APP_DB_PASSWORD" not in os.environ
        """
    )
    app.runpytest_inprocess("-p", "no:randomly").assert_outcomes(passed=2)


def test_new_markers_are_registered_for_strict_markers(app: pytest.Pytester) -> None:
    result = app.runpytest_inprocess("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.keyvault(seed=None, *, secrets=None, keys=None*"])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("colour='red'", "unknown keyword(s) colour; use @pytest.mark.keyvault(seed=*"),
        ("{'vaults': {}}, {'vaults': {}}", "takes one seed (positional or seed=), not 2 arguments"),
        ("{'vaults': {}}, seed={'vaults': {}}", "takes one seed (positional or seed=)"),
        ("{'myvault': {'a': '1'}}", "a seed mapping needs a 'vaults' member*use secrets=, keys= or certificates="),
        ("42", "seed= must be a seed mapping or the path of a JSON seed file, not int"),
        ("'missing.json'", "the seed file 'missing.json' was not found in*"),
        ("secrets=['a']", "secrets= needs a mapping {vault: {name: 'value'}}, not list"),
        ("keys={'myvault': 'RSA'}", "keys= vault 'myvault' must map to {name: {'kty': 'RSA'}}, not str"),
        ("keys={'myvault': {'k': {'kty': 'DSA'}}}", "Cannot seed key 'k' of vault 'myvault': The key type 'DSA'*"),
        ("certificates={'myvault': {'c': {'subject': 'x'}}}", "Cannot seed certificate 'c' of vault 'myvault'*"),
        ("identity=42", "identity= must be a name or an Identity, not int"),
        ("clock='tomorrow'", "clock= must be 'manual', an aware datetime, epoch seconds or a ManualClock*"),
        ("clock=__import__('datetime').datetime(2030, 1, 1)", "clock= needs an aware datetime*"),
        ("strict='yes'", "strict= must be True or False, not 'yes'"),
        ("latency=-1", "latency= must be a number of seconds (0 or more), not -1"),
        ("vault=''", "vault= must be a vault name or URL, not ''"),
    ],
    ids=[
        "unknown-kwarg",
        "two-seeds",
        "seed-twice",
        "shorthand-as-seed",
        "seed-type",
        "missing-file",
        "secrets-type",
        "keys-vault-type",
        "bad-kty",
        "bad-subject",
        "identity",
        "clock-word",
        "naive-datetime",
        "strict",
        "latency",
        "vault",
    ],
)
def test_bad_keyvault_marker_fails_with_usage_error(app: pytest.Pytester, marker: str, message: str) -> None:
    app.makepyfile(
        test_app=f"""
        import pytest

        @pytest.mark.keyvault({marker})
        def test_bad(fake_keyvault):
            pass
        """
    )
    result = app.runpytest_inprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*UsageError: @pytest.mark.keyvault: {message}*"])


def test_bad_marker_does_not_leave_a_patch_behind(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from azure.core.pipeline.transport import RequestsTransport

        ORIGINAL = RequestsTransport.send

        @pytest.mark.keyvault(keys={"myvault": {"k": {"kty": "DSA"}}})
        def test_bad(fake_keyvault):
            pass

        def test_after():
            assert RequestsTransport.send is ORIGINAL
        """
    )
    app.runpytest_inprocess("-p", "no:randomly").assert_outcomes(passed=1, errors=1)


def test_plugin_imports_no_web_framework() -> None:
    code = (
        "import sys, pytest_kvconfig.plugin, pytest_kvconfig\n"
        "loaded = sorted(m for m in ('fastapi', 'starlette', 'flask', 'django') if m in sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
