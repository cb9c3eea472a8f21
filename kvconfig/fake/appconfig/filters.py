"""Key and label filters of App Configuration's ``GET /kv``, ``/keys``, ``/labels`` and ``/revisions``.

The grammar the service documents: ``*`` matches everything; ``abc`` matches exactly; ``abc*`` matches a prefix;
``a,b`` matches either (at most five terms); ``\\*``, ``\\,`` and ``\\\\`` escape the reserved characters; for labels
``\\0`` (or a NUL character, ``%00`` on the wire, as the SDKs send it) is the null label. A ``*`` anywhere but at
the end of a term is refused, as the service refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_FILTER_LENGTH", "MAX_TERMS", "FilterError", "NameFilter", "parse_filter"]

MAX_TERMS = 5
MAX_FILTER_LENGTH = 2048


class FilterError(ValueError):
    """A filter the service would answer with 400 invalid-argument."""


@dataclass(frozen=True)
class _Term:
    text: str | None  # None: the null label
    prefix: bool

    def matches(self, value: str | None) -> bool:
        if self.text is None:
            return value is None
        if value is None:
            return self.prefix and self.text == ""
        return value.startswith(self.text) if self.prefix else value == self.text


@dataclass(frozen=True)
class NameFilter:
    """A parsed filter: ``matches(name)`` answers for one key or label (``None`` is the null label)."""

    terms: tuple[_Term, ...]

    def matches(self, value: str | None) -> bool:
        return any(term.matches(value) for term in self.terms)


def parse_filter(text: str | None, *, what: str, null_allowed: bool) -> NameFilter:
    """Parse a key (``null_allowed=False``) or label filter; ``None`` or ``*`` match everything."""
    if text is None or text == "*":
        return NameFilter((_Term("", prefix=True),))
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError(f"The {what} filter is longer than {MAX_FILTER_LENGTH} characters.")
    terms: list[_Term] = []
    current: list[str] = []
    prefix = False
    null = False
    index = 0

    def close_term() -> None:
        nonlocal prefix, null
        if null:
            if current:
                raise FilterError(f"Invalid {what} filter: '\\0' must stand alone in its term.")
            terms.append(_Term(None, prefix=False))
        else:
            terms.append(_Term("".join(current), prefix=prefix))
        current.clear()
        prefix = False
        null = False

    while index < len(text):
        char = text[index]
        if prefix and char != ",":
            raise FilterError(f"Invalid {what} filter: '*' is only supported at the end of a term.")
        if char == "\\":
            if index + 1 >= len(text):
                raise FilterError(f"Invalid {what} filter: a trailing '\\' escapes nothing.")
            following = text[index + 1]
            if following == "0" and null_allowed and not current:
                null = True
            elif following in "*,\\":
                current.append(following)
            else:
                raise FilterError(f"Invalid {what} filter: '\\{following}' is not a valid escape.")
            index += 2
            continue
        if char == "\0":  # %00 on the wire, as the SDKs send the null label
            if not null_allowed or current:
                raise FilterError(f"Invalid {what} filter: the null character only stands for the null label.")
            null = True
        elif char == "*":
            prefix = True
        elif char == ",":
            close_term()
        else:
            if null:
                raise FilterError(f"Invalid {what} filter: '\\0' must stand alone in its term.")
            current.append(char)
        index += 1
    close_term()
    if len(terms) > MAX_TERMS:
        raise FilterError(f"Invalid {what} filter: at most {MAX_TERMS} comma-separated terms are supported.")
    return NameFilter(tuple(terms))
