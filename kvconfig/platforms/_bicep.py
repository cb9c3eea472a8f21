"""The declarative subset of Bicep that platform definitions are written in, read without the Bicep compiler.

A file is a list of ``resource <symbol> '<type>@<api-version>' = { ... }`` declarations whose bodies hold only
literals: objects (``key: value`` entries on their own lines or separated by commas), arrays (items on their own
lines or separated by commas), single-quoted strings with Bicep's escapes (``\\'``, ``\\\\``, ``\\n``, ``\\r``,
``\\t``, ``\\$``, ``\\u{...}``), multi-line ``'''`` strings (verbatim), integers, ``true``, ``false``, ``null``, and
``//`` and ``/* */`` comments. Such a file reads as the ARM template ``az bicep build`` would write for it: an
object with ``resources``, each resource's ``type`` and ``apiVersion`` taken from its declaration.

Everything that needs the compiler to have a value (a parameter, variable or resource reference, a function call,
string interpolation, an operator, ``existing``, a loop, a condition, ``param``/``var``/``module`` and the other
statements, decorators) is refused with :class:`BicepError` at its line: a value is never guessed.

Bounds: the caller bounds the file's size; nesting is bounded by :data:`MAX_BICEP_DEPTH`; every scan is a single
forward pass (a regular expression anchored at the current position, or ``str.find`` for a comment or a multi-line
string), so time is linear in the size of the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kvconfig.sources import PathPart

__all__ = ["MAX_BICEP_DEPTH", "BicepError", "BicepFile", "parse_bicep"]

#: Deepest nesting of objects and arrays a Bicep file may have (real definitions stay under ten).
MAX_BICEP_DEPTH = 100

Path_ = tuple[PathPart, ...]

_COMPILE = "pass the compiled ARM JSON instead (az bicep build)"
_TOKEN = re.compile(
    r"""(?P<space>[ \t\r\f\v]+)
      | (?P<newline>\n)
      | (?P<line_comment>//[^\n]*)
      | (?P<block_comment>/\*)
      | (?P<multiline>''')
      | (?P<string>')
      | (?P<number>-?[0-9]+(?![A-Za-z_0-9]))
      | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
      | (?P<operator>==|!=|<=|>=|=~|!~|&&|\|\||\?\?|\.\?|[-+*/%<>!?.@])
      | (?P<punct>[{}\[\]:,=()])""",
    re.VERBOSE,
)
_STRING_PART = re.compile(r"[^'\\$\n]+")
_UNICODE_ESCAPE = re.compile(r"u\{([0-9A-Fa-f]{1,6})\}")
_SIMPLE_ESCAPES = {"\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t", "$": "$"}
_STATEMENTS = {
    "param": "a 'param' declaration",
    "var": "a 'var' declaration",
    "output": "an 'output' declaration",
    "module": "a 'module' declaration",
    "targetScope": "a 'targetScope' statement",
    "import": "an 'import' statement",
    "using": "a 'using' statement",
    "metadata": "a 'metadata' statement",
    "type": "a 'type' declaration",
    "func": "a 'func' declaration",
    "extension": "an 'extension' statement",
    "provider": "a 'provider' statement",
}


class BicepError(ValueError):
    """A part of a Bicep file kvconfig does not read: ``line`` is where it is written (1-based)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    line: int
    value: Any = None


@dataclass(frozen=True)
class BicepFile:
    """A Bicep file read as its ARM template: ``data`` is ``{"resources": [...]}``; ``lines`` has the line of every
    part of it (a resource, a property's key, an array item), keyed by its path."""

    data: dict[str, Any]
    lines: dict[Path_, int]


def parse_bicep(text: str) -> BicepFile:
    """Read ``text`` (a Bicep file's content). Raises :class:`BicepError` at the line of the first part that is not
    in the declarative subset, or is not valid Bicep."""
    return _Parser(_tokens(text)).file()


def _refuse(line: int, what: str) -> BicepError:
    return BicepError(
        line, f"{what} has no value without the Bicep compiler; kvconfig reads literal values only: {_COMPILE}."
    )


def _tokens(text: str) -> Iterator[Token]:
    """The file's tokens, one at a time: the parser stops reading at the first refusal, however long the rest."""
    position, line, end = 0, 1, len(text)
    while position < end:
        match = _TOKEN.match(text, position)
        if match is None:
            raise BicepError(line, f"not valid Bicep: unexpected character {text[position]!r}.")
        kind = match.lastgroup or ""
        if kind == "block_comment":
            close = text.find("*/", match.end())
            if close < 0:
                raise BicepError(line, "not valid Bicep: a '/*' comment is never closed.")
            line += text.count("\n", position, close)
            position = close + 2
            continue
        if kind == "multiline":
            close = text.find("'''", match.end())
            if close < 0:
                raise BicepError(line, "not valid Bicep: a ''' string is never closed.")
            body = text[match.end() : close]
            # Bicep drops the line break right after the opening '''; the rest is verbatim.
            body = body[2:] if body.startswith("\r\n") else body[1:] if body.startswith("\n") else body
            yield Token("string", "'''...'''", line, body)
            line += text.count("\n", position, close)
            position = close + 3
            continue
        if kind == "string":
            value, position = _string(text, match.end(), line)
            yield Token("string", "'...'", line, value)
            continue
        if kind == "newline":
            yield Token("newline", "\n", line)
            line += 1
        elif kind == "number":
            yield Token("number", match.group(), line, _integer(match.group(), line))
        elif kind not in ("space", "line_comment"):
            yield Token(kind, match.group(), line)
        position = match.end()
    yield Token("end", "", line)


def _integer(text: str, line: int) -> int:
    """A Bicep integer literal: 64 bits, as the compiler takes it."""
    if len(text.lstrip("-")) > 19 or not -(2**63) <= int(text) < 2**63:
        raise BicepError(line, "not valid Bicep: an integer is 64 bits (from -2**63 to 2**63 - 1).")
    return int(text)


def _string(text: str, position: int, line: int) -> tuple[str, int]:
    """A single-quoted string from just after its opening quote: its value and the position after it."""
    parts: list[str] = []
    end = len(text)
    while position < end:
        match = _STRING_PART.match(text, position)
        if match is not None:
            parts.append(match.group())
            position = match.end()
            continue
        char = text[position]
        if char == "'":
            return "".join(parts), position + 1
        if char == "\n":
            break
        if char == "$":
            if text.startswith("${", position):
                raise _refuse(line, "string interpolation '${...}'")
            parts.append("$")
            position += 1
            continue
        # A backslash: one of Bicep's escapes.
        following = text[position + 1 : position + 2]
        if following in _SIMPLE_ESCAPES and following:
            parts.append(_SIMPLE_ESCAPES[following])
            position += 2
            continue
        unicode = _UNICODE_ESCAPE.match(text, position + 1)
        if unicode is not None and int(unicode.group(1), 16) <= 0x10FFFF:
            parts.append(chr(int(unicode.group(1), 16)))
            position = unicode.end()
            continue
        raise BicepError(line, f"not valid Bicep: {text[position : position + 2]!r} is not one of Bicep's escapes.")
    raise BicepError(line, "not valid Bicep: a string is not closed on its line (use ''' for text over several lines).")


class _Parser:
    def __init__(self, tokens: Iterator[Token]) -> None:
        self.tokens = tokens
        self.current = next(tokens)
        self.lines: dict[Path_, int] = {}

    def peek(self) -> Token:
        return self.current

    def take(self) -> Token:
        token = self.current
        if token.kind != "end":
            self.current = next(self.tokens)
        return token

    def skip_newlines(self) -> None:
        while self.current.kind == "newline":
            self.take()

    def expect(self, text: str, what: str) -> Token:
        token = self.take()
        if token.text != text or token.kind in ("string", "end"):
            raise self.unexpected(token, what)
        return token

    def unexpected(self, token: Token, wanted: str) -> BicepError:
        if token.kind == "end":
            return BicepError(token.line, f"not valid Bicep: the file ends where {wanted} should be.")
        if token.kind == "operator" or token.text in ("(", "."):
            return _refuse(token.line, f"an expression (operator {token.text!r})")
        shown = (
            "a line break" if token.kind == "newline" else "a string" if token.kind == "string" else repr(token.text)
        )
        return BicepError(token.line, f"not valid Bicep: {shown} where {wanted} should be.")

    # -- statements -----------------------------------------------------------------------------------------------

    def file(self) -> BicepFile:
        resources: list[dict[str, Any]] = []
        while True:
            self.skip_newlines()
            token = self.peek()
            if token.kind == "end":
                return BicepFile({"resources": resources}, self.lines)
            if token.kind == "name" and token.text == "resource":
                resources.append(self.resource(("resources", len(resources))))
                continue
            if token.kind == "operator" and token.text == "@":
                raise _refuse(token.line, "a decorator ('@...')")
            if token.kind == "name" and token.text in _STATEMENTS:
                raise _refuse(token.line, _STATEMENTS[token.text])
            raise self.unexpected(token, "a 'resource' declaration")

    def resource(self, at: Path_) -> dict[str, Any]:
        declaration = self.take()
        symbol = self.take()
        if symbol.kind != "name":
            raise self.unexpected(symbol, "the resource's symbolic name")
        kind = self.take()
        if kind.kind != "string":
            raise self.unexpected(kind, "the resource's '<type>@<api-version>'")
        resource_type, _, api_version = str(kind.value).partition("@")
        if not resource_type or not api_version:
            raise BicepError(kind.line, f"not valid Bicep: resource {symbol.text} needs a '<type>@<api-version>'.")
        if self.peek().kind == "name" and self.peek().text == "existing":
            raise _refuse(self.peek().line, f"resource {symbol.text} declared 'existing'")
        self.expect("=", "'=' after the resource's type")
        body_token = self.peek()
        if body_token.kind == "name" and body_token.text == "if":
            raise _refuse(body_token.line, f"the condition of resource {symbol.text} ('if')")
        if body_token.text == "[":
            raise _refuse(body_token.line, f"resource {symbol.text} declared with a loop ('[for ...]')")
        if body_token.text != "{":
            raise self.unexpected(body_token, f"the body of resource {symbol.text} ('{{')")
        body = self.value(at, 1)
        self.end_of_statement()
        resource = {**body, "type": resource_type, "apiVersion": api_version}
        self.lines[at] = declaration.line
        type_at: Path_ = (*at, "type")
        api_at: Path_ = (*at, "apiVersion")
        self.lines[type_at] = self.lines[api_at] = kind.line
        return resource

    def end_of_statement(self) -> None:
        token = self.peek()
        if token.kind not in ("newline", "end"):
            raise self.unexpected(token, "a line break after the resource")

    # -- values ---------------------------------------------------------------------------------------------------

    def value(self, at: Path_, depth: int) -> Any:
        token = self.take()
        self.lines.setdefault(at, token.line)
        if token.kind in ("string", "number"):
            return token.value
        if token.kind == "name":
            literal = {"true": True, "false": False, "null": None}
            if token.text in literal:
                return literal[token.text]
            if token.text == "if":
                raise _refuse(token.line, "a condition ('if')")
            if token.text == "for":
                raise _refuse(token.line, "a loop ('for')")
            if self.peek().text == "(" and self.peek().kind == "punct":
                raise _refuse(token.line, f"a function call ({token.text}(...))")
            raise _refuse(token.line, f"a reference to {token.text!r} (a parameter, variable or resource)")
        if token.text in ("{", "["):
            if depth > MAX_BICEP_DEPTH:
                raise BicepError(token.line, f"the Bicep file is nested more than {MAX_BICEP_DEPTH} levels deep.")
            return self.object(at, depth) if token.text == "{" else self.array(at, depth)
        if token.text == "(":
            raise _refuse(token.line, "a parenthesised expression")
        raise self.unexpected(token, "a value")

    def object(self, at: Path_, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, int] = {}
        while True:
            self.skip_newlines()
            key = self.take()
            if key.text == "}" and key.kind == "punct":
                return result
            if key.kind == "name" and key.text == "resource" and self.peek().kind == "name":
                raise _refuse(key.line, "a nested resource declaration")
            if key.kind not in ("name", "string"):
                raise self.unexpected(key, "a property name")
            name = str(key.value) if key.kind == "string" else key.text
            if name in seen:
                raise BicepError(
                    key.line, f"not valid Bicep: property {name!r} is given twice (also at line {seen[name]})."
                )
            seen[name] = key.line
            self.expect(":", f"':' after property {name!r}")
            where: Path_ = (*at, name)
            self.lines[where] = key.line
            result[name] = self.value(where, depth + 1)
            self.separator("}", f"a line break, ',' or '}}' after property {name!r}")

    def array(self, at: Path_, depth: int) -> list[Any]:
        result: list[Any] = []
        self.skip_newlines()
        if self.peek().text == "for" and self.peek().kind == "name":
            raise _refuse(self.peek().line, "a loop ('[for ...]')")
        while True:
            self.skip_newlines()
            token = self.peek()
            if token.text == "]" and token.kind == "punct":
                self.take()
                return result
            result.append(self.value((*at, len(result)), depth + 1))
            self.separator("]", "a line break, ',' or ']' after an array item")

    def separator(self, closer: str, wanted: str) -> None:
        token = self.peek()
        if token.kind == "newline" or (token.kind == "punct" and token.text == ","):
            self.take()
        elif not (token.kind == "punct" and token.text == closer):
            raise self.unexpected(token, wanted)
