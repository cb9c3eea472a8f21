"""The stream masker of ``kvconfig run --mask``: every secret form concealed, however the output is chunked, in
bounded memory."""

from __future__ import annotations

import io
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from kvconfig.cli._mask import MASK_TEXT, MAX_HELD, Masker, pump, secret_forms

SECRET = b"hunter2-secret"


def _mask_in_chunks(data: bytes, secrets: list[bytes], cuts: list[int]) -> bytes:
    masker = Masker(secrets)
    out, position = [], 0
    for cut in sorted(set(cuts)):
        out.append(masker.feed(data[position:cut]))
        position = cut
    out.append(masker.feed(data[position:]))
    out.append(masker.flush())
    return b"".join(out)


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.binary(max_size=40).filter(lambda b: b"h" not in b),
    suffix=st.binary(max_size=40).filter(lambda b: b"h" not in b),
    cuts=st.lists(st.integers(0, 100), max_size=6),
)
def test_a_secret_split_across_chunks_is_still_masked(prefix: bytes, suffix: bytes, cuts: list[int]) -> None:
    data = prefix + SECRET + suffix

    assert _mask_in_chunks(data, [SECRET], cuts) == prefix + MASK_TEXT + suffix


def test_lines_pass_on_at_their_end_and_a_partial_line_is_held() -> None:
    masker = Masker([SECRET])

    assert masker.feed(b"one\ntwo hunt") == b"one\n"
    assert masker.feed(b"er2-secret done\n") == b"two " + MASK_TEXT + b" done\n"
    assert masker.flush() == b""


def test_a_line_without_end_is_passed_on_in_bounded_pieces_that_never_split_a_secret() -> None:
    masker = Masker([SECRET])
    out = []
    held_at_most = 0
    for _ in range(40):
        out.append(masker.feed(b"x" * 4093 + SECRET[:5]))
        out.append(masker.feed(SECRET[5:]))
        held_at_most = max(held_at_most, len(masker._held))
    out.append(masker.flush())

    text = b"".join(out)
    assert SECRET not in text
    assert text.count(MASK_TEXT) == 40
    assert held_at_most <= MAX_HELD + 4096 + len(SECRET)


def test_longest_form_wins_so_a_value_containing_another_is_masked_whole() -> None:
    assert _mask_in_chunks(b"[abc-long-secret]", [b"abc", b"abc-long-secret"], []) == b"[" + MASK_TEXT + b"]"


def test_secret_forms_cover_lines_json_and_url_encoding_but_not_short_values() -> None:
    forms = secret_forms(['pa"ss\\word', "line-one\nline-two", "a b&c", "on"])

    assert b'pa"ss\\word' in forms
    assert b'pa\\"ss\\\\word' in forms
    assert b"line-one\nline-two" in forms
    assert b"line-one" in forms
    assert b"line-two" in forms
    assert b"a%20b%26c" in forms
    assert not any(form in (b"on",) for form in forms)
    assert forms == sorted(forms, key=len, reverse=True)


def test_pump_copies_a_pipe_masked_until_end_of_file() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b"token=" + SECRET + b"\nlast line without end " + SECRET)
    os.close(write_end)
    sink = io.BytesIO()

    with os.fdopen(read_end, "rb") as source:
        pump(source, sink, [SECRET])

    assert sink.getvalue() == b"token=" + MASK_TEXT + b"\nlast line without end " + MASK_TEXT
