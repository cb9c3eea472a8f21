"""CI/CD pipelines: handing resolved secrets to GitHub Actions and Azure Pipelines as their own tasks do.

``kvconfig resolve --format github`` and ``--format azure-pipelines`` print through this package: masks and
``$GITHUB_OUTPUT``/``$GITHUB_ENV`` entries as ``azure/get-keyvault-secrets`` writes them, ``##vso`` logging commands as
``AzureKeyVault@2`` issues them, and the ``*`` secrets filter both tasks share. See docs/platforms/ci-cd.md.
"""

from __future__ import annotations

from kvconfig.pipelines._azure_pipelines import (
    escape_logging_data,
    escape_logging_property,
    parse_secrets_filter,
    set_variable_commands,
)
from kvconfig.pipelines._github import (
    PipelineOutputError,
    append_file_command,
    escape_command_data,
    file_command,
    github_env_name,
    mask_commands,
)
from kvconfig.pipelines._listing import MAX_LISTED, list_enabled_secrets

__all__ = [
    "MAX_LISTED",
    "PipelineOutputError",
    "append_file_command",
    "escape_command_data",
    "escape_logging_data",
    "escape_logging_property",
    "file_command",
    "github_env_name",
    "list_enabled_secrets",
    "mask_commands",
    "parse_secrets_filter",
    "set_variable_commands",
]
