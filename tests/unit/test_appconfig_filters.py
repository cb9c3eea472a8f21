"""App Configuration key and label filters: the grammar the service documents, and what it refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvconfig.fake.appconfig.filters import FilterError, parse_filter


def _matches(text: str | None, value: str | None, *, null_allowed: bool = True) -> bool:
    return parse_filter(text, what="label", null_allowed=null_allowed).matches(value)


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        (None, "anything", True),
        ("*", None, True),
        ("abc", "abc", True),
        ("abc", "abcd", False),
        ("abc*", "abcd", True),
        ("abc*", "ab", False),
        ("a,b", "b", True),
        ("a,b", "c", False),
        ("\\0", None, True),
        ("\\0", "x", False),
        ("\0", None, True),
        ("\0,dev", "dev", True),
        ("a\\*", "a*", True),
        ("a\\*", "ab", False),
        ("a\\,b", "a,b", True),
        ("a\\\\", "a\\", True),
    ],
)
def test_filter_grammar(text: str | None, value: str | None, expected: bool) -> None:
    assert _matches(text, value) is expected


@pytest.mark.parametrize("text", ["a*b", "*a", "a\\", "a\\x", "a,b,c,d,e,f", "x\\0", "x" * 3000])
def test_filters_the_service_refuses_raise_filter_error(text: str) -> None:
    with pytest.raises(FilterError):
        parse_filter(text, what="key", null_allowed=True)


def test_null_label_is_not_a_key_filter() -> None:
    with pytest.raises(FilterError):
        parse_filter("\0", what="key", null_allowed=False)


@given(st.text(alphabet=st.characters(blacklist_characters="*,\\\0"), min_size=1, max_size=40))
def test_a_plain_name_matches_itself_and_as_a_prefix(name: str) -> None:
    assert _matches(name, name)
    assert _matches(name + "*", name + "suffix")
    assert not _matches(name, name + "suffix")
