"""Reading JSONL input as bytes, one line at a time, so no line can cost the others.

The file (or stdin) is read as bytes and each line is decoded on its own: a line that is
not UTF-8, not JSON, nested too deeply or holding a number Python refuses becomes a
``LineError`` naming its line and the reason, in its place, and every other line is still
read. A UTF-8 byte order mark at the start is accepted. This module parses; it never
validates items and never prints.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class LineError:
    """Why a line could not be read; ``message`` starts with ``line N:``."""

    line: int
    reason: str

    @property
    def message(self) -> str:
        return f"line {self.line}: {self.reason}"


def _not_utf8(raw: bytes, exc: UnicodeDecodeError, first: bool) -> str:
    reason = f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
    if first and raw.startswith(UTF16_BOMS):
        reason += "; the file starts with a UTF-16 byte order mark: save it as UTF-8"
    return reason


def parse_line(number: int, raw: bytes) -> Any:
    """One line's JSON value, or a ``LineError`` saying why it has none."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LineError(number, _not_utf8(raw, exc, first=number == 1))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return LineError(number, f"not valid JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:
        return LineError(number, "not valid JSON (nested too deeply)")
    except ValueError as exc:  # e.g. an integer over Python's digit limit
        return LineError(number, f"not valid JSON ({exc})")


def iter_jsonl(data: bytes) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value or ``LineError``) for each non-blank line.

    Lines break at ``\\n``, ``\\r\\n`` or ``\\r``, as Python's text mode reads them; a
    Unicode line separator inside a JSON string stays part of its line.
    """
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        yield number, parse_line(number, raw)


def read_jsonl(stream: BinaryIO) -> list[tuple[int, Any]]:
    """Every line of a binary stream, parsed; see ``iter_jsonl``."""
    return list(iter_jsonl(stream.read()))


def load_jsonl(path: Path) -> list[Any]:
    """Every value of a JSONL file the project ships or wrote itself (benchmark sets,
    fixtures), where a bad line is a bug: the first one raises ``ValueError`` naming it."""
    values = []
    for _number, value in iter_jsonl(path.read_bytes()):
        if isinstance(value, LineError):
            raise ValueError(f"{path}: {value.message}")
        values.append(value)
    return values
