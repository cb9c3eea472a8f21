"""Sources are bounded: an alias bomb, a deep document or a large file is refused or read in linear time, each with a
SourceError naming the file (and never a value), not a MemoryError, a RecursionError or minutes of CPU."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kvconfig import SourceError, from_dotenv, from_file

REF = "@Microsoft.KeyVault(VaultName=contoso;SecretName=db)"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_fails_fast_with_a_source_error(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    text = _billion_laughs()
    assert len(text.encode()) <= 504
    path = _write(tmp_path, "bomb.yaml", text)

    started = time.process_time()
    with pytest.raises(SourceError, match="alias") as caught:
        from_file(path)

    assert time.process_time() - started < 2
    assert str(path) in str(caught.value)
    assert "lol" not in str(caught.value)


def test_a_recursive_yaml_alias_is_a_source_error(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    path = _write(tmp_path, "loop.yaml", "a: &a\n  - *a\n")

    with pytest.raises(SourceError, match="refers to itself"):
        from_file(path)


def test_yaml_anchors_and_merge_keys_within_bounds_still_work(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    text = f"defaults: &defaults\n  password: '{REF}'\n  port: 5432\nprimary:\n  <<: *defaults\n  port: 6432\n"
    path = _write(tmp_path, "config.yaml", text)

    source = from_file(path)

    assert source.settings["primary.password"] == REF
    assert source.settings["primary.port"] == 6432
    assert source.origins["primary.password"] == f"{path}:2"  # where the value is written
    assert source.origins["primary.port"] == f"{path}:6"


@pytest.mark.parametrize("depth", [200, 1000, 100_000])
def test_deeply_nested_json_is_a_source_error_not_a_recursion_error(tmp_path: Path, depth: int) -> None:
    path = _write(tmp_path, "deep.json", '{"a": ' + "[" * depth + "1" + "]" * depth + "}")

    with pytest.raises(SourceError, match="nested") as caught:
        from_file(path)

    assert str(path) in str(caught.value)


@pytest.mark.parametrize("name", ["deep.toml", "deep.yaml"])
def test_deeply_nested_toml_and_yaml_are_source_errors(tmp_path: Path, name: str) -> None:
    if name.endswith("yaml"):
        pytest.importorskip("yaml")
    depth = 1000
    path = _write(
        tmp_path,
        name,
        "a = " + "[" * depth + "1" + "]" * depth + "\n"
        if name.endswith("toml")
        else "a: " + "[" * depth + "1" + "]" * depth + "\n",
    )

    with pytest.raises(SourceError):
        from_file(path)


def test_nesting_up_to_the_limit_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "ok.json", '{"a": ' + "[" * 60 + json.dumps(REF) + "]" * 60 + "}")

    source = from_file(path)

    assert source.settings == {"a" + "[0]" * 60: REF}


def _json_seconds(tmp_path: Path, count: int, indent: int | None) -> float:
    document = {f"S{i}": f"@Microsoft.KeyVault(VaultName=contoso;SecretName=s{i})" for i in range(count)}
    path = _write(tmp_path, f"{count}.json", json.dumps(document, indent=indent))
    started = time.process_time()
    source = from_file(path)
    elapsed = time.process_time() - started
    assert len(source.settings) == count
    assert source.origins[f"S{count - 1}"] == f"{path}:{1 if indent is None else count + 1}"
    return elapsed


def _toml_seconds(tmp_path: Path, count: int) -> float:
    half = count // 2
    lines = [f'S{i} = "@Microsoft.KeyVault(VaultName=contoso;SecretName=s{i})"' for i in range(half)]
    lines.append("[table]")
    lines += [f"N{i} = {i}" for i in range(half)]
    path = _write(tmp_path, f"{count}.toml", "\n".join(lines) + "\n")
    started = time.process_time()
    source = from_file(path)
    elapsed = time.process_time() - started
    assert len(source.settings) == count
    assert source.origins[f"S{half - 1}"] == f"{path}:{half}"
    assert source.origins[f"table.N{half - 1}"] == f"{path}:{count + 1}"
    return elapsed


# Four times the settings: about four times the time when linear, sixteen when quadratic (a 16,000-setting one-line
# JSON file took minutes before). Ratios of CPU time (not wall time), best of three, so a busy machine does not make
# them flaky; the bound (10) sits between linear (4) and quadratic (16).
@pytest.mark.parametrize("indent", [None, 1], ids=["one-line", "indented"])
def test_json_origin_lookup_is_linear(tmp_path: Path, indent: int | None) -> None:
    small = min(_json_seconds(tmp_path, 10_000, indent) for _ in range(3))
    large = min(_json_seconds(tmp_path, 40_000, indent) for _ in range(3))

    assert large / small < 10, (small, large)


def test_toml_origin_lookup_is_linear(tmp_path: Path) -> None:
    small = min(_toml_seconds(tmp_path, 10_000) for _ in range(3))
    large = min(_toml_seconds(tmp_path, 40_000) for _ in range(3))

    assert large / small < 10, (small, large)


def test_100000_json_settings_get_their_lines(tmp_path: Path) -> None:
    _json_seconds(tmp_path, 100_000, None)


def test_json_origins_are_exact_for_repeated_values_and_keys(tmp_path: Path) -> None:
    text = '{"a": {"x": "same"}, "b": {"x": "same"},\n "c": [1, "same",\n  {"x": "same"}]}'
    path = _write(tmp_path, "repeat.json", text)

    source = from_file(path)

    assert source.origins == {
        "a.x": f"{path}:1",
        "b.x": f"{path}:1",
        "c[0]": f"{path}:2",
        "c[1]": f"{path}:2",
        "c[2].x": f"{path}:3",
    }


def test_toml_origins_follow_tables_arrays_of_tables_and_dotted_keys(tmp_path: Path) -> None:
    text = (
        'title = "x"\n'  # 1
        "[[servers]]\n"  # 2
        'url = "a"\n'  # 3
        "[[servers]]\n"  # 4
        'url = "b"\n'  # 5
        'db.password = "p"\n'  # 6
        'notes = """\n'  # 7
        'fake = "not a key"\n'  # 8
        '"""\n'  # 9
        "ports = [\n"  # 10
        "  1,\n"  # 11
        "]\n"  # 12
        '[owner."quoted.key"]\n'  # 13
        "name = 'n'\n"  # 14
    )
    path = _write(tmp_path, "config.toml", text)

    source = from_file(path)

    assert source.origins == {
        "title": f"{path}:1",
        "servers[0].url": f"{path}:3",
        "servers[1].url": f"{path}:5",
        "servers[1].db.password": f"{path}:6",
        "servers[1].notes": f"{path}:7",
        "servers[1].ports[0]": f"{path}:10",
        "owner.quoted.key.name": f"{path}:14",
    }


def _read_seconds(tmp_path: Path, lines: int, *, interpolate: bool) -> float:
    text = "\n".join(f"V{i}=${{V{i - 1}}}x" if i else "V0=start" for i in range(lines)) + "\n"
    path = _write(tmp_path, f"{lines}.env", text)
    started = time.process_time()
    source = from_dotenv(path, interpolate=interpolate)
    elapsed = time.process_time() - started
    last = f"V{lines - 1}"
    assert source.origins[last] == f"{path}:{lines}"
    if not interpolate:
        assert source.settings[last] == f"${{V{lines - 2}}}x"
    return elapsed


def test_dotenv_without_interpolation_is_linear_and_keeps_dollar_signs(tmp_path: Path) -> None:
    small = min(_read_seconds(tmp_path, 10_000, interpolate=False) for _ in range(3))
    large = min(_read_seconds(tmp_path, 40_000, interpolate=False) for _ in range(3))

    # Four times the lines: about four times the time when linear, sixteen when quadratic (as with interpolation).
    assert large / small < 10, (small, large)


def test_from_file_passes_interpolate_to_dotenv(tmp_path: Path) -> None:
    path = _write(tmp_path, "app.env", "A=1\nB=${A}\n")

    assert from_file(path).settings["B"] == "1"
    assert from_file(path, interpolate=False).settings["B"] == "${A}"
