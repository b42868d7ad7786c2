"""Source positions: map key paths of a TOML document to ranges of its text."""

from __future__ import annotations

import bisect
import contextlib
import re
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from treelane.engine.workflow.convert import _BARE_KEY
from treelane.engine.workflow.model import _NOWHERE, Range, _KeyPath

# --------------------------------------------------------------------------- positions

_Span = tuple[int, int]  # offsets into the text, end exclusive
_SCALAR = re.compile(r"[^,\]}#\n]*")  # a number, boolean or date (dates may hold a space)


class _Lines:
    """Offset <-> (line, column) conversion, clamped to the document."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = [0] + [match.end() for match in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._starts, offset) - 1
        return line, offset - self._starts[line]

    def range(self, span: _Span) -> Range:
        return Range(*self.position(span[0]), *self.position(span[1]))

    def rest_of_line(self, line: int, col: int) -> Range:
        """From (line, col) to the end of that line (without the line break)."""
        line = max(0, min(line, len(self._starts) - 1))
        start = self._starts[line]
        end = self.text.find("\n", start)
        end = len(self.text) if end < 0 else end
        if self.text[start:end].endswith("\r"):
            end -= 1
        col = max(0, min(col, end - start))
        return Range(line, col, line, max(col, end - start))


class _Locator:
    """Source ranges for key paths of a document that tomllib accepted.

    Explicit spans are where a path itself is written (its header, its key, the
    array element); implicit ones are where it is created as a prefix of a
    longer header or dotted key. Lookup falls back to the enclosing table.

    The text is scanned on the first lookup only: a document without problems (the
    usual case, and a big workflow file's) is never scanned at all.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._scanned = False
        self._explicit: dict[_KeyPath, _Span] = {}
        self._implicit: dict[_KeyPath, _Span] = {}

    def _scan(self) -> None:
        self._lines = _Lines(self._text)
        scanner = _Scanner(self._text)
        with contextlib.suppress(RecursionError):  # nesting near tomllib's limit: keep the rest
            scanner.scan()
        self._explicit = scanner.explicit
        self._implicit = scanner.implicit
        self._scanned = True

    def range(self, path: _KeyPath) -> Range:
        if not self._scanned:
            self._scan()
        for end in range(len(path), 0, -1):
            prefix = path[:end]
            span = self._explicit.get(prefix) or self._implicit.get(prefix)
            if span:
                return self._lines.range(span)
        return _NOWHERE


class _Scanner:
    """A forgiving TOML scanner that records spans of keys, headers and array elements.

    It assumes valid TOML (tomllib checked it) but always makes progress and
    never indexes past the end, whatever the input.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.explicit: dict[_KeyPath, _Span] = {}
        self.implicit: dict[_KeyPath, _Span] = {}
        self._table: _KeyPath = ()
        self._array_tables: dict[_KeyPath, int] = {}  # [[x]] path -> current index

    def scan(self) -> None:
        while self._skip_blank():
            start = self.pos
            if self._peek() == "[":
                self._header()
            else:
                self._keyval(self._table)
            if self.pos == start:
                self.pos += 1

    # -- lexical helpers

    def _peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def _skip(self, chars: str) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def _skip_blank(self) -> bool:
        """Skip whitespace, line breaks and comments; False at the end of the text."""
        while True:
            self._skip(" \t\r\n")
            if self._peek() != "#":
                return self.pos < len(self.text)
            end = self.text.find("\n", self.pos)
            self.pos = len(self.text) if end < 0 else end

    def _string_end(self) -> int:
        """End offset of the (possibly multi-line) string starting at pos."""
        text, quote = self.text, self.text[self.pos]
        escapes = quote == '"'
        if text.startswith(quote * 3, self.pos):
            i = self.pos + 3
            while i < len(text):
                if escapes and text[i] == "\\":
                    i += 2
                elif text.startswith(quote * 3, i):
                    end = i + 3
                    while end < len(text) and end - i < 5 and text[end] == quote:
                        end += 1  # up to two quotes may end the content
                    return end
                else:
                    i += 1
            return len(text)
        i = self.pos + 1
        while i < len(text) and text[i] not in (quote, "\n"):
            i += 2 if escapes and text[i] == "\\" else 1
        return min(i + 1, len(text))

    def _record(self, path: _KeyPath, span: _Span, *, explicit: bool) -> None:
        (self.explicit if explicit else self.implicit).setdefault(path, span)

    # -- grammar

    def _header(self) -> None:
        start = self.pos
        is_array = self.text.startswith("[[", self.pos)
        self.pos += 2 if is_array else 1
        names = tuple(name for name, _, _ in self._key())
        self._skip(" \t")
        closing = "]]" if is_array else "]"
        if self.text.startswith(closing, self.pos):
            self.pos += len(closing)
        path = self._resolve(names, is_array)
        for end in range(1, len(path)):
            self._record(path[:end], (start, self.pos), explicit=False)
        self._record(path, (start, self.pos), explicit=True)
        self._table = path

    def _resolve(self, names: tuple[str, ...], is_array: bool) -> _KeyPath:
        """Insert the current index after every array-of-tables part."""
        path: _KeyPath = ()
        for position, name in enumerate(names):
            path += (name,)
            if is_array and position == len(names) - 1:
                self._array_tables[path] = self._array_tables.get(path, -1) + 1
            if path in self._array_tables:
                path += (self._array_tables[path],)
        return path

    def _key(self) -> list[tuple[str, int, int]]:
        """A possibly dotted key as (name, start, end) parts."""
        parts: list[tuple[str, int, int]] = []
        while True:
            self._skip(" \t")
            start = self.pos
            if self._peek() in ('"', "'"):
                end = self._string_end()
                name = _decode_key(self.text[start:end])
            elif match := _BARE_KEY.match(self.text, self.pos):
                end, name = match.end(), match[0]
            else:
                return parts
            parts.append((name, start, end))
            self.pos = end
            self._skip(" \t")
            if self._peek() != ".":
                return parts
            self.pos += 1

    def _keyval(self, table: _KeyPath) -> None:
        parts = self._key()
        if not parts:
            return
        names = tuple(name for name, _, _ in parts)
        first = parts[0][1]
        for position, (_, _, end) in enumerate(parts):
            explicit = position == len(parts) - 1
            self._record(table + names[: position + 1], (first, end), explicit=explicit)
        self._skip(" \t")
        if self._peek() == "=":
            self.pos += 1
            self._skip(" \t")
            self._value(table + names)

    def _value(self, path: _KeyPath) -> None:
        char = self._peek()
        if char in ('"', "'"):
            self.pos = self._string_end()
        elif char == "[":
            self._array(path)
        elif char == "{":
            self._inline_table(path)
        else:
            self._scalar()

    def _array(self, path: _KeyPath) -> None:
        self.pos += 1
        index = 0
        while self._skip_blank() and self._peek() != "]":
            start = self.pos
            self._value((*path, index))
            if self.pos == start:  # not a value: step over it
                self.pos += 1
                continue
            self._record((*path, index), (start, self.pos), explicit=True)
            index += 1
            if self._skip_blank() and self._peek() == ",":
                self.pos += 1
        if self._peek() == "]":
            self.pos += 1

    def _inline_table(self, path: _KeyPath) -> None:
        self.pos += 1
        while self._skip_blank() and self._peek() != "}":
            start = self.pos
            self._keyval(path)
            if (self._skip_blank() and self._peek() == ",") or self.pos == start:
                self.pos += 1
        if self._peek() == "}":
            self.pos += 1

    def _scalar(self) -> None:
        """Numbers, booleans and dates (which may contain a space): up to a delimiter."""
        match = _SCALAR.match(self.text, self.pos)
        if match:
            self.pos += len(match[0].rstrip())


def _decode_key(token: str) -> str:
    """The name of a quoted key token, decoded exactly as tomllib does."""
    try:
        value = tomllib.loads(f"k = {token}")["k"]
    except tomllib.TOMLDecodeError:
        return token
    return value if isinstance(value, str) else token
