"""The CLI loads what a command needs when it runs (``kvconfig/cli/_lazy.py``): ``import kvconfig.cli`` and
``kvconfig --help`` import no command and none of the heavy libraries, ``kvconfig fake serve`` none of the resolver's.

Each check runs in a fresh interpreter (``sys.modules`` of this one is full of everything the suite imported).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

import kvconfig
from kvconfig.cli import cli

# What the start-up of the CLI, and of the emulator, no longer pays for.
HEAVY = (
    "pydantic",
    "pydantic_settings",
    "rich",
    "azure.keyvault",
    "azure.identity",
    "azure.appconfiguration",
    "dotenv",
    "yaml",
    "httpx",
    "websockets",
    "wsproto",
    "kvconfig.resolve",
    "kvconfig.sources",
    "kvconfig.platforms",
    "kvconfig.mount",
)
# ``import kvconfig.cli`` also leaves the fake, the SDK's core, asyncio and uvicorn alone.
HEAVY_FOR_IMPORT = (*HEAVY, "kvconfig.fake", "azure", "asyncio", "uvicorn", "cryptography", "jwt")


def _loaded_after(code: str) -> set[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def _offenders(modules: set[str], heavy: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(f"{h}.") for h in heavy))


def test_import_kvconfig_cli_imports_no_command_and_no_heavy_library() -> None:
    loaded = _loaded_after("import kvconfig.cli")

    assert _offenders(loaded, HEAVY_FOR_IMPORT) == []
    assert sorted(m for m in loaded if m.startswith("kvconfig.cli.")) == ["kvconfig.cli._lazy", "kvconfig.cli._main"]


def test_import_kvconfig_loads_its_public_names_on_first_use() -> None:
    loaded = _loaded_after("import kvconfig")
    assert _offenders(loaded, HEAVY_FOR_IMPORT) == []

    used = _loaded_after("from kvconfig import SecretResolver, from_dotenv")
    assert {"kvconfig.resolve", "kvconfig.sources"} <= used


def test_help_lists_every_command_without_importing_one() -> None:
    code = (
        "import io, contextlib\nfrom kvconfig.cli import cli\nout = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n    cli.main(['--help'], prog_name='kvconfig', standalone_mode=False)\n"
        "assert 'Commands:' in out.getvalue(), out.getvalue()"
    )
    loaded = _loaded_after(code)

    assert _offenders(loaded, HEAVY_FOR_IMPORT) == []
    assert not [
        m for m in loaded if m.startswith("kvconfig.cli.") and m not in {"kvconfig.cli._lazy", "kvconfig.cli._main"}
    ]


def test_the_help_listed_for_each_command_is_the_commands_own() -> None:
    context = click.Context(cli, max_content_width=200)
    for name, entry in cli.lazy_commands.items():
        command = cli.load(name)
        assert command.name == name
        for limit in (30, 45, 80, 1000):
            listed = click.Command(name, help=entry.short_help).get_short_help_str(limit)
            assert listed == command.get_short_help_str(limit), (name, limit)
    assert cli.list_commands(context) == ["check", "fake", "fleet", "inject", "mount", "resolve", "run"]


def test_every_public_name_of_kvconfig_is_in_the_lazy_table() -> None:
    table = vars(kvconfig)["_LAZY"]
    assert sorted([*table, "__version__"]) == sorted(kvconfig.__all__)
    for name, module in table.items():
        assert getattr(kvconfig, name).__module__.startswith(module), name
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = kvconfig.nothing  # type: ignore[attr-defined]


def test_fake_serve_starts_without_the_resolver_rich_pydantic_or_websockets(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    ready = tmp_path / "ready.json"
    command = [sys.executable, "-X", "importtime", "-m", "kvconfig", "fake", "serve", "--port", "0"]
    command += ["--cert-dir", str(tmp_path / "certs"), "--ready-file", str(ready)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert process.poll() is None, process.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.02)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    # -X importtime writes one "import time: self | cumulative | name" line per module imported
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "uvicorn" in imported  # the parse saw the real imports
    assert "kvconfig.fake.serve.emulator" in imported
    assert _offenders(imported, HEAVY) == []
