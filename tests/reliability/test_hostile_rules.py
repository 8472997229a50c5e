"""Hostile rules and text: no block-list term or operator pattern makes the rules engine
take more than linear time, and a pattern that needs backtracking is refused at load.

Timing claims are relative (the best of five runs at 4n against n), never absolute.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import pytest

from qualitygate.config import Settings, load_settings
from qualitygate.errors import ConfigError
from qualitygate.rules import RuleEngine, _with_marks

HOSTILE_PATTERNS = ["(a+)+$", "(a|aa)*b", "(a|a)*c", "(x+x+)+y", "(.*a){12}", "^(a?){25}a{25}$"]
NEEDS_BACKTRACKING = ["(a+)\\1", "(?=a)a", "(?<!b)a", "(\\w+)\\s\\1"]


def with_rules(**changes: object) -> Settings:
    defaults = load_settings()
    return load_settings(rules=defaults.rules.model_dump() | changes)


def pattern(index: int, text: str) -> dict[str, object]:
    return {
        "id": f"hostile-{index}",
        "category": "pattern",
        "pattern": text,
        "enabled": True,
        "severity": "high",
        "action": "reject",
        "languages": [],
    }


def nested_blocklist(terms: list[str]) -> Settings:
    lists = load_settings().rules.model_dump()["blocklists"]
    lists["banned"]["terms"] = {"default": terms}
    return with_rules(blocklists=lists)


def best_of(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def scaling(engine: RuleEngine, unit: str, n: int) -> float:
    """time(4n) / time(n), best of five each, without the garbage collector: linear is
    about 4, quadratic about 16; the bound of 8 leaves room for a noisy shared machine."""
    small, large = unit * n, unit * (4 * n)
    engine.check(small, "en")  # warm up
    gc.disable()
    try:
        big = best_of(5, lambda: engine.check(large, "en"))
        little = best_of(5, lambda: engine.check(small, "en"))
    finally:
        gc.enable()
    return big / little


@pytest.mark.parametrize("text", NEEDS_BACKTRACKING)
def test_a_pattern_that_needs_backtracking_is_refused_at_load(text: str) -> None:
    with pytest.raises(ConfigError, match=r"rules\.patterns\.0\.pattern.*RE2"):
        with_rules(patterns=[pattern(0, text)])


def test_redos_shaped_patterns_run_in_linear_time() -> None:
    settings = with_rules(patterns=[pattern(i, p) for i, p in enumerate(HOSTILE_PATTERNS)])
    engine = RuleEngine(settings)
    assert scaling(engine, "a", 50_000) < 8
    flags = engine.check("a" * 50_000, "en")  # each is still matched, not skipped
    assert {f.rule_id for f in flags} >= {"pattern.hostile-0", "pattern.hostile-4"}


def test_5000_nested_terms_report_nothing_inside_a_long_word() -> None:
    engine = RuleEngine(nested_blocklist(["a" * k for k in range(1, 5001)]))
    automaton = engine._automaton("en")
    assert automaton is not None
    marked, _ = _with_marks("a" * 200_000)
    assert sum(1 for _ in automaton.iter(marked)) == 0  # work: one pass, no reports
    assert not [f for f in engine.check("a" * 200_000, "en") if f.category == "blocklist"]
    exact = [f for f in engine.check("a" * 5000, "en") if f.category == "blocklist"]
    assert [(f.start, f.end) for f in exact] == [(0, 5000)]  # the one whole-word hit


def test_nested_terms_scale_linearly_with_the_text() -> None:
    engine = RuleEngine(nested_blocklist(["ab" * k for k in range(1, 1001)]))
    assert scaling(engine, "ab", 25_000) < 8
    # Text made only of hits stops early: every list already has all it may report.
    words = RuleEngine(nested_blocklist([" ".join(["ab"] * k) for k in range(1, 301)]))
    assert scaling(words, "ab ", 20_000) < 8


@pytest.mark.parametrize(
    "text",
    [
        ".{0,1000}.{0,1000}.{0,1000}b",  # 28 characters; 11-15 s per 200K-character item
        "(?s).{0,900}b",
        "[^x]{0,300}[^y]{0,300}[^z]{0,300}b",
        "(a{0,40}){0,40}",
        # Windows counted after a narrow class: 0.97 s and 0.58 s on random "ab " text.
        "[ab].{90}[ab].{90}c",
        "a.{100}b.{100}c",
        "[ab][ab ]{1000}c",  # 7.9 s
    ],
)
def test_a_pattern_too_large_for_re2s_fast_path_is_refused_at_load(text: str) -> None:
    with pytest.raises(ConfigError, match=r"rules\.patterns\.0\.pattern.*(program|repetition)"):
        with_rules(patterns=[pattern(0, text)])


def test_patterns_at_the_bounds_still_load() -> None:
    with_rules(patterns=[pattern(0, "(?s).{0,100}b"), pattern(1, "[a-z]{2,64}@example")])
    ordinary = [r"\b\d{3}-\d{4}\b", r"(?i)buy\s+now", r"[A-Z]{2}\d{6}", "(?i)a.{30}b.{30}c"]
    ordinary.append(r"(?i)\b(viagra|casino|lottery|bitcoin|crypto|forex|loan|dating|pills)\b")
    with_rules(patterns=[pattern(n, text) for n, text in enumerate(ordinary)])


def test_a_pattern_that_matches_the_empty_string_is_refused_at_load() -> None:
    # ((.*a)*) matches empty before every character and reads to the end each time to
    # find out: quadratic, 166 s on a 200K-character Korean item.
    with pytest.raises(ConfigError, match=r"rules\.patterns\.0\.pattern.*empty string"):
        with_rules(patterns=[pattern(0, "((((.*a)*a)*a)*)")])


def test_many_long_lookahead_matches_stay_linear() -> None:
    # a(.*b)? matches at every 'a' and reads to the end of the text each time to decide
    # whether (.*b) extends it: every search was a full scan, n of them.
    engine = RuleEngine(with_rules(patterns=[pattern(0, "a(.*b)?"), pattern(1, "(.*a){40}")]))
    assert scaling(engine, "a", 50_000) < 8


def test_word_checks_on_cjk_hits_scale_linearly() -> None:
    # 操 inside 操作 at every other character: each hit needs a word check, none counts.
    lists = load_settings().rules.model_dump()["blocklists"]
    lists["banned"]["terms"] = {"zh": ["操"]}
    engine = RuleEngine(with_rules(blocklists=lists, cjk_match={"zh": "word", "ja": "word"}))
    assert not [f for f in engine.check("操作" * 5000, "zh") if f.category == "blocklist"]
    assert scaling(engine, "合并操作", 5_000) < 8
