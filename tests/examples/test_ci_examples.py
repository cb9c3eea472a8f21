"""The CI examples run as their runners would run them: each step's script in bash, with ``GITHUB_OUTPUT`` and
``GITHUB_ENV`` as temporary files (GitHub) or its ``##vso`` lines read back as the agent reads them (Azure Pipelines).
The one change from the files as written: ``--fake-vault examples/ci/vault.json`` instead of a login to Azure."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.test_pipelines import github_commands, github_file, vso_commands

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "examples" / "ci"
SEED = CI / "vault.json"
SECRETS: dict[str, str] = json.loads(SEED.read_text())["vaults"]["contoso-app"]["secrets"]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="the steps are bash scripts")


def step_env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    base = {key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "TF_BUILD"))}
    return {**base, "PATH": path, **extra}


def run_step(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One step as the runner runs it: ``bash -e``, stdout and stderr in one log."""
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )


def offline(script: str) -> str:
    return re.sub(r"^(kvconfig resolve .*)$", rf"\1 --fake-vault {SEED}", script.strip(), flags=re.MULTILINE)


def masked(log: str, masks: list[str]) -> str:
    """The log as the runner shows it: every registered value replaced by ***, longest first."""
    for value in sorted(masks, key=len, reverse=True):
        log = log.replace(value, "***")
    return log


def test_github_workflow_masks_every_value_before_anything_prints_it_and_feeds_the_next_step(tmp_path: Path) -> None:
    workflow: dict[str, Any] = yaml.safe_load((CI / "github-actions.yml").read_text())
    steps = {step.get("id") or step.get("name"): step for step in workflow["jobs"]["deploy"]["steps"]}
    output, environment = tmp_path / "output", tmp_path / "env"
    output.touch()
    environment.touch()

    fetch = run_step(
        offline(steps["kvSecrets"]["run"]),
        step_env(GITHUB_ACTIONS="true", GITHUB_OUTPUT=str(output), GITHUB_ENV=str(environment)),
    )

    assert fetch.returncode == 0, fetch.stdout
    registered = [data for command, data in github_commands(fetch.stdout) if command == "add-mask"]
    for value in SECRETS.values():
        assert value in registered
        assert all(line in registered for line in value.split("\n"))
    # Nothing but the commands themselves carries a value: the runner's log shows no secret.
    plain = [line for line in fetch.stdout.split("\n") if not line.startswith("::add-mask::")]
    assert not any(value in "\n".join(plain) for value in SECRETS.values())
    outputs, exported = github_file(output.read_text()), github_file(environment.read_text())
    assert outputs == SECRETS  # named as azure/get-keyvault-secrets names them
    assert exported == {name.upper().replace("-", "_"): value for name, value in SECRETS.items()}

    deploy = steps["Deploy"]
    env = {
        key: re.sub(r"\$\{\{ steps\.kvSecrets\.outputs\.([\w-]+) \}\}", lambda m: outputs[m.group(1)], text)
        for key, text in deploy["env"].items()
    }
    result = run_step(deploy["run"], step_env(**exported, **env))

    assert result.returncode == 0, result.stdout
    shown = masked(result.stdout, registered)
    assert f"Deploying with {len(SECRETS['db-connection-string'])} characters" in shown
    assert "the key is ***" in shown
    assert not any(value in shown for value in SECRETS.values())


def test_github_step_outside_a_runner_refuses_without_reveal(tmp_path: Path) -> None:
    result = run_step(
        f"kvconfig resolve --format github --vault contoso-app --secrets stripe-api-key --fake-vault {SEED}",
        step_env(GITHUB_OUTPUT=str(tmp_path / "o")),
    )

    assert result.returncode == 2
    assert "add --reveal" in result.stdout
    assert SECRETS["stripe-api-key"] not in result.stdout
    assert not (tmp_path / "o").exists()


def test_azure_pipeline_sets_secret_variables_as_the_keyvault_task_does() -> None:
    pipeline: dict[str, Any] = yaml.safe_load((CI / "azure-pipelines.yml").read_text())
    fetch_step = next(step for step in pipeline["steps"] if step.get("task") == "AzureCLI@2")

    fetch = run_step(offline(fetch_step["inputs"]["inlineScript"]), step_env(TF_BUILD="True"))

    assert fetch.returncode == 0, fetch.stdout
    commands = vso_commands(fetch.stdout)
    variables = {props["variable"]: data for name, props, data in commands if name == "task.setvariable"}
    assert variables == SECRETS
    assert all(props.get("issecret") == "true" for name, props, _d in commands if name == "task.setvariable")
    # The multi-line key's lines are registered as secrets before its variable is set.
    setsecrets = [i for i, (name, _p, _d) in enumerate(commands) if name == "task.setsecret"]
    jwt_index = next(i for i, (_n, props, _d) in enumerate(commands) if props.get("variable") == "jwt-signing-key")
    assert len(setsecrets) == 3
    assert max(setsecrets) < jwt_index

    deploy = next(step for step in pipeline["steps"] if step.get("displayName") == "Deploy")
    env = {key: re.sub(r"\$\(([\w-]+)\)", lambda m: variables[m.group(1)], text) for key, text in deploy["env"].items()}
    result = run_step(deploy["script"], step_env(**env))
    assert f"Deploying with {len(SECRETS['db-connection-string'])} characters" in result.stdout


def test_azure_pipeline_star_filter_reads_every_enabled_secret() -> None:
    result = run_step(
        f"kvconfig resolve --format azure-pipelines --vault contoso-app --secrets '*' --fake-vault {SEED}",
        step_env(TF_BUILD="True"),
    )

    assert result.returncode == 0, result.stdout
    variables = {props["variable"] for name, props, _d in vso_commands(result.stdout) if name == "task.setvariable"}
    assert variables == set(SECRETS)
