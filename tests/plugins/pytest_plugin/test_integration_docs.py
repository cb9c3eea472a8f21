"""The testing sections of docs/integrations/*.md run as written: their Python blocks become an inner pytest
session against the small apps they describe, so the docs cannot drift from the plugin and the integrations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DOCS = Path(__file__).resolve().parents[3] / "docs" / "integrations"

SETTINGS = """
from pydantic import SecretStr

from kvconfig.settings import KeyVaultSettings, KeyVaultSettingsConfigDict


class Settings(KeyVaultSettings):
    model_config = KeyVaultSettingsConfigDict(
        env_prefix="APP_", env_file=".env", keyvault_url="https://contoso-app.vault.azure.net"
    )
    db_password: SecretStr
    api_key: SecretStr
"""

WEB = """
from typing import Annotated

from fastapi import Depends, FastAPI
from kvconfig_fastapi import KvConfig

from myapp.settings import Settings

kv = KvConfig(Settings, refresh_interval=300)
app = FastAPI(lifespan=kv.lifespan)
app.include_router(kv.health_router())
app.include_router(kv.eventgrid_router(token="..."))


@app.get("/")
def index(settings: Annotated[Settings, Depends(kv.settings)]):
    return {"api_key_length": len(settings.api_key.get_secret_value())}
"""

FLASK = """
from flask import Flask
from kvconfig_flask import KvConfig

kv = KvConfig()


def create_app():
    app = Flask(__name__)
    app.config.from_prefixed_env()
    kv.init_app(app, refresh_interval=300)

    @app.get("/")
    def index():
        return {"db_password_length": len(app.config["DB_PASSWORD"])}

    return app
"""

DJANGO_SETTINGS = """
import os

from kvconfig_django import resolve_settings

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "@Microsoft.KeyVault(VaultName=contoso-app;SecretName=django-key)")
INSTALLED_APPS = ["kvconfig_django"]
DATABASES = {}
USE_TZ = True

resolve_settings(globals())
"""

# The conftest.py of the page resolved settings.py against its session-wide fake.
SETTINGS_PY_RESOLVED = """

def test_settings_py_resolved_against_the_session_fake():
    from django.conf import settings

    assert settings.SECRET_KEY == "test-django-key"
"""


def python_blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text[text.index("## Testing") :], re.S)


def run(pytester: pytest.Pytester, files: dict[str, str], tests: str) -> pytest.RunResult:
    pytester.makeini(
        "[pytest]\n"
        "addopts = -p no:cacheprovider -p no:hypothesispytest\n"
        "filterwarnings =\n    error\n    ignore:.*httpx.*starlette.testclient\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )
    for path, content in files.items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    pytester.makepyfile(test_doc=tests)
    # A subprocess: Django's settings load once per process, and the apps are imported afresh.
    return pytester.runpytest_subprocess()


def test_pydantic_page_testing_section_runs(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pydantic_settings")
    result = run(
        pytester, {"myapp/__init__.py": "", "myapp/settings.py": SETTINGS}, "\n".join(python_blocks("pydantic.md"))
    )
    result.assert_outcomes(passed=6)


def test_fastapi_page_testing_section_runs(pytester: pytest.Pytester) -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    files = {"myapp/__init__.py": "", "myapp/settings.py": SETTINGS, "myapp/web.py": WEB}
    result = run(pytester, files, "\n".join(python_blocks("fastapi.md")))
    result.assert_outcomes(passed=3)


def test_flask_page_testing_section_runs(pytester: pytest.Pytester) -> None:
    pytest.importorskip("flask")
    result = run(pytester, {"myapp/__init__.py": FLASK}, "\n".join(python_blocks("flask.md")))
    result.assert_outcomes(passed=6)


def test_django_page_testing_section_runs(pytester: pytest.Pytester) -> None:
    pytest.importorskip("django")
    conftest, tests = python_blocks("django.md")
    files = {
        "conftest.py": conftest,
        "vault.json": '{"vaults": {"contoso-app": {"secrets": {"django-key": "test-django-key"}}}}',
        "mysite/__init__.py": "",
        "mysite/settings.py": DJANGO_SETTINGS,
    }
    result = run(pytester, files, tests + SETTINGS_PY_RESOLVED)
    result.assert_outcomes(passed=7)
