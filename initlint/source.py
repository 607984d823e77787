"""Reading a Python file the way the interpreter does (PEP 263), and writing it back unchanged
except where a fix edited it: same encoding, same BOM, same line endings, same tabs."""

from __future__ import annotations

import codecs
import io
import re
import tokenize
from dataclasses import dataclass
from functools import cached_property

from initlint.finding import Edit

_NEWLINE = re.compile(r"\r\n|\r|\n")


class UnreadableSource(Exception):
    """The bytes are not Python source text (binary, undecodable, unknown encoding)."""


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str
    encoding: str  # as tokenize names it; "utf-8-sig" keeps a BOM on write

    @classmethod
    def from_bytes(cls, path: str, data: bytes) -> SourceFile:
        if b"\x00" in data:
            raise UnreadableSource("file contains a NUL byte (binary?)")
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
            codecs.lookup(encoding)
        except (SyntaxError, LookupError) as exc:
            raise UnreadableSource(f"cannot determine the encoding: {exc}") from None
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise UnreadableSource(f"cannot decode as {exc.encoding}: {exc.reason} at byte {exc.start}") from None
        except LookupError:  # a codec that exists but is not bytes-to-text (hex, zip, base64, rot13)
            raise UnreadableSource(f"the coding declaration names {encoding!r}, which is not a text encoding") from None
        except Exception as exc:  # the file picks the codec: punycode, undefined, ... raise anything
            raise UnreadableSource(f"cannot decode as {encoding}: {type(exc).__name__}: {exc}") from None
        if encoding == "utf-8-sig" and text.startswith("\ufeff"):
            text = text[1:]
        return cls(path, text, encoding)

    def with_text(self, text: str) -> SourceFile:
        return SourceFile(self.path, text, self.encoding)

    def encode(self) -> bytes:
        """The text in the file's encoding; raises UnicodeError (or another codec error) when it
        cannot be encoded."""
        return self.text.encode(self.encoding)

    def round_trips(self, data: bytes) -> bool:
        """Whether encoding the text gives back ``data``: only then can a fix leave the bytes
        outside its edits as they were (unicode_escape, utf-7 and the like may not)."""
        if self.encoding in ("utf-8", "utf-8-sig"):  # strict UTF-8 decoding always round-trips
            return True
        try:
            return self.encode() == data  # a BOM comes only with utf-8-sig
        except Exception:  # the codec is the file's choice
            return False

    @cached_property
    def line_starts(self) -> list[int]:
        """Offset of the first character of each line; lines end as Python's tokenizer ends them."""
        return [0, *(m.end() for m in _NEWLINE.finditer(self.text))]

    @property
    def line_count(self) -> int:
        starts = self.line_starts
        # A trailing newline does not open another line.
        return len(starts) - 1 if starts[-1] == len(self.text) and len(starts) > 1 else len(starts)

    def line_text(self, line: int) -> str:
        """The text of a 1-based line without its line ending ("" past the end)."""
        starts = self.line_starts
        if line < 1 or line > len(starts):
            return ""
        end = starts[line] if line < len(starts) else len(self.text)
        return self.text[starts[line - 1] : end].rstrip("\r\n")

    @cached_property
    def newline(self) -> str:
        match = _NEWLINE.search(self.text)
        return match.group() if match else "\n"

    def offset(self, line: int, column: int) -> int:
        """Character offset of a 1-based (line, column); clamped to the text."""
        starts = self.line_starts
        if line > len(starts):
            return len(self.text)
        return min(starts[max(line, 1) - 1] + max(column, 1) - 1, len(self.text))

    def apply(self, edits: list[Edit]) -> str:
        """The text with non-overlapping edits applied (applied back to front)."""
        text = self.text
        for edit in sorted(edits, key=lambda e: (e.line, e.column), reverse=True):
            start = self.offset(edit.line, edit.column)
            end = self.offset(edit.end_line, edit.end_column)
            text = text[:start] + edit.content + text[end:]
        return text
