"""Extras stay optional: ``import kvconfig`` loads no framework, and each integration without its framework fails
at import with an install hint (checked in a subprocess where the framework is made unimportable)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

FRAMEWORKS = ("fastapi", "starlette", "flask", "django", "pydantic_settings", "pydantic")


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False
    )


def test_import_kvconfig_imports_no_framework() -> None:
    result = python(
        f"""
        import sys
        import kvconfig, kvconfig.fake
        print(sorted(name for name in {FRAMEWORKS!r} if name in sys.modules))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "framework", "extra"),
    [
        ("kvconfig_fastapi", "fastapi", "fastapi"),
        ("kvconfig_flask", "flask", "flask"),
        ("kvconfig_django", "django", "django"),
        ("kvconfig.settings", "pydantic_settings", "settings"),
    ],
)
def test_integration_without_its_framework_fails_with_an_install_hint(module: str, framework: str, extra: str) -> None:
    result = python(
        f"""
        import sys
        sys.modules[{framework!r}] = None  # as if it were not installed
        try:
            import {module}
        except ImportError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert f"pip install 'kvconfig[{extra}]'" in result.stdout
