"""Reading JSONL as bytes: each line decoded on its own, errors naming their line."""

from __future__ import annotations

import io
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qualitygate.jsonl import LineError, iter_jsonl, read_jsonl


def test_an_undecodable_line_costs_only_itself() -> None:
    data = b'{"id": "a"}\n{"id": "caf\xe9"}\n\n{"id": "c"}\n'
    lines = list(iter_jsonl(data))
    assert [number for number, _ in lines] == [1, 2, 4]
    assert lines[0][1] == {"id": "a"} and lines[2][1] == {"id": "c"}
    error = lines[1][1]
    assert isinstance(error, LineError)
    assert error.message == "line 2: not UTF-8 (byte 0xe9 at offset 11)"


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    assert list(iter_jsonl(b'\xef\xbb\xbf{"id": "a"}\r\n{"id": "b"}')) == [
        (1, {"id": "a"}),
        (2, {"id": "b"}),
    ]


def test_a_utf16_file_says_what_to_do() -> None:
    data = '{"id": "a"}\n'.encode("utf-16")
    (_, error), *_ = iter_jsonl(data)
    assert isinstance(error, LineError)
    assert error.message.startswith("line 1: not UTF-8 (byte 0xff at offset 0)")
    assert "UTF-16" in error.message


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{oops", "not valid JSON (Expecting property name"),
        (b"[" * 100_000, "not valid JSON (nested too deeply)"),
        (b"1" * 5000, "not valid JSON (Exceeds the limit"),
        (b'{"text": "\xed\xa0\x80"}', "not UTF-8 (byte 0xed at offset 10)"),
    ],
)
def test_hostile_lines_are_errors_not_exceptions(line: bytes, reason: str) -> None:
    [(number, error)] = list(iter_jsonl(line + b"\n"))
    assert number == 1 and isinstance(error, LineError)
    assert error.reason.startswith(reason)


def test_a_unicode_line_separator_stays_inside_its_line() -> None:
    data = '{"text": "one\u2028two"}\n{"id": 2}\n'.encode()
    assert [value for _, value in iter_jsonl(data)] == [{"text": "one\u2028two"}, {"id": 2}]


def test_binary_noise_gives_one_result_per_line_and_never_raises() -> None:
    data = random.Random(7).randbytes(64 * 1024)
    lines = read_jsonl(io.BytesIO(data))
    expected = [n for n, raw in enumerate(data.splitlines(), start=1) if raw.strip()]
    assert [number for number, _ in lines] == expected
    errors = [value for _, value in lines if isinstance(value, LineError)]
    assert len(errors) > 0.9 * len(lines)  # a stray digit between newlines is valid JSON


@given(st.lists(st.binary(max_size=40), max_size=20))
def test_any_bytes_give_one_entry_per_non_blank_line(raw_lines: list[bytes]) -> None:
    data = b"\n".join(raw_lines)
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    expected = [n for n, raw in enumerate(body.splitlines(), start=1) if raw.strip()]
    assert [number for number, _ in iter_jsonl(data)] == expected
