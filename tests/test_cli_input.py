"""Input nobody here wrote: undecodable lines, a byte order mark, a binary file.

Each unreadable line becomes an error result naming its line; every other line is graded.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qualitygate.cli import app
from qualitygate.schemas import GradeResult

runner = CliRunner()
MIXED = (
    b'{"id": "a", "text": "A first post about kettles."}\n'
    b'{"id": "b", "text": "caf\xe9 au lait"}\n'
    b"\n"
    b'{"id": "c", "text": "A third post, in plain English."}\n'
)


def grade(test_model_dir: Path, *args: str, stdin: bytes | None = None) -> list[GradeResult]:
    result = runner.invoke(app, ["grade", *args, "-m", str(test_model_dir)], input=stdin)
    assert result.exit_code == 0, result.output
    assert result.exception is None and "Traceback" not in result.output
    return [GradeResult.model_validate_json(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("via", ["file", "stdin"])
def test_an_undecodable_line_is_an_error_result_and_the_rest_are_graded(
    test_model_dir: Path, tmp_path: Path, via: str
) -> None:
    source = tmp_path / "mixed.jsonl"
    source.write_bytes(MIXED)
    if via == "file":
        results = grade(test_model_dir, str(source))
    else:
        results = grade(test_model_dir, "-", stdin=MIXED)
    assert [(r.id, r.status) for r in results] == [("a", "graded"), ("", "error"), ("c", "graded")]
    error = results[1].error
    assert error is not None and error.code == "invalid_item"
    offset = MIXED.splitlines()[1].index(b"\xe9")
    assert error.message == f"line 2: not UTF-8 (byte 0xe9 at offset {offset})"


def test_a_utf8_byte_order_mark_is_accepted(test_model_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "bom.jsonl"
    source.write_bytes(b"\xef\xbb\xbf" + MIXED.replace(b"caf\xe9", b"caf\xc3\xa9"))
    results = grade(test_model_dir, str(source))
    assert [(r.id, r.status) for r in results] == [
        ("a", "graded"),
        ("b", "graded"),
        ("c", "graded"),
    ]


def test_a_binary_file_gives_one_error_per_line_never_a_traceback(
    test_model_dir: Path, tmp_path: Path
) -> None:
    data = random.Random(3).randbytes(20_000)
    source = tmp_path / "image.png"
    source.write_bytes(data)
    results = grade(test_model_dir, str(source))
    numbered = [n for n, raw in enumerate(data.splitlines(), start=1) if raw.strip()]
    assert len(results) == len(numbered)
    assert all(r.status == "error" for r in results)
    for number, result in zip(numbered, results, strict=True):
        assert result.error is not None and result.error.message.startswith(f"line {number}: ")


def test_calibrate_lists_an_undecodable_line_and_uses_the_rest(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    lines = [
        json.dumps({"id": str(i), "text": "x", "language": "ko", "raw_reward": i / 7}).encode()
        for i in range(30)
    ]
    lines[4] = b'{"id": "4", "text": "\xff", "language": "ko", "raw_reward": 0.5}'
    source = tmp_path / "scored.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    result = runner.invoke(app, ["calibrate", str(source)])
    assert result.exit_code == 0, result.output
    stderr = " ".join(result.stderr.split())
    offset = lines[4].index(b"\xff")
    assert f"skipped line 5: not UTF-8 (byte 0xff at offset {offset})" in stderr
    assert "29 items, 1 skipped" in result.stdout
