"""Readers of settings: .env (line origins, interpolation), JSON/YAML/TOML (nested keys flattened as a.b[0].c,
origins file:line, render back in place), and SourceError naming the file and line, never a value."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

from kvconfig import SourceError, from_dotenv, from_environ, from_file, from_mapping
from kvconfig.sources import dotenv_quote

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REF = "@Microsoft.KeyVault(VaultName=contoso;SecretName=db)"
REF2 = "@Microsoft.KeyVault(VaultName=contoso;SecretName=api)"
HIDDEN = "UNIT-SOURCE-SECRET-41"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_dotenv_keeps_the_line_of_each_variable(tmp_path: Path) -> None:
    path = _write(tmp_path, "app.env", f"# comment\nNAME=app\n\nexport DB={REF}\nQUOTED='a b'\nEMPTY=\n")

    source = from_dotenv(path)

    assert source.settings == {"NAME": "app", "DB": REF, "QUOTED": "a b", "EMPTY": ""}
    assert source.origins == {
        "NAME": f"{path}:2",
        "DB": f"{path}:4",
        "QUOTED": f"{path}:5",
        "EMPTY": f"{path}:6",
    }
    assert source.kind == "dotenv"


def test_dotenv_interpolates_earlier_variables_unless_disabled(tmp_path: Path) -> None:
    path = _write(tmp_path, ".env", 'VAULT=contoso\nDB="@Microsoft.KeyVault(VaultName=${VAULT};SecretName=db)"\n')

    assert from_dotenv(path).settings["DB"] == REF
    assert from_dotenv(path, interpolate=False).settings["DB"].count("${VAULT}") == 1


def test_dotenv_later_definition_wins_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.env", "A=1\nA=2\n")

    source = from_dotenv(path)

    assert source.settings["A"] == "2"
    assert source.origins["A"] == f"{path}:2"


def test_dotenv_bad_line_is_a_source_error_with_file_and_line_and_no_value(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.env", f"GOOD=1\nPASSWORD='{HIDDEN}\nNEXT=2\n")

    with pytest.raises(SourceError) as caught:
        from_dotenv(path)

    assert f"{path}:2" in str(caught.value)
    assert HIDDEN not in str(caught.value)


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="Cannot read"):
        from_file(tmp_path / "absent.env")


def test_unknown_file_kind_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="Cannot tell the format"):
        from_file(_write(tmp_path, "settings.ini", "a=1"))


def test_json_nested_keys_are_flattened_with_origins(tmp_path: Path) -> None:
    document = {
        "database": {"password": REF, "port": 5432},
        "servers": [{"url": "https://a", "token": REF2}, {"url": "https://b", "token": REF2}],
        "debug": False,
    }
    path = _write(tmp_path, "config.json", json.dumps(document, indent=2))

    source = from_file(path)

    assert source.settings == {
        "database.password": REF,
        "database.port": 5432,
        "servers[0].url": "https://a",
        "servers[0].token": REF2,
        "servers[1].url": "https://b",
        "servers[1].token": REF2,
        "debug": False,
    }
    lines = path.read_text().splitlines()
    for key in ("database.password", "servers[0].token", "servers[1].token", "database.port"):
        number = int(source.origins[key].rsplit(":", 1)[1])
        leaf = key.rsplit(".", 1)[-1]
        assert f'"{leaf}"' in lines[number - 1], key
    assert source.origins["servers[0].token"] != source.origins["servers[1].token"]


def test_yaml_nested_keys_are_flattened_with_exact_lines(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    text = (
        f"app:\n  name: demo\n  db:\n    password: '{REF}'\n"
        f"list:\n  - '{REF2}'\n  - 3\n  - nested:\n      key: '{REF2}'\n"
    )
    path = _write(tmp_path, "config.yaml", text)

    source = from_file(path)

    assert source.settings == {
        "app.name": "demo",
        "app.db.password": REF,
        "list[0]": REF2,
        "list[1]": 3,
        "list[2].nested.key": REF2,
    }
    assert source.origins["app.db.password"] == f"{path}:4"
    assert source.origins["list[0]"] == f"{path}:6"
    assert source.origins["list[1]"] == f"{path}:7"
    assert source.origins["list[2].nested.key"] == f"{path}:9"


def test_toml_nested_keys_are_flattened_with_origins(tmp_path: Path) -> None:
    text = f'title = "demo"\n\n[database]\npassword = "{REF}"\nport = 5432\n\n[[servers]]\ntoken = "{REF2}"\n'
    path = _write(tmp_path, "config.toml", text)

    source = from_file(path)

    assert source.settings == {
        "title": "demo",
        "database.password": REF,
        "database.port": 5432,
        "servers[0].token": REF2,
    }
    assert source.origins["database.password"] == f"{path}:4"
    assert source.origins["database.port"] == f"{path}:5"
    assert source.origins["servers[0].token"] == f"{path}:8"


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("bad.json", f'{{\n  "a": 1,\n  "password": "{HIDDEN}"\n  "b": 2\n}}', 4),
        ("bad.toml", f'a = 1\npassword = "{HIDDEN}\nb = 2\n', 2),
        ("bad.yaml", f"a: 1\npassword: '{HIDDEN}\nb: [\n", 4),
    ],
)
def test_malformed_structured_file_is_a_source_error_with_line_and_no_value(
    tmp_path: Path, name: str, text: str, line: int
) -> None:
    if name.endswith(".yaml"):
        pytest.importorskip("yaml")
    path = _write(tmp_path, name, text)

    with pytest.raises(SourceError) as caught:
        from_file(path)

    message = str(caught.value)
    assert str(path) in message
    assert f"line {line}" in message
    assert HIDDEN not in message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_top_level_scalar_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="at the top"):
        from_file(_write(tmp_path, "x.json", '"just a string"'))


def test_render_puts_resolved_values_back_in_place(tmp_path: Path) -> None:
    path = _write(tmp_path, "c.json", json.dumps({"db": {"password": REF, "port": 1}, "list": [REF2, "x"]}))
    source = from_file(path)

    data = source.render({"db.password": "pw", "list[0]": "tok"})

    assert data == {"db": {"password": "pw", "port": 1}, "list": ["tok", "x"]}
    assert source.data["db"]["password"] == REF  # the source itself is untouched


@pytest.mark.parametrize("name", ["c.json", "c.yaml", "c.toml"])
def test_render_text_round_trips_structured_files(tmp_path: Path, name: str) -> None:
    pytest.importorskip("yaml")
    document = {"title": "t", "db": {"password": REF, "port": 5432, "on": True}, "servers": [{"token": REF2}]}
    if name.endswith(".json"):
        text = json.dumps(document)
    elif name.endswith(".yaml"):
        import yaml

        text = yaml.safe_dump(document)
    else:
        text = f'title = "t"\n[db]\npassword = "{REF}"\nport = 5432\non = true\n[[servers]]\ntoken = "{REF2}"\n'
    source = from_file(_write(tmp_path, name, text))

    rendered = source.render_text({"db.password": "pw'\"\\x", "servers[0].token": "tok"})
    again = from_file(_write(tmp_path, "again-" + name, rendered))

    assert again.settings["db.password"] == "pw'\"\\x"
    assert again.settings["servers[0].token"] == "tok"
    assert again.settings["db.port"] == 5432
    assert again.settings["db.on"] is True
    assert again.settings["title"] == "t"
    if name.endswith(".toml"):
        assert tomllib.loads(rendered)["db"]["port"] == 5432


def test_render_text_of_a_dotenv_file_keeps_comments_and_rewrites_only_resolved_lines(tmp_path: Path) -> None:
    text = f"# header\nNAME=app\nexport DB={REF}\n\n# tail\n\nAPI={REF2}"
    source = from_file(_write(tmp_path, "app.env", text))

    rendered = source.render_text({**source.settings, "DB": "multi\nline 'pw' \\ $x", "API": "k"})

    assert rendered.splitlines()[:2] == ["# header", "NAME=app"]
    assert rendered.startswith("# header\nNAME=app\nexport DB='")
    assert "\n\n# tail\n\nAPI='k'" in rendered
    assert not rendered.endswith("\n")
    reread = dotenv_values(stream=__import__("io").StringIO(rendered))
    assert reread["DB"] == "multi\nline 'pw' \\ $x"
    assert reread["NAME"] == "app"


@pytest.mark.parametrize("value", ["", "plain", "it's", "back\\slash", 'dq"', "new\nline", "tab\there", "$HOME"])
def test_dotenv_quote_round_trips_through_python_dotenv(value: str) -> None:
    import io

    assert dotenv_values(stream=io.StringIO(f"K={dotenv_quote(value)}\n"), interpolate=False)["K"] == value


def test_environ_and_mapping_sources() -> None:
    env = {"APP_DB": REF, "APP_NAME": "x", "OTHER": "y"}

    source = from_environ(env, prefix="APP_")

    assert source.settings == {"APP_DB": REF, "APP_NAME": "x"}
    assert set(source.origins.values()) == {"environment"}
    mapping = from_mapping({"a": 1}, origin="defaults")
    assert mapping.origins == {"a": "defaults"}
    assert "1" not in repr(mapping).replace("1 settings", "")
