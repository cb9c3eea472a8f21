"""``resolve --format azure-pipelines`` with ``--appconfig``: Azure Pipelines variable names are case-insensitive and
become environment variables upper-cased with ``.`` as ``_``, so two store keys that differ only there would set one
variable, the later silently winning. They are refused like ``run``'s and ``github``'s, before a command is printed."""

from __future__ import annotations

from pathlib import Path

from .appconfig_cli_support import STORE, invoke, write_seed

SECRET = "CLI-APPCONFIG-PIPELINE-SECRET-7f3a"
COMMON = ("--appconfig", STORE, "--key-filter", "app:*", "--trim-prefix", "app:", "--format", "azure-pipelines")


def test_two_keys_of_one_pipeline_variable_are_refused_before_any_command(tmp_path: Path) -> None:
    seed = write_seed(tmp_path, {"db-password": SECRET}, {"key": "app:Db:Password", "value": "another"})

    result = invoke("resolve", "--fake-vault", seed, *COMMON, env={"TF_BUILD": "True"})

    assert result.exit_code == 1, result.output
    assert "keys 'app:Db:Password' (no label) and 'app:db:password' (no label) both map to" in result.stderr
    assert "##vso" not in result.stdout
    assert SECRET not in result.output


def test_distinct_keys_still_set_their_variables(tmp_path: Path) -> None:
    seed = write_seed(tmp_path, {"db-password": SECRET})

    result = invoke("resolve", "--fake-vault", seed, *COMMON, env={"TF_BUILD": "True"})

    assert result.exit_code == 0, result.output
    assert f"##vso[task.setvariable variable=db:password;issecret=true]{SECRET}" in result.stdout


def test_a_key_with_a_slash_also_sets_its_short_name_so_a_sibling_collides(tmp_path: Path) -> None:
    # set_variable_commands sets both 'a/b' and 'a' (the AzureKeyVault task's name/version mirror): 'app:cert/old'
    # and 'app:cert/new' would both set 'cert', the later silently winning.
    seed = write_seed(
        tmp_path, {"db-password": SECRET}, {"key": "app:cert/old", "value": "1"}, {"key": "app:cert/new", "value": "2"}
    )

    result = invoke("resolve", "--fake-vault", seed, *COMMON, env={"TF_BUILD": "True"})

    assert result.exit_code == 1, result.output
    assert "keys 'app:cert/new' (no label) and 'app:cert/old' (no label) both map to 'CERT'" in result.stderr
    assert "##vso" not in result.stdout
