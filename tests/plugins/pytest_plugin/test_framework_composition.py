"""The plugin's fixtures composed with the web frameworks' own test tools, as users write such tests: FastAPI's
``TestClient`` running the kvconfig_fastapi lifespan, Flask's test client with kvconfig_flask, and Django test cases
with kvconfig_django. Each is skipped when its framework is not installed."""

from __future__ import annotations

import importlib
import warnings

import pytest

pytest_plugins = ["pytester"]


def need(module: str) -> None:
    """Skip without the framework; import it in the outer session so inner sessions need not import it again."""
    with warnings.catch_warnings():
        # Starlette >= 0.47 prefers "httpx2" for its TestClient and warns when it falls back to httpx.
        warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient")
        pytest.importorskip(module)
        if module == "fastapi":
            pytest.importorskip("httpx")
            importlib.import_module("fastapi.testclient")


def test_fastapi_lifespan_resolves_references_from_env_set_by_keyvault_env(app: pytest.Pytester) -> None:
    need("fastapi")
    app.makepyfile(
        test_fastapi_app="""
        import warnings
        from typing import Annotated

        import pytest
        from fastapi import Depends, FastAPI
        from pydantic import SecretStr

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient")
            from fastapi.testclient import TestClient
        from kvconfig import ResolutionError
        from kvconfig.settings import KeyVaultSettings, KeyVaultSettingsConfigDict
        from kvconfig_fastapi import KvConfig


        class Settings(KeyVaultSettings):
            model_config = KeyVaultSettingsConfigDict(env_prefix="APP_")

            db_password: SecretStr
            greeting: str = "hello"


        def make_app():
            kv = KvConfig(Settings, refresh_interval=None)
            app = FastAPI(lifespan=kv.lifespan)

            @app.get("/password")
            def password(settings: Annotated[Settings, Depends(kv.settings)]):
                return {"password": settings.db_password.get_secret_value(), "greeting": settings.greeting}

            return app


        def test_lifespan_resolves(keyvault_env):
            keyvault_env("APP_DB_PASSWORD", "s3cret")
            keyvault_env("APP_GREETING", "hi", secret="greeting", vault="othervault")
            with TestClient(make_app()) as client:
                assert client.get("/password").json() == {"password": "s3cret", "greeting": "hi"}


        @pytest.mark.keyvault(identity="web")
        def test_startup_fails_with_every_bad_reference(keyvault_env, fake_keyvault):
            keyvault_env("APP_DB_PASSWORD")           # a reference to a secret that is not there
            with pytest.raises(ResolutionError, match="SecretNotFound"), TestClient(make_app()):
                pass
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=2)


def test_flask_test_client_serves_config_resolved_from_the_fake(app: pytest.Pytester) -> None:
    need("flask")
    app.makepyfile(
        test_flask_app="""
        import pytest
        from flask import Flask
        from kvconfig_flask import KvConfig


        def make_app(config, **options):
            app = Flask("inner")
            app.config.from_mapping(config)
            kv = KvConfig(app, **options)

            @app.get("/config/<name>")
            def read(name):
                return str(app.config[name])

            return kv, app


        @pytest.mark.keyvault(secrets={"myvault": {"db": "pa55"}})
        def test_default_resolver_reaches_the_patched_fake(keyvault_reference):
            kv, app = make_app({"DB": keyvault_reference("db"), "DSN": f"pw={keyvault_reference('db')};"})
            try:
                assert app.test_client().get("/config/DB").text == "pa55"
                assert app.test_client().get("/config/DSN").text == "pw=pa55;"
            finally:
                kv.close(app)


        def test_shared_resolver_fixture(keyvault_resolver, keyvault_reference):
            kv, app = make_app({"API_KEY": keyvault_reference("api-key", "k3y")}, resolver=keyvault_resolver)
            assert app.test_client().get("/config/API_KEY").text == "k3y"
        """
    )
    app.runpytest_inprocess().assert_outcomes(passed=2)


def test_django_test_cases_and_settings_resolution_on_the_fake(app: pytest.Pytester) -> None:
    need("django")
    app.makepyfile(
        test_django_app="""
        import django
        import pytest
        from django.conf import settings

        settings.configure(INSTALLED_APPS=["kvconfig_django"], DATABASES={}, SECRET_KEY="test-only", USE_TZ=True)
        django.setup()

        from django.core.management import call_command
        from django.core.management.base import SystemCheckError
        from django.test import SimpleTestCase, override_settings
        from kvconfig_django import resolve_settings

        REF = "@Microsoft.KeyVault(VaultName=myvault;SecretName=db)"


        @pytest.mark.keyvault(secrets={"myvault": {"db": "pa55"}})
        def test_resolve_settings(fake_keyvault):
            namespace = {"DATABASES": {"default": {"PASSWORD": REF}}}
            resolve_settings(namespace)
            assert namespace["DATABASES"]["default"]["PASSWORD"] == "pa55"


        @pytest.mark.usefixtures("fake_keyvault")
        @pytest.mark.keyvault(secrets={"myvault": {"db": "pa55"}})
        class SettingsTests(SimpleTestCase):
            def test_resolves_in_a_django_test_case(self):
                namespace = {"DB_PASSWORD": REF}
                resolve_settings(namespace)
                self.assertEqual(namespace["DB_PASSWORD"], "pa55")

            def test_check_reports_a_reference_never_resolved(self):
                with override_settings(DB_PASSWORD=REF), self.assertRaises(SystemCheckError):
                    call_command("check")
        """
    )
    # A subprocess: settings.configure() can run once per process.
    app.runpytest_subprocess().assert_outcomes(passed=3)
