"""The ``fake_appconfig`` fixture and the ``appconfig`` marker, run in inner pytest sessions as users meet them."""

from __future__ import annotations

import azure.appconfiguration
import azure.appconfiguration.provider  # noqa: F401  (imported once for the in-process inner sessions)
import pytest

pytest_plugins = ["pytester"]  # the app fixture (conftest.py) writes the ini file users have


def test_marker_seeds_the_store_and_references_resolve_through_kvconfig(app: pytest.Pytester) -> None:
    app.makepyfile(
        """
        import pytest
        from azure.appconfiguration import AzureAppConfigurationClient
        from kvconfig.appconfig import load

        pytestmark = pytest.mark.appconfig({"mystore": [{"key": "app:name", "value": "module"}]})


        @pytest.mark.appconfig({"mystore": [
            {"key": "app:name", "value": "closest"},
            {"key": "app:db", "secret_uri": "https://myvault.vault.azure.net/secrets/db"},
        ]})
        @pytest.mark.keyvault_secrets({"myvault": {"db": "s3cret"}})
        def test_loads(fake_appconfig, keyvault_resolver):
            config = load(
                connection_string=fake_appconfig.connection_string("mystore"),
                transport=fake_appconfig.transport(),
                replica_discovery_enabled=False,
                resolver=keyvault_resolver,
            )
            assert dict(config) == {"app:name": "closest", "app:db": "s3cret"}


        def test_each_test_gets_a_fresh_store_with_tokens_of_the_fake_vault(fake_appconfig, fake_keyvault):
            fake_appconfig.set("mystore", "extra", "1")
            client = AzureAppConfigurationClient(
                fake_appconfig.endpoint("mystore"), fake_keyvault.credential(), transport=fake_appconfig.transport()
            )
            assert sorted(s.key for s in client.list_configuration_settings()) == ["app:name", "extra"]
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=2)


def test_a_bad_seed_is_a_usage_error_naming_the_marker(app: pytest.Pytester) -> None:
    app.makepyfile(
        """
        import pytest

        @pytest.mark.appconfig({"mystore": [{"value": "no key"}]})
        def test_bad(fake_appconfig):
            pass
        """
    )
    result = app.runpytest_inprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.appconfig*string 'key'*"])


def test_the_marker_seeds_snapshots_the_client_and_provider_read(app: pytest.Pytester) -> None:
    app.makepyfile(
        """
        import pytest
        from azure.appconfiguration import AzureAppConfigurationClient
        from azure.appconfiguration.provider import SettingSelector
        from kvconfig.appconfig import load

        @pytest.mark.appconfig({"mystore": {
            "key_values": [{"key": "app:name", "value": "now"}],
            "snapshots": [{"name": "release-1", "filters": [{"key": "app:*"}], "items": [
                {"key": "app:name", "value": "then"},
                {"key": "app:db", "secret_uri": "https://myvault.vault.azure.net/secrets/db"},
            ]}],
        }})
        @pytest.mark.keyvault_secrets({"myvault": {"db": "s3cret"}})
        def test_snapshot(fake_appconfig, keyvault_resolver):
            client = AzureAppConfigurationClient.from_connection_string(
                fake_appconfig.connection_string("mystore"), transport=fake_appconfig.transport()
            )
            assert client.get_snapshot("release-1").items_count == 2
            config = load(
                connection_string=fake_appconfig.connection_string("mystore"),
                transport=fake_appconfig.transport(),
                replica_discovery_enabled=False,
                selects=[SettingSelector(snapshot_name="release-1")],
                resolver=keyvault_resolver,
            )
            assert dict(config) == {"app:name": "then", "app:db": "s3cret"}
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=1)
