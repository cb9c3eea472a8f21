"""The plugin costs nothing at pytest start: pytest loads it in every project that has kvconfig installed, so loading
it must not import kvconfig, the Azure SDK, aiohttp, cryptography or msal; they come when a fixture first runs.

Each check runs pytest in a fresh interpreter (the test process has imported all of them long ago).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

HEAVY = ("azure", "aiohttp", "cryptography", "msal", "kvconfig")

# Runs pytest with a plugin of its own that reports, when the session ends, which heavy packages are imported.
RUNNER = textwrap.dedent(
    """
    import json, sys
    import pytest

    HEAVY = {heavy!r}

    class Report:
        def pytest_sessionfinish(self, session):
            loaded = sorted(name for name in HEAVY if name in sys.modules)
            plugin = "pytest_kvconfig.plugin" in sys.modules
            with open(sys.argv[1], "w") as out:
                json.dump({{"loaded": loaded, "plugin": plugin}}, out)

    sys.exit(pytest.main(sys.argv[2:], plugins=[Report()]))
    """
).format(heavy=HEAVY)


def run_session(directory: Path, *args: str) -> dict[str, object]:
    report = directory / "report.json"
    subprocess.run(
        [sys.executable, "-c", RUNNER, str(report), "-q", "-p", "no:cacheprovider", "-W", "ignore", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    result: dict[str, object] = json.loads(report.read_text())
    return result


def test_loading_the_plugin_imports_neither_kvconfig_nor_the_azure_sdk(tmp_path: Path) -> None:
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    with_plugin = run_session(tmp_path)
    without_plugin = run_session(tmp_path, "-p", "no:kvconfig")
    assert with_plugin["plugin"] is True  # pytest did load it (through the pytest11 entry point)
    assert without_plugin["plugin"] is False
    assert with_plugin["loaded"] == without_plugin["loaded"] == []


def test_importing_the_plugin_package_imports_nothing_heavy() -> None:
    code = (
        "import sys, pytest_kvconfig, pytest_kvconfig.plugin\n"
        f"print([name for name in {HEAVY!r} if name in sys.modules])\n"
        "from pytest_kvconfig import KeyVaultEnv, KeyVaultReferenceFactory\n"  # the public names still work
        "print(KeyVaultEnv.__name__, KeyVaultReferenceFactory.__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.splitlines() == ["[]", "KeyVaultEnv pytest_kvconfig._references"]


def test_the_fixture_imports_what_it_needs_when_first_used(tmp_path: Path) -> None:
    (tmp_path / "test_fake.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from azure.keyvault.secrets import SecretClient
            from azure.identity import DefaultAzureCredential

            @pytest.mark.keyvault_secrets({"myvault": {"db-password": "s3cret"}})
            def test_reads(fake_keyvault):
                client = SecretClient("https://myvault.vault.azure.net", DefaultAzureCredential())
                assert client.get_secret("db-password").value == "s3cret"
            """
        )
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = run_session(tmp_path, "-p", "no:hypothesispytest")
    assert "kvconfig" in result["loaded"]  # type: ignore[operator]
    assert "azure" in result["loaded"]  # type: ignore[operator]
