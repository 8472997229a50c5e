"""The worst an accepted operator pattern costs per item: hostile shapes at the load bounds.

Each pattern is the largest of its shape that config load accepts (RE2 program size and
counted repetitions, see qualitygate/config.py), and each runs through ``RuleEngine`` on
200,000-character items of the texts that hurt RE2 most (one letter, two letters
alternating, Hangul prose, mixed scripts, random letters over a pattern's class). The
largest time is the per-item bound the README states. Prints a table and writes
bench/results/patterns.json.

    .venv/bin/python -m bench.patterns     # about 30 s
"""

from __future__ import annotations

import random
import time
from typing import Any

from rich.markup import escape

from bench.common import machine_info, print_table, write_results
from qualitygate.config import (
    PATTERN_MAX_PROGRAM_SIZE,
    PATTERN_MAX_REPETITION,
    ConfigError,
    load_settings,
)
from qualitygate.rules import RuleEngine

ITEM_CHARS = 200_000
_RANDOM = random.Random(20261203)
PATTERNS = [
    ".{0,1000}.{0,1000}.{0,1000}b",  # the pattern: refused
    ".{0,110}.{0,110}.{0,110}b",
    "(?s).{0,370}b",
    "[^x]{0,110}[^y]{0,110}[^z]{0,110}b",
    "(a|b|.){0,500}c{0,500}b",
    "(a|b|.){0,300}c{0,100}b",
    # The same shapes at the bounds in force (100 counted repetitions).
    ".{0,33}.{0,33}.{0,33}b",
    "(?s).{0,100}b",
    "[^x]{0,33}[^y]{0,33}[^z]{0,33}b",
    "(a|b|.){0,50}c{0,50}b",
    "((((.*a)*a)*a)*)",  # empty at every position: refused (166 s before)
    "a(.*b)?",  # a match at every a, each reading to the end
    "(.*a){100}",
    "(?i)(\\w+\\s+){0,30}(free|win|prize)",
    "(a+)+$",
    "(.*a){12}",
    "[ab]*a[ab]{20}c",
    # Windows counted after a narrow class, worst on random text over that class.
    "[ab].{90}[ab].{90}c",
    "a.{100}b.{100}c",
    "(?i)a.{30}b.{30}c",
    "[ab][ab ]{100}c",
    "[ab]*a[ab]{100}c",
    "[ab].{100}c",
]
TEXTS = {
    "a" * 10: "aaaaaaaaaa",
    "ab": "ab",
    "Hangul prose": "한국어 텍스트와 문장입니다 ",
    "mixed scripts": "Mixed 日本語 text, 한국어 и кириллица 123 ",
    "ab, space": "ab ",
    # Random letters over a pattern's own class: its DFA meets a new state at every step.
    "random a/b/space": "".join(_RANDOM.choice("ab ") for _ in range(ITEM_CHARS)),
    "random a/b": "".join(_RANDOM.choice("ab") for _ in range(ITEM_CHARS)),
}


def _engine(pattern: str) -> RuleEngine | str:
    rule = {"id": "p", "category": "spam", "pattern": pattern, "enabled": True}
    rule |= {"severity": "low", "action": "flag", "languages": []}
    rules = load_settings().rules.model_dump() | {"patterns": [rule]}
    try:
        return RuleEngine(load_settings(rules=rules))
    except ConfigError as exc:
        return str(exc).split(": ", 2)[-1][:60]


def measure() -> list[dict[str, Any]]:
    rows = []
    for pattern in PATTERNS:
        engine = _engine(pattern)
        row: dict[str, Any] = {"pattern": pattern}
        for name, unit in TEXTS.items():
            text = (unit * (ITEM_CHARS // len(unit) + 1))[:ITEM_CHARS]
            if isinstance(engine, str):
                row[name] = None
                continue
            started = time.perf_counter()
            engine._pattern_flags(text, "en")
            row[name] = (time.perf_counter() - started) * 1000
        row["refused"] = engine if isinstance(engine, str) else ""
        rows.append(row)
    return rows


def main() -> None:
    rows = measure()
    print_table(
        f"Operator pattern, ms per {ITEM_CHARS:,}-character item "
        f"(bounds: program {PATTERN_MAX_PROGRAM_SIZE}, repetition {PATTERN_MAX_REPETITION})",
        ["pattern", *TEXTS, "refused at load"],
        [
            [
                escape(r["pattern"]),
                *(r[n] if r[n] is not None else "-" for n in TEXTS),
                r["refused"],
            ]
            for r in rows
        ],
    )
    worst = max((r[n] for r in rows for n in TEXTS if r[n] is not None), default=0.0)
    print(f"worst accepted pattern: {worst:.0f} ms per item")
    write_results(
        "patterns",
        {"machine": machine_info("bench.patterns"), "worst_ms": worst, "rows": rows},
    )


if __name__ == "__main__":
    main()
