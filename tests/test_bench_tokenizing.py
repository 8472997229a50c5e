"""bench.tokenizing still runs and times the cases it names, on a few items."""

from __future__ import annotations

import json
from pathlib import Path

from bench import tokenizing


def test_tokenizing_benchmark_times_every_case(tmp_path: Path) -> None:
    tokenizing.main(["--items", "8", "--repeats", "1", "--output", str(tmp_path)])
    rows = json.loads((tmp_path / "tokenizing.json").read_text(encoding="utf-8"))["results"]
    assert [row["case"] for row in rows] == [
        "content, one batch call",
        "content, one call each",
        "encode_pair, cached prompt",
        "template parts, new prompt",
    ]
    assert all(row["calls"] == 8 and row["cpu_s"] >= 0 for row in rows)
    assert rows[0]["tokens"] > 8
