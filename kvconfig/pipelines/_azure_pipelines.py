"""Azure Pipelines: ``##vso[task.setvariable ...]`` logging commands, as the ``AzureKeyVault@2`` task issues them.

The agent reads ``##vso[area.event properties]data`` lines from a step's output. ``azure-pipelines-task-lib`` escapes
a command's data (``%`` -> ``%AZP25``, ``\\r`` -> ``%0D``, ``\\n`` -> ``%0A``) and its property values (the same and
``]`` -> ``%5D``, ``;`` -> ``%3B``), and the agent decodes them; kvconfig escapes the same way, so a value can never
end the command and start another.

The task's rules, kept here:

- ``SecretsFilter``: ``*`` (or empty) downloads every enabled secret that has not expired; otherwise a comma
  separated list of names, each trimmed. A name may carry a version, ``name/version``: the variable is then set
  under both ``name`` and ``name/version``.
- Every variable is a secret variable (``issecret=true``); an empty value sets nothing.
- A multi-line value that is a JSON object or array is flattened to one line; any other multi-line value has each of
  its lines registered with ``##vso[task.setsecret]`` first, so the agent masks the pieces of the value too.
"""

from __future__ import annotations

import json

__all__ = ["escape_logging_data", "escape_logging_property", "parse_secrets_filter", "set_variable_commands"]


def escape_logging_data(text: str) -> str:
    """A logging command's data, escaped as ``azure-pipelines-task-lib`` does."""
    return text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def escape_logging_property(text: str) -> str:
    """A logging command's property value, escaped as ``azure-pipelines-task-lib`` does."""
    return escape_logging_data(text).replace("]", "%5D").replace(";", "%3B")


def parse_secrets_filter(text: str) -> list[str] | None:
    """The secret names of a ``SecretsFilter``, or ``None`` for every secret (``*`` or nothing)."""
    names = [name.strip() for name in text.split(",")]
    names = [name for name in names if name]
    if not names or names == ["*"]:
        return None
    return list(dict.fromkeys(names))


def _flattened_json(text: str) -> str | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if isinstance(parsed, (dict, list)):
        return json.dumps(parsed, separators=(",", ":"), ensure_ascii=False)
    return None


def set_variable_commands(name: str, value: str, *, secret: bool = True) -> list[str]:
    """The lines that set ``name`` (and ``name/version``'s short name) to ``value`` in the pipeline."""
    if not value:
        return []
    lines: list[str] = []
    if "\n" in value and secret:
        flat = _flattened_json(value)
        if flat is not None:
            value = flat
        else:
            lines.extend(
                f"##vso[task.setsecret]{escape_logging_data(line)}" for line in value.split("\n") if line.strip()
            )
    names = list(dict.fromkeys([name.split("/")[0], name]))
    flag = ";issecret=true" if secret else ""
    for variable in names:
        lines.append(
            f"##vso[task.setvariable variable={escape_logging_property(variable)}{flag}]{escape_logging_data(value)}"
        )
    return lines
