"""The CI runners' wire formats: what kvconfig prints and appends is read back by a decoder that follows the runners'
own parsing rules (GitHub's ``::command::data`` and file commands, the Azure Pipelines agent's ``##vso[...]``), so a
value with ``%``, ``\\r``, ``\\n``, ``::`` or ``]`` in it comes back whole and never forms a second command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvconfig.pipelines import (
    PipelineOutputError,
    append_file_command,
    escape_command_data,
    file_command,
    github_env_name,
    mask_commands,
    parse_secrets_filter,
    set_variable_commands,
)

NASTY = "p%w\r\n::add-mask::x\n##vso[task.setvariable variable=PATH]/evil;]%0A%AZP25"


def github_commands(stdout: str) -> list[tuple[str, str]]:
    """(command, data) per line, as the runner reads them: a command starts a line; data is unescaped."""
    found = []
    for line in stdout.split("\n"):  # the runner reads its output line by line, at "\n"
        if line.startswith("::"):
            command, _, data = line[2:].partition("::")
            found.append((command, data.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")))
    return found


def github_file(text: str) -> dict[str, str]:
    """A $GITHUB_OUTPUT file read as the runner reads it (NAME<<DELIM ... DELIM, or NAME=value)."""
    entries: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if "<<" in line:
            name, _, delimiter = line.partition("<<")
            end = lines.index(delimiter, index + 1)
            entries[name] = "\n".join(lines[index + 1 : end])
            index = end + 1
        else:
            if line:
                name, _, value = line.partition("=")
                entries[name] = value
            index += 1
    return entries


def vso_commands(stdout: str) -> list[tuple[str, dict[str, str], str]]:
    """(area.event, properties, data) per line, as the agent reads them: the first ``##vso[`` and the next ``]``."""
    found = []
    for line in stdout.split("\n"):
        start = line.find("##vso[")
        if start < 0:
            continue
        end = line.find("]", start)
        head, data = line[start + 6 : end], line[end + 1 :]
        command, _, props = head.partition(" ")
        properties = {}
        for pair in filter(None, props.split(";")):
            key, _, value = pair.partition("=")
            properties[key.lower()] = (
                value.replace("%0D", "\r").replace("%0A", "\n").replace("%5D", "]").replace("%3B", ";")
            ).replace("%AZP25", "%")
        data = data.replace("%0D", "\r").replace("%0A", "\n").replace("%AZP25", "%")
        found.append((command, properties, data))
    return found


def test_add_mask_escapes_percent_and_line_breaks_as_actions_core_does() -> None:
    assert escape_command_data("50%\r\nx") == "50%25%0D%0Ax"


def test_mask_commands_register_the_whole_value_and_each_line_and_decode_back() -> None:
    lines = mask_commands([NASTY])

    decoded = github_commands("\n".join(lines))

    assert all(command == "add-mask" for command, _data in decoded)
    assert decoded[0][1] == NASTY
    assert {"p%w", "::add-mask::x"} <= {data for _c, data in decoded}
    assert len(decoded) == len(lines)  # one command per line: nothing in the value started another


def test_mask_commands_skip_blank_values_and_lines() -> None:
    assert mask_commands(["", "  ", "a\n\nb"]) == ["::add-mask::a%0A%0Ab", "::add-mask::a", "::add-mask::b"]


@given(st.text(max_size=200))
def test_any_value_survives_a_file_command_whole(value: str) -> None:
    assert github_file(file_command("out", value.replace("\r", ""))) == {"out": value.replace("\r", "")}


@given(st.text(max_size=200))
def test_any_value_survives_a_mask_command_whole_and_alone(value: str) -> None:
    if not value.strip():
        return
    decoded = github_commands(mask_commands([value])[0])
    assert decoded == [("add-mask", value)]


def test_file_command_refuses_a_value_holding_its_delimiter() -> None:
    with pytest.raises(PipelineOutputError, match="delimiter"):
        file_command("out", "a\nEOF\nb", delimiter="EOF")


@pytest.mark.parametrize("name", ["", "a=b", "a<<b", "a\nb"])
def test_file_command_refuses_names_the_runner_would_misread(name: str) -> None:
    with pytest.raises(PipelineOutputError):
        file_command(name, "v")


def test_env_names_follow_get_keyvault_secrets() -> None:
    assert github_env_name("db-connection-string") == "DB_CONNECTION_STRING"


def test_append_file_command_appends_and_refuses_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "github_output"
    target.write_text("earlier=1\n")
    append_file_command(target, {"a": "x\ny"})
    append_file_command(target, {"b": "z"})
    assert github_file(target.read_text()) == {"earlier": "1", "a": "x\ny", "b": "z"}

    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(PipelineOutputError, match="symbolic link"):
        append_file_command(link, {"a": "x"})
    assert not (tmp_path / "elsewhere").exists()


def test_append_file_command_creates_a_missing_file_private(tmp_path: Path) -> None:
    target = tmp_path / "new"
    append_file_command(target, {"a": "x"})
    assert os.stat(target).st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("*", None),
        ("", None),
        (" * ", None),
        ("a, b ,a", ["a", "b"]),
        ("db-password,api-key", ["db-password", "api-key"]),
    ],
)
def test_secrets_filter_is_star_or_a_trimmed_comma_list(text: str, names: list[str] | None) -> None:
    assert parse_secrets_filter(text) == names


def test_setvariable_escapes_data_and_properties_so_nothing_is_injected() -> None:
    lines = set_variable_commands("db;x]y", "v%1]")

    assert vso_commands("\n".join(lines)) == [("task.setvariable", {"variable": "db;x]y", "issecret": "true"}, "v%1]")]


def test_setvariable_multiline_registers_each_line_then_the_value() -> None:
    decoded = vso_commands("\n".join(set_variable_commands("pem", NASTY)))

    setsecrets = [data for command, _p, data in decoded if command == "task.setsecret"]
    assert setsecrets == [line for line in NASTY.split("\n") if line.strip()]
    assert decoded[-1] == ("task.setvariable", {"variable": "pem", "issecret": "true"}, NASTY)
    assert len(decoded) == len(NASTY.split("\n")) + 1  # the ##vso inside the value never became a command


def test_setvariable_flattens_multiline_json_like_the_task() -> None:
    assert set_variable_commands("cfg", '{\n  "a": [1, 2]\n}') == [
        '##vso[task.setvariable variable=cfg;issecret=true]{"a":[1,2]}'
    ]


def test_setvariable_sets_a_versioned_name_under_both_names_and_skips_empty_values() -> None:
    decoded = vso_commands("\n".join(set_variable_commands("db/0123", "v")))

    assert [props["variable"] for _c, props, _d in decoded] == ["db", "db/0123"]
    assert set_variable_commands("db", "") == []


def test_plain_setvariable_is_not_secret() -> None:
    assert set_variable_commands("greeting", "hi", secret=False) == ["##vso[task.setvariable variable=greeting]hi"]
