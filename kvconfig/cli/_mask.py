"""``kvconfig run --mask``: every secret value in a child's output replaced by ``<concealed by kvconfig>``.

What is masked is each value read from the vault (a secret embedded in a connection string is masked on its own, not
only the whole setting), each line of a multi-line one, and two forms programs commonly print a value in: JSON string
escaping and URL percent-encoding. Values shorter than :data:`MIN_LENGTH` are left alone (masking every ``1`` or
``on`` would garble the output). Other transformations (base64, hex, a value cut in pieces or reversed, another
encoding) are not recognised: ``--mask`` is a guard against accidents, not against a child that wants to leak.

Output is masked as a stream: text is passed on at each line end, and a line longer than :data:`MAX_HELD` bytes is
passed on in pieces that still never split a secret, so memory stays bounded whatever the child prints.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from typing import IO
from urllib.parse import quote

__all__ = ["MASK_TEXT", "MAX_HELD", "MIN_LENGTH", "Masker", "pump", "secret_forms"]

MASK_TEXT = b"<concealed by kvconfig>"
MIN_LENGTH = 3
MAX_HELD = 64 * 1024
_READ_SIZE = 64 * 1024


def secret_forms(values: Iterable[str]) -> list[bytes]:
    """The byte strings to conceal for these secret values, longest first."""
    forms: set[str] = set()
    for value in values:
        for part in (value, *value.splitlines()):
            if len(part.strip()) < MIN_LENGTH:
                continue
            forms.add(part)
            forms.add(json.dumps(part)[1:-1])  # "a\"b\\c", as a JSON or Python log line shows it
            forms.add(json.dumps(part, ensure_ascii=False)[1:-1])
            forms.add(quote(part, safe=""))  # a value put in a URL or a form body
    return sorted((form.encode("utf-8") for form in forms), key=len, reverse=True)


class Masker:
    """Masks a byte stream fed in arbitrary chunks; a secret split across chunks is still masked."""

    def __init__(self, secrets: Iterable[bytes]) -> None:
        ordered = sorted(set(secrets), key=len, reverse=True)
        # Alternatives are tried in order at each position: longest first, so a value is masked whole rather than
        # one of its lines or a shorter value it contains.
        self._pattern = re.compile(b"|".join(re.escape(secret) for secret in ordered)) if ordered else None
        self._secrets = ordered
        self._subsets: dict[tuple[bytes, ...], re.Pattern[bytes]] = {}
        self._longest = max((len(secret) for secret in ordered), default=0)
        self._held = b""

    def feed(self, chunk: bytes) -> bytes:
        """Masked output that is safe to pass on now; the rest is held until more arrives or :meth:`flush`."""
        buffer = self._held + chunk
        if self._pattern is None:
            self._held = b""
            return buffer
        cut = buffer.rfind(b"\n") + 1
        if len(buffer) - cut > MAX_HELD:
            # A long line: pass on all but a tail that could be the start of a secret.
            cut = len(buffer) - (self._longest - 1)
        return self._emit(buffer, cut)

    def flush(self) -> bytes:
        """Everything held, masked (at the end of the stream)."""
        buffer, self._held = self._held, b""
        if self._pattern is None:
            return buffer
        return self._pattern.sub(MASK_TEXT, buffer)

    def _emit(self, buffer: bytes, cut: int) -> bytes:
        assert self._pattern is not None
        # Each ``in`` is one C-speed scan, far quicker than a pattern of many alternatives: the pattern is only run
        # for the secrets the buffer holds (usually none).
        present = tuple(secret for secret in self._secrets if secret in buffer)
        if not present:
            self._held = buffer[cut:]
            return buffer[:cut]
        pattern = self._subsets.get(present)
        if pattern is None:
            if len(self._subsets) >= 64:
                self._subsets.clear()
            pattern = self._subsets[present] = re.compile(b"|".join(re.escape(secret) for secret in present))
        pieces: list[bytes] = []
        position = 0
        for match in pattern.finditer(buffer):
            if match.start() >= cut:
                break
            pieces.append(buffer[position : match.start()])
            pieces.append(MASK_TEXT)
            position = match.end()  # a match that runs past the cut is complete: pass it on masked
        cut = max(cut, position)
        pieces.append(buffer[position:cut])
        self._held = buffer[cut:]
        return b"".join(pieces)


def pump(source: IO[bytes], sink: IO[bytes], secrets: list[bytes]) -> None:
    """Copy ``source`` to ``sink`` until end of file, masked, writing as soon as a line (or a safe piece) is ready."""
    masker = Masker(secrets)
    descriptor = source.fileno()
    while True:
        chunk = os.read(descriptor, _READ_SIZE)
        out = masker.feed(chunk) if chunk else masker.flush()
        if out:
            sink.write(out)
            sink.flush()
        if not chunk:
            return
