"""The pytest plugin as users meet it: the ``fake_keyvault`` fixture and the ``keyvault_secrets`` marker, run in
inner pytest sessions with ``pytester``."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_marker_seeds_secrets_the_app_reads_through_its_own_client(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from app import read_secret

        @pytest.mark.keyvault_secrets({"myvault": {"db-password": "s3cret", "api-key": "k"}})
        def test_reads(fake_keyvault):
            assert read_secret("https://myvault.vault.azure.net", "db-password") == "s3cret"
            assert read_secret("https://myvault.vault.azure.net", "api-key") == "k"
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=1)


def test_marker_accepts_vault_urls_and_sovereign_clouds(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from app import read_secret

        @pytest.mark.keyvault_secrets({
            "https://urlvault.vault.azure.net/": {"a": "from-url"},
            "https://cnvault.vault.azure.cn": {"b": "from-china"},
        })
        def test_reads(fake_keyvault):
            assert read_secret("https://urlvault.vault.azure.net", "a") == "from-url"
            assert read_secret("https://cnvault.vault.azure.cn", "b") == "from-china"
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=1)


def test_marker_accepts_a_full_seed_mapping(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from azure.core.exceptions import HttpResponseError
        from app import read_secret

        SEED = {"vaults": {"myvault": {
            "properties": {"retention_days": 7},
            "secrets": {"rotated": {"versions": [{"value": "old"}, {"value": "new"}]},
                        "off": {"value": "x", "enabled": False}},
        }}}

        @pytest.mark.keyvault_secrets(SEED)
        def test_reads(fake_keyvault):
            assert read_secret("https://myvault.vault.azure.net", "rotated") == "new"
            with pytest.raises(HttpResponseError) as caught:
                read_secret("https://myvault.vault.azure.net", "off")
            assert caught.value.error.innererror == {"code": "SecretDisabled"}
            assert fake_keyvault.vault("myvault").properties.retention_days == 7
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=1)


def test_markers_on_module_class_and_function_all_apply_closest_last(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from app import read_secret

        pytestmark = pytest.mark.keyvault_secrets({"myvault": {"module": "m", "shared": "from-module"}})

        @pytest.mark.keyvault_secrets({"myvault": {"klass": "c", "shared": "from-class"}})
        class TestLayers:
            @pytest.mark.keyvault_secrets({"myvault": {"shared": "from-function"}})
            def test_reads(self, fake_keyvault):
                url = "https://myvault.vault.azure.net"
                assert read_secret(url, "module") == "m"
                assert read_secret(url, "klass") == "c"
                assert read_secret(url, "shared") == "from-function"
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=1)


def test_identity_kwarg_names_the_caller_of_patched_credentials(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from app import read_secret

        @pytest.mark.keyvault_secrets({"myvault": {"a": "1"}}, identity="billing-app")
        def test_identity(fake_keyvault):
            callers = []
            fake_keyvault.listeners.append(lambda record: record.identity and callers.append(record.identity.name))
            read_secret("https://myvault.vault.azure.net", "a")
            assert callers == ["billing-app"]

        def test_default_identity(fake_keyvault):
            callers = []
            fake_keyvault.listeners.append(lambda record: record.identity and callers.append(record.identity.name))
            fake_keyvault.set_secret("myvault", "a", "1")
            read_secret("https://myvault.vault.azure.net", "a")
            assert callers == ["test-user"]
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=2)


def test_fixture_patch_is_active_inside_the_test_and_undone_after(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from azure.core.pipeline.transport import RequestsTransport

        ORIGINAL = RequestsTransport.send

        def test_inside(fake_keyvault):
            assert RequestsTransport.send is not ORIGINAL

        def test_after_without_fixture():
            assert RequestsTransport.send is ORIGINAL

        def test_inside_again(fake_keyvault):
            assert RequestsTransport.send is not ORIGINAL
            raise AssertionError("a failing test still gets its patch undone")

        def test_after_failure():
            assert RequestsTransport.send is ORIGINAL
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=3, failed=1)


def test_each_test_gets_a_fresh_fake(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from azure.core.exceptions import ResourceNotFoundError
        from app import read_secret

        def test_writes(fake_keyvault):
            fake_keyvault.set_secret("myvault", "leak", "v")

        def test_sees_nothing(fake_keyvault):
            with pytest.raises(ResourceNotFoundError):
                read_secret("https://myvault.vault.azure.net", "leak")
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=2)


def test_app_under_patch_cannot_reach_other_hosts(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from azure.core.exceptions import ServiceRequestError
        from azure.core.pipeline import Pipeline
        from azure.core.pipeline.transport import RequestsTransport
        from azure.core.rest import HttpRequest

        def test_refused(fake_keyvault):
            with Pipeline(RequestsTransport()) as pipeline, pytest.raises(ServiceRequestError, match="refused"):
                pipeline.run(HttpRequest("GET", "https://example.com/"))
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=1)


def test_async_app_reads_seeded_secret(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import asyncio
        import pytest
        from azure.identity.aio import DefaultAzureCredential
        from azure.keyvault.secrets.aio import SecretClient

        async def read(url, name):
            async with DefaultAzureCredential() as credential, SecretClient(url, credential) as client:
                return (await client.get_secret(name)).value

        @pytest.mark.keyvault_secrets({"myvault": {"a": "async-value"}})
        def test_reads(fake_keyvault):
            assert asyncio.run(read("https://myvault.vault.azure.net", "a")) == "async-value"
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=1)


def test_marker_is_registered_for_strict_markers(app: pytest.Pytester) -> None:
    result = app.runpytest_inprocess("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.keyvault_secrets(secrets, *, identity=None)*"])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('"myvault"', "needs a mapping, not str"),
        ('{"myvault": ["a"]}', "vault 'myvault' must map to {secret name: value}, not list"),
        ('{"myvault": {"a": "1"}}, {"b": {}}', "takes one mapping, not 2 arguments"),
        ('{"myvault": {"a": "1"}}, identities="x"', "unknown keyword(s) identities"),
        ('{"myvault": {"a_b": "1"}}', "Secret name 'a_b' in vault 'myvault' is not valid"),
        ('{"x": {"a": "1"}}', "Cannot create vault 'x'"),
        ('{"myvault": {"a": "1"}}, identity=42', "identity= must be a name or an Identity, not int"),
    ],
    ids=["not-a-mapping", "vault-not-mapping", "two-args", "unknown-kwarg", "bad-secret-name", "bad-vault", "identity"],
)
def test_bad_marker_arguments_fail_with_usage_error(app: pytest.Pytester, marker: str, message: str) -> None:
    app.makepyfile(
        test_app=f"""
        import pytest

        @pytest.mark.keyvault_secrets({marker})
        def test_bad(fake_keyvault):
            pass
        """
    )
    result = app.runpytest_inprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*UsageError*{message}*"])
