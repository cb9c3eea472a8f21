"""kvconfig_flask with Flask's test client and CLI runner, on the fake Key Vault (patched in by ``fake_keyvault``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("flask")

from azure.keyvault.secrets import SecretClient
from click.testing import CliRunner
from flask import Flask, current_app
from flask.cli import FlaskGroup
from kvconfig_flask import KvConfig, cli

from kvconfig import ResolutionError, SecretResolver
from kvconfig.fake import FakeKeyVault

VAULT = "https://myvault.vault.azure.net"


def ref(name: str) -> str:
    return f"@Microsoft.KeyVault(VaultName=myvault;SecretName={name})"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def make_app() -> Iterator[Any]:
    made: list[tuple[KvConfig, Flask]] = []

    def make(config: dict[str, Any], **options: Any) -> tuple[KvConfig, Flask]:
        app = Flask("test_app")
        app.config.from_mapping(config)
        kv = KvConfig(**options)
        made.append((kv, app))
        kv.init_app(app)

        @app.get("/config/<name>")
        def read(name: str) -> str:
            return str(current_app.config[name])

        return kv, app

    yield make
    for kv, app in made:
        if "kvconfig" in app.extensions:
            kv.close(app)


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55", "api": "k3y"}})
def test_init_app_resolves_references_in_app_config_including_nested(
    fake_keyvault: FakeKeyVault, make_app: Any
) -> None:
    _kv, app = make_app(
        {
            "DB_PASSWORD": ref("db"),
            "DEBUG": False,
            "CONNECTION": f"Server=x;Password={ref('db')};",
            "SERVICES": {"payments": {"api_key": ref("api")}},
        }
    )

    assert app.config["DB_PASSWORD"] == "pa55"
    assert app.config["SERVICES"]["payments"]["api_key"] == "k3y"
    assert app.config["DEBUG"] is False
    assert app.config["CONNECTION"] == "Server=x;Password=pa55;"
    assert app.test_client().get("/config/DB_PASSWORD").text == "pa55"
    assert "kvconfig" in app.cli.commands


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_init_app_reports_every_bad_reference(fake_keyvault: FakeKeyVault, make_app: Any) -> None:
    with pytest.raises(ResolutionError) as caught:
        make_app(
            {"A": ref("missing"), "B": "@Microsoft.KeyVault(VaultName=myvault;SecretName=bad_name)", "C": ref("db")}
        )

    assert {failure.setting for failure in caught.value.failures} == {"A", "B"}
    assert "pa55" not in str(caught.value)


@pytest.mark.keyvault_secrets({"myvault": {}})
def test_init_app_closes_the_resolver_it_made_when_resolution_fails(fake_keyvault: FakeKeyVault) -> None:
    app = Flask("failing")
    app.config["A"] = ref("missing")

    with pytest.raises(ResolutionError):
        KvConfig(app)

    assert KvConfig.state(app).resolver.closed


@pytest.mark.keyvault_secrets({"myvault": {}})
def test_init_app_leaves_a_resolver_it_was_given_open(fake_keyvault: FakeKeyVault) -> None:
    app = Flask("failing")
    app.config["A"] = ref("missing")

    with SecretResolver() as resolver:
        with pytest.raises(ResolutionError):
            KvConfig(app, resolver=resolver)
        assert not resolver.closed


@pytest.mark.keyvault_secrets({"myvault": {"db": "v1"}})
def test_before_request_refreshes_after_the_interval(fake_keyvault: FakeKeyVault, make_app: Any) -> None:
    clock = Clock()
    _kv, app = make_app({"DB_PASSWORD": ref("db")}, refresh_interval=60, clock=clock)
    client = app.test_client()
    fake_keyvault.set_secret("myvault", "db", "v2")

    assert client.get("/config/DB_PASSWORD").text == "v1"
    clock.now += 61
    assert client.get("/config/DB_PASSWORD").text == "v2"


@pytest.mark.keyvault_secrets({"myvault": {"db": "v1"}})
def test_refresh_keeps_last_good_value_when_vault_fails(fake_keyvault: FakeKeyVault, make_app: Any) -> None:
    with SecretResolver(client_options={"retry_total": 0}) as resolver:
        kv, app = make_app({"DB_PASSWORD": ref("db")}, resolver=resolver)
        fake_keyvault.inject_fault(status=503, times=None)

        event = kv.refresh(app)

        assert app.config["DB_PASSWORD"] == "v1"
        assert event.stale == {"DB_PASSWORD"}
        assert KvConfig.state(app).stale == {"DB_PASSWORD"}


def _flask_cli(factory: Any) -> FlaskGroup:
    group = FlaskGroup(create_app=factory)
    group.add_command(cli)  # what the "flask.commands" entry point does for the installed package
    return group


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_flask_kvconfig_check_reports_broken_references_even_when_the_app_cannot_start(
    fake_keyvault: FakeKeyVault,
) -> None:
    def create_app() -> Flask:
        app = Flask("broken")
        app.config.update(DB_PASSWORD=ref("db"), API_KEY=ref("missing"))
        KvConfig(app)
        return app

    result = CliRunner().invoke(_flask_cli(create_app), ["kvconfig", "check"])

    assert result.exit_code == 1, result.output
    assert "API_KEY" in result.output
    assert "SecretNotFound" in result.output
    assert "DB_PASSWORD" in result.output
    assert result.stderr.strip().splitlines()[-1] == "1 of 2 references resolved."
    assert "pa55" not in result.output


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_flask_kvconfig_check_closes_the_resolver_it_made_for_the_app_it_loaded(fake_keyvault: FakeKeyVault) -> None:
    loaded: list[Flask] = []

    def create_app() -> Flask:
        app = Flask("checked")
        app.config.update(DB_PASSWORD=ref("db"))
        KvConfig(app)
        loaded.append(app)
        return app

    result = CliRunner().invoke(_flask_cli(create_app), ["kvconfig", "check"])

    assert result.exit_code == 0, result.output
    assert KvConfig.state(loaded[0]).resolver.closed


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_flask_kvconfig_check_passes_for_good_references(fake_keyvault: FakeKeyVault) -> None:
    def create_app() -> Flask:
        app = Flask("good")
        app.config.update(DB_PASSWORD=ref("db"))
        KvConfig(app)
        return app

    result = CliRunner().invoke(_flask_cli(create_app), ["kvconfig", "check", "--format", "json"])

    assert result.exit_code == 0, result.output
    assert '"status": "OK"' in result.output
    assert "pa55" not in result.output


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55", "api": "k3y"}})
def test_flask_kvconfig_status_names_what_check_found_failing(fake_keyvault: FakeKeyVault, make_app: Any) -> None:
    _kv, app = make_app({"DB_PASSWORD": ref("db"), "API_KEY": ref("api")})
    client = SecretClient(VAULT, fake_keyvault.credential(), transport=fake_keyvault.transport())
    client.update_secret_properties("api", enabled=False)  # disabled after the app started
    runner = app.test_cli_runner()

    assert runner.invoke(args=["kvconfig", "check"]).exit_code == 1
    status = runner.invoke(args=["kvconfig", "status"])

    assert status.exit_code == 0, status.output
    assert "resolved: True" not in status.output
    assert "resolved: False" in status.output
    assert "failing: API_KEY [SecretDisabled]" in status.output
    assert "references: API_KEY, DB_PASSWORD" in status.output
    assert "pa55" not in status.output


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_flask_kvconfig_status_names_failures_a_keeping_resolver_let_through(
    fake_keyvault: FakeKeyVault, make_app: Any
) -> None:
    with SecretResolver(on_failure="keep") as resolver:
        _kv, app = make_app({"DB_PASSWORD": ref("db"), "API_KEY": ref("missing")}, resolver=resolver)
        status = app.test_cli_runner().invoke(args=["kvconfig", "status"])

    assert app.config["API_KEY"] == ref("missing")
    assert "resolved: False" in status.output
    assert "failing: API_KEY [SecretNotFound]" in status.output


@pytest.mark.keyvault_secrets({"myvault": {"db": "pa55"}})
def test_flask_kvconfig_status_says_when_the_app_was_loaded_without_reading_the_vault(
    fake_keyvault: FakeKeyVault,
) -> None:
    def create_app() -> Flask:
        app = Flask("deferred")
        app.config.update(DB_PASSWORD=ref("db"))
        KvConfig(app)
        return app

    result = CliRunner().invoke(_flask_cli(create_app), ["kvconfig", "status"])

    assert "resolved: False (the app was loaded without reading the vault" in result.output
    assert "failing: -" in result.output
