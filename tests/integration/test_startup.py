"""resolve_environ: references in the environment and .env files resolved into an environ mapping, written only
after everything resolved."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kvconfig import ResolutionError, SecretResolver, resolve_environ
from kvconfig.fake import FakeKeyVault

from .conftest import VAULT, ref


def test_resolve_environ_writes_resolved_values_and_file_plain_values(
    fake: FakeKeyVault, resolver: SecretResolver, tmp_path: Path
) -> None:
    fake.set_secret(VAULT, "db", "env-db-value")
    fake.set_secret(VAULT, "api", "file-api-value")
    env_file = tmp_path / ".env"
    env_file.write_text(f"API={ref('api')}\nMODE=file\nHOME_DIR=/from/file\n")
    environ = {"DB": ref("db"), "HOME_DIR": "/from/env", "PLAIN": "p"}

    written = resolve_environ(resolver, env_files=[env_file], environ=environ)

    assert environ == {
        "DB": "env-db-value",
        "API": "file-api-value",
        "MODE": "file",
        "HOME_DIR": "/from/env",  # the environment wins over files unless override=True
        "PLAIN": "p",
    }
    assert set(written) == {"DB", "API", "MODE"}
    assert "env-db-value" not in repr(written)


def test_resolve_environ_override_lets_files_win(resolver: SecretResolver, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("HOME_DIR=/from/file\n")
    environ = {"HOME_DIR": "/from/env"}

    resolve_environ(resolver, env_files=[env_file], environ=environ, override=True)

    assert environ == {"HOME_DIR": "/from/file"}


def test_resolve_environ_writes_nothing_when_anything_fails(
    fake: FakeKeyVault, make_resolver: Callable[..., SecretResolver], tmp_path: Path
) -> None:
    fake.set_secret(VAULT, "db", "never-written")
    env_file = tmp_path / ".env"
    env_file.write_text(f"MISSING={ref('missing')}\nMODE=file\n")
    environ = {"DB": ref("db")}

    with pytest.raises(ResolutionError) as caught:
        resolve_environ(make_resolver(), env_files=[env_file], environ=environ)

    assert environ == {"DB": ref("db")}
    assert caught.value.failures[0].origin == f"{env_file}:1"


def test_resolve_environ_builds_and_closes_its_own_resolver_under_patch(
    fake: FakeKeyVault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.set_secret(VAULT, "db", "patched-value")
    environ = {"DB": ref("db")}

    with fake.patch():  # DefaultAzureCredential and aiohttp, as in production, reach the fake
        resolve_environ(environ=environ)

    assert environ == {"DB": "patched-value"}
